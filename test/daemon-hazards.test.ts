import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ShimpackClient } from '../clients/ts/index.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { connect, rng, startTestDaemon, testBytes } from './daemon-harness.ts';

/**
 * Fire `ops` random writes and reads at one region without waiting for any
 * answer, checking each read against a reference memory updated in issue
 * order: the daemon must apply a connection's requests in the order sent,
 * even with many blocks in flight on several lanes at once.
 */
async function hammer(c: ShimpackClient, base: number, size: number, ops: number, seed: number): Promise<{ reads: number; writes: number }> {
  const model = new Uint8Array(size);
  const rand = rng(seed);
  const checks: Promise<void>[] = [];
  let reads = 0;
  let writes = 0;
  for (let i = 0; i < ops; i++) {
    // Mostly small accesses in a small window, so the same blocks are hit again and again.
    const len = 1 + Math.floor(rand() ** 3 * 3000);
    const off = Math.floor(rand() * (size - len));
    if (rand() < 0.55) {
      const data = testBytes(len, seed * 100_000 + i, 0.6);
      model.set(data, off);
      checks.push(c.write(base + off, data));
      writes++;
    } else {
      const expected = model.slice(off, off + len);
      checks.push(
        c.read(base + off, len).then((got) => {
          assert.deepEqual(Buffer.from(got), Buffer.from(expected), `read #${i} [${off}, ${off + len}) saw stale or wrong bytes`);
        }),
      );
      reads++;
    }
  }
  await Promise.all(checks);
  const all = await c.read(base, size);
  assert.deepEqual(Buffer.from(all), Buffer.from(model));
  return { reads, writes };
}

describe('ordering hazards with many blocks in flight', () => {
  let d: RunningDaemon;
  before(async () => {
    // Small blocks and small batches: every lane holds several batches at once.
    d = await startTestDaemon({ lanes: 3, batchBytes: 2048, laneBatchesInFlight: 3 });
  });
  after(async () => {
    await d.close();
  });

  for (const codec of CODECS.map((x) => x.name)) {
    it(`${codec}: pipelined reads see every earlier overlapping write`, async () => {
      const c = await connect(d);
      const base = 0x10_0000 * (1 + CODECS.findIndex((x) => x.name === codec));
      // SCC codes a tensor by channel and needs its stride (here: 4 channels).
      await c.region({ name: `hz-${codec}`, base, size: 16384, dtype: 'int8', kind: 'weight', codec, blockBytes: 256, ...(codec === 'scc' ? { stride: 4 } : {}) });
      const n = await hammer(c, base, 16384, 1500, 7 + base);
      assert.ok(n.reads > 400 && n.writes > 400);
      await c.close();
    });
  }

  it('the same hazards without client-side batching (one request per frame)', async () => {
    const c = await connect(d, { autoBatch: false });
    await c.region({ name: 'hz-frames', base: 0x100_0000, size: 16384, dtype: 'uint8', kind: 'activation', codec: 'zvc', blockBytes: 512 });
    await hammer(c, 0x100_0000, 16384, 800, 3);
    await c.close();
  });

  it('many concurrent clients, each hammering its own region, and all of them sharing one', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => connect(d)));
    await Promise.all(
      clients.map((c, i) => c.region({ name: `cc-${i}`, base: 0x1000_0000 + i * 0x10_0000, size: 32768, dtype: 'int8', kind: 'weight', codec: 'zvc', blockBytes: 1024 })),
    );
    await Promise.all(clients.map((c, i) => hammer(c, 0x1000_0000 + i * 0x10_0000, 32768, 300, 1000 + i)));
    // A shared region: each client writes its own stripe, then every client reads every stripe.
    await clients[0].region({ name: 'shared', base: 0x2000_0000, size: 12 * 4096, dtype: 'int8', kind: 'activation', codec: 'zvc' });
    await Promise.all(clients.map((c, i) => c.write(0x2000_0000 + i * 4096, testBytes(4096, 500 + i))));
    const views = await Promise.all(clients.map((c) => c.read(0x2000_0000, 12 * 4096)));
    const expected = new Uint8Array(12 * 4096);
    for (let i = 0; i < 12; i++) expected.set(testBytes(4096, 500 + i), i * 4096);
    for (const v of views) assert.deepEqual(Buffer.from(v), Buffer.from(expected));
    await Promise.all(clients.map((c) => c.close()));
  });
});

describe('ordering hazards with line buffers under pressure (two 256-byte slots per lane: evictions all the time)', () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startTestDaemon({ lanes: 3, batchBytes: 2048, laneBatchesInFlight: 3, lineBufferBytes: 512, metadataCacheBytes: 64 });
  });
  after(async () => {
    await d.close();
  });

  for (const codec of ['apack', 'zvc', 'ebpc'] as const) {
    it(`${codec}: pipelined reads on two connections see every earlier overlapping write; fences and flushes in between`, async () => {
      const c = await connect(d);
      const other = await connect(d);
      const base = 0x100_0000 * (1 + ['apack', 'zvc', 'ebpc'].indexOf(codec));
      await c.region({ name: `lb-${codec}`, base, size: 16384, dtype: 'int8', kind: 'weight', codec, blockBytes: 256 });
      const n = await hammer(c, base, 16384, 1200, 31 + base);
      assert.ok(n.reads > 300 && n.writes > 300);
      // Acknowledged: another connection sees all of it, before and after the blocks are written back.
      const mine = await c.read(base, 16384);
      assert.deepEqual(Buffer.from(await other.read(base, 16384)), Buffer.from(mine));
      await c.fence();
      await other.flush(`lb-${codec}`);
      assert.deepEqual(Buffer.from(await other.read(base, 16384)), Buffer.from(mine));
      const s = (await other.stats(`lb-${codec}`)).regions[0];
      assert.ok(s.evictions > 30, `evictions ${s.evictions}`);
      await c.close();
      await other.close();
    });
  }
});
