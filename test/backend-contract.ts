import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import type { MemoryBackend } from '../daemon/backend/backend.ts';
import { testBytes } from './daemon-harness.ts';

/**
 * What every MemoryBackend must do (daemon/backend/backend.ts), run against
 * each one: memory, file, Redis, Redis Cluster. `open` gives a fresh empty
 * store; `reopen`, for a persistent one, the same store opened again after
 * close().
 */
export interface ContractTarget {
  readonly name: string;
  open(): Promise<MemoryBackend>;
  reopen?(): Promise<MemoryBackend>;
}

const block = (i: number, n = 300): Uint8Array => testBytes(n, i + 1);

export function backendContract(t: ContractTarget): void {
  it(`${t.name}: counts held bytes and blocks through replacing puts and region deletes, and serves what was put last`, async () => {
    const b = await t.open();
    try {
      await b.putRegion(1, Uint8Array.of(1));
      await b.putRegion(2, Uint8Array.of(2));
      await b.putMany([
        { ref: { region: 1, index: 0 }, bytes: new Uint8Array(100).fill(1) },
        { ref: { region: 1, index: 1 }, bytes: new Uint8Array(3000).fill(2) },
        { ref: { region: 2, index: 0 }, bytes: new Uint8Array(70000).fill(3) },
      ]);
      assert.equal(b.bytesHeld(), 73100);
      assert.equal(b.blocksHeld(), 3);
      await b.putMany([{ ref: { region: 1, index: 0 }, bytes: new Uint8Array(10).fill(4) }]);
      assert.equal(b.bytesHeld(), 73010);
      assert.equal(b.blocksHeld(), 3);
      const [a, missing, big] = await b.getMany([
        { region: 1, index: 0 },
        { region: 1, index: 5 },
        { region: 2, index: 0 },
      ]);
      assert.deepEqual(new Uint8Array(a!), new Uint8Array(10).fill(4));
      assert.equal(missing, undefined);
      assert.deepEqual(new Uint8Array(big!), new Uint8Array(70000).fill(3));
      await b.deleteRegion(1);
      assert.equal(b.bytesHeld(), 70000);
      assert.equal(b.blocksHeld(), 1);
      assert.deepEqual(await b.getMany([{ region: 1, index: 1 }]), [undefined]);
    } finally {
      await b.close();
    }
  });

  it(`${t.name}: keeps its own copy of what was put (the caller reuses its buffers) and hands out copies`, async () => {
    const b = await t.open();
    try {
      const buf = new Uint8Array(1000).fill(7);
      const view = buf.subarray(100, 600);
      await b.putRegion(3, Uint8Array.of(3));
      await b.putMany([{ ref: { region: 3, index: 9 }, bytes: view }]);
      buf.fill(0);
      const [got] = await b.getMany([{ region: 3, index: 9 }]);
      assert.deepEqual(new Uint8Array(got!), new Uint8Array(500).fill(7));
      got![0] = 1;
      const [again] = await b.getMany([{ region: 3, index: 9 }]);
      assert.equal(again![0], 7);
    } finally {
      await b.close();
    }
  });

  it(`${t.name}: random put/get/delete histories read back like a Map (fast-check, seeded)`, async () => {
    const seed = 1616;
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.record({ k: fc.constant('put' as const), region: fc.integer({ min: 1, max: 3 }), index: fc.nat(200), len: fc.integer({ min: 1, max: 5000 }), fill: fc.nat(255) }) },
      { weight: 3, arbitrary: fc.record({ k: fc.constant('get' as const), region: fc.integer({ min: 1, max: 3 }), index: fc.nat(200) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('del' as const), region: fc.integer({ min: 1, max: 3 }) }) },
    );
    // Async steps: the histories are sampled from the seed (fast-check's sampling, reproducible), then run one by one.
    const histories = fc.sample(fc.array(op, { maxLength: 60 }), { seed, numRuns: 15 });
    for (let h = 0; h < histories.length; h++) {
      const b = await t.open();
      const model = new Map<string, Uint8Array>();
      try {
        for (const o of histories[h]) {
          if (o.k === 'put') {
            const bytes = new Uint8Array(o.len).fill(o.fill);
            await b.putRegion(o.region, Uint8Array.of(o.region));
            await b.putMany([{ ref: { region: o.region, index: o.index }, bytes }]);
            model.set(`${o.region}:${o.index}`, bytes);
          } else if (o.k === 'get') {
            const [got] = await b.getMany([{ region: o.region, index: o.index }]);
            const want = model.get(`${o.region}:${o.index}`);
            if (want === undefined) assert.equal(got, undefined);
            else assert.deepEqual(new Uint8Array(got!), want);
          } else {
            await b.deleteRegion(o.region);
            for (const key of [...model.keys()]) if (key.startsWith(`${o.region}:`)) model.delete(key);
          }
        }
        assert.equal(b.blocksHeld(), model.size);
        assert.equal(b.bytesHeld(), [...model.values()].reduce((s, v) => s + v.length, 0));
        for (const r of [1, 2, 3]) await b.deleteRegion(r);
      } catch (e) {
        throw new Error(`history ${h} of seed ${seed} (fc.sample): ${(e as Error).message}\n${JSON.stringify(histories[h].map((o) => ({ ...o })))}`);
      } finally {
        await b.close();
      }
    }
  });

  const reopen = t.reopen;
  if (reopen) {
    it(`${t.name}: blocks and region declarations survive a reopen; deleted regions stay deleted`, async () => {
      const b = await t.open();
      await b.putRegion(7, new Uint8Array([1, 2, 3]));
      await b.putMany([0, 1, 2].map((i) => ({ ref: { region: 7, index: i }, bytes: block(i) })));
      await b.putMany([{ ref: { region: 7, index: 1 }, bytes: block(99, 50) }]); // rewrite
      await b.putRegion(8, new Uint8Array([9]));
      await b.putMany([{ ref: { region: 8, index: 2 ** 40 }, bytes: block(5) }]);
      await b.deleteRegion(8);
      await b.close();
      const r = await reopen();
      try {
        const got = await r.getMany([
          { region: 7, index: 0 },
          { region: 7, index: 1 },
          { region: 8, index: 2 ** 40 },
        ]);
        assert.deepEqual(new Uint8Array(got[0]!), block(0));
        assert.deepEqual(new Uint8Array(got[1]!), block(99, 50));
        assert.equal(got[2], undefined);
        const regions = r.listRegions();
        assert.deepEqual(
          regions.map((x) => [x.id, [...x.meta]]),
          [[7, [1, 2, 3]]],
        );
        assert.deepEqual(
          regions[0].blocks.map((x) => [x.index, x.storedLen, x.mode]).sort(),
          [
            [0, 300, block(0)[0]],
            [1, 50, block(99, 50)[0]],
            [2, 300, block(2)[0]],
          ],
        );
        assert.equal(r.blocksHeld(), 3);
        assert.equal(r.bytesHeld(), 650);
        await r.deleteRegion(7);
      } finally {
        await r.close();
      }
    });
  }
}
