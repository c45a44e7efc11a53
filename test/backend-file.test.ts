import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileBackend } from '../daemon/backend/file.ts';
import { testBytes } from './daemon-harness.ts';

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'shimpack-log-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const logOf = (dir: string): string => join(dir, 'shimpack.log');
const block = (i: number, n = 300): Uint8Array => testBytes(n, i + 1);

async function get(b: FileBackend, region: number, index: number): Promise<Uint8Array | undefined> {
  return (await b.getMany([{ region, index }]))[0];
}

describe('file backend log', () => {
  for (const sync of ['always', 'batch', 'none'] as const) {
    it(`blocks and region metadata survive a reopen (sync=${sync})`, async () => {
      const dir = freshDir();
      const b = new FileBackend(dir, { sync });
      await b.putRegion(7, new Uint8Array([1, 2, 3]));
      await b.putMany([0, 1, 2].map((i) => ({ ref: { region: 7, index: i }, bytes: block(i) })));
      await b.putMany([{ ref: { region: 7, index: 1 }, bytes: block(99, 50) }]); // rewrite
      await b.putRegion(8, new Uint8Array([9]));
      await b.putMany([{ ref: { region: 8, index: 2 ** 40 }, bytes: block(5) }]);
      await b.deleteRegion(8);
      await b.close();
      const r = new FileBackend(dir, { sync });
      assert.equal(r.recoveredTornBytes, 0);
      assert.deepEqual(await get(r, 7, 0), block(0));
      assert.deepEqual(await get(r, 7, 1), block(99, 50));
      assert.equal(await get(r, 8, 2 ** 40), undefined);
      const regions = r.listRegions();
      assert.deepEqual(regions.map((x) => [x.id, [...x.meta]]), [[7, [1, 2, 3]]]);
      assert.deepEqual(regions[0].blocks.map((x) => [x.index, x.storedLen]).sort(), [[0, 300], [1, 50], [2, 300]]);
      assert.equal(r.blocksHeld(), 3);
      assert.equal(r.bytesHeld(), 650);
      await r.close();
    });
  }

  it('a torn tail (cut at every offset of the last record, or garbage appended) is dropped, never misread', async () => {
    const dir = freshDir();
    const b = new FileBackend(dir, { sync: 'none' });
    await b.putRegion(1, new Uint8Array([1]));
    await b.putMany([{ ref: { region: 1, index: 0 }, bytes: block(0) }]);
    const goodSize = b.logBytes;
    await b.putMany([{ ref: { region: 1, index: 1 }, bytes: block(1) }]);
    const fullSize = b.logBytes;
    await b.close();
    const full = readFileSync(logOf(dir));
    for (let cut = goodSize; cut < fullSize; cut += 7) {
      writeFileSync(logOf(dir), full.subarray(0, cut));
      const r = new FileBackend(dir, { sync: 'none' });
      assert.equal(r.recoveredTornBytes, cut - goodSize);
      assert.deepEqual(await get(r, 1, 0), block(0));
      assert.equal(await get(r, 1, 1), undefined, `cut at ${cut}`);
      await r.close();
      assert.equal(statSync(logOf(dir)).size, goodSize, 'the torn bytes were cut off');
    }
    // A complete record with one flipped byte at the tail, then random garbage.
    const flipped = Buffer.from(full);
    flipped[fullSize - 3] ^= 0x10;
    writeFileSync(logOf(dir), flipped);
    appendFileSync(logOf(dir), Buffer.from(testBytes(100, 3)));
    const r = new FileBackend(dir, { sync: 'none' });
    assert.equal(await get(r, 1, 1), undefined);
    assert.deepEqual(await get(r, 1, 0), block(0));
    // Appending after recovery works and survives the next reopen.
    await r.putMany([{ ref: { region: 1, index: 1 }, bytes: block(11) }]);
    await r.close();
    const r2 = new FileBackend(dir, { sync: 'none' });
    assert.deepEqual(await get(r2, 1, 1), block(11));
    await r2.close();
  });

  it('a block damaged on disk fails its checksum on read instead of returning wrong bytes', async () => {
    const dir = freshDir();
    const b = new FileBackend(dir, { sync: 'none' });
    await b.putMany([0, 1].map((i) => ({ ref: { region: 1, index: i }, bytes: block(i) })));
    const fd = openSync(logOf(dir), 'r+');
    const { writeSync, closeSync } = await import('node:fs');
    writeSync(fd, Buffer.from([0xee]), 0, 1, 8 + 8 + 13 + 20); // inside block 0's payload
    closeSync(fd);
    await assert.rejects(b.getMany([{ region: 1, index: 0 }]), /checksum/);
    assert.deepEqual(await get(b, 1, 1), block(1));
    await b.close();
  });

  it('compaction keeps the log bounded under rewrites and keeps every live block', async () => {
    const dir = freshDir();
    const b = new FileBackend(dir, { sync: 'batch', compactMinBytes: 64 * 1024 });
    await b.putRegion(3, new Uint8Array([3]));
    const latest = new Map<number, number>();
    for (let round = 0; round < 200; round++) {
      const puts = Array.from({ length: 8 }, (_, k) => {
        const index = (round * 8 + k) % 40;
        latest.set(index, round * 100 + k);
        return { ref: { region: 3, index }, bytes: block(round * 100 + k, 1000) };
      });
      await b.putMany(puts);
    }
    assert.ok(b.compactions > 5, `compactions: ${b.compactions}`);
    assert.ok(b.logBytes < 2 * 40 * 1100 + 64 * 1024, `log is ${b.logBytes} bytes`);
    await b.close();
    truncateSync(logOf(dir), statSync(logOf(dir)).size); // no-op: file is closed cleanly
    const r = new FileBackend(dir, { sync: 'none' });
    for (const [index, seed] of latest) assert.deepEqual(await get(r, 3, index), block(seed, 1000), `block ${index}`);
    assert.deepEqual(r.listRegions().map((x) => x.id), [3]);
    await r.close();
  });

  it('refuses a file that is not a shimpack log', () => {
    const dir = freshDir();
    writeFileSync(logOf(dir), 'hello world, not a log');
    assert.throws(() => new FileBackend(dir, { sync: 'none' }), /not a shimpack log/);
  });
});
