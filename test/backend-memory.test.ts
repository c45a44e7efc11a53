import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { SlabStore } from '../daemon/backend/slab-store.ts';
import { rng } from './daemon-harness.ts';
import { checkProperty } from './property.ts';

/** One step of a random store history: put bytes under a key, free a key, or read one. */
type Step = { op: 'put'; key: number; bytes: Uint8Array } | { op: 'free'; key: number } | { op: 'get'; key: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), key: fc.nat(40), bytes: fc.uint8Array({ maxLength: 5000 }) }) },
  // Long strings (over the largest slot) and ones at the slot boundaries.
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      key: fc.nat(40),
      bytes: fc.constantFrom(0, 1, 59, 60, 61, 1020, 1021, 2044, 2045, 65531, 65532, 65533, 70000, 262140, 262141).map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('free' as const), key: fc.nat(40) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.nat(40) }) },
);

describe('SlabStore', () => {
  it('returns exactly what was put under every live handle, whatever was put and freed in between (against a Map)', () => {
    checkProperty(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const store = new SlabStore();
        const handles = new Map<number, number>();
        const model = new Map<number, Uint8Array>();
        for (const s of steps) {
          if (s.op === 'put') {
            const old = handles.get(s.key);
            if (old !== undefined) store.free(old);
            handles.set(s.key, store.put(s.bytes));
            model.set(s.key, s.bytes.slice());
          } else if (s.op === 'free') {
            const h = handles.get(s.key);
            if (h !== undefined) store.free(h);
            handles.delete(s.key);
            model.delete(s.key);
          } else {
            const h = handles.get(s.key);
            if (h === undefined) continue;
            assert.deepEqual(store.get(h), model.get(s.key));
            assert.equal(store.lengthOf(h), model.get(s.key)?.length);
          }
        }
        for (const [k, h] of handles) assert.deepEqual(store.get(h), model.get(k));
      }),
      { numRuns: 300, seed: 2101 },
    );
  });

  it('churn in one class of 4-slot slabs (slabs made, filled, emptied, kept or given back) keeps every string intact', () => {
    checkProperty(
      fc.property(fc.array(fc.record({ key: fc.nat(40), put: fc.boolean() }), { maxLength: 300 }), (steps) => {
        const store = new SlabStore();
        const handles = new Map<number, number>();
        const model = new Map<number, Uint8Array>();
        const len = 100_000; // one size class: 100 KiB slots, 4 to a slab
        for (const { key, put } of steps) {
          const old = handles.get(key);
          if (old !== undefined) store.free(old);
          handles.delete(key);
          model.delete(key);
          if (!put) continue;
          const bytes = new Uint8Array(len).fill(key);
          bytes[1] = key >> 8;
          handles.set(key, store.put(bytes));
          model.set(key, bytes);
        }
        for (const [k, h] of handles) assert.deepEqual(store.get(h), model.get(k));
        // Slabs of 4 slots of at most 128 KiB: what is allocated is what is held, plus at most one partly used and one spare slab.
        assert.ok(store.allocatedBytes() <= Math.ceil(handles.size / 4) * 4 * 131072 + 2 * 4 * 131072);
      }),
      { numRuns: 60, seed: 2102 },
    );
  });

  it('lets sparse slabs drain: after one region is deleted, rewriting the other packs it into fewer slabs', () => {
    const store = new SlabStore();
    const block = (k: number): Uint8Array => new Uint8Array(2000).fill(k & 0xff);
    const a: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < 4000; k++) (k % 2 ? b : a).push(store.put(block(k)));
    const full = store.allocatedBytes();
    for (const h of a) store.free(h); // every slab is now half empty: none can be given back yet
    assert.equal(store.allocatedBytes(), full);
    // Steady traffic rewrites b's blocks in no particular order: new copies go to the lowest slabs
    // with room, so the high ones empty (refilling wherever a slot was just freed would not drain any).
    const next = rng(7);
    for (let n = 0; n < 10 * b.length; n++) {
      const i = Math.floor(next() * b.length);
      store.free(b[i]);
      b[i] = store.put(block(2 * i + 1));
    }
    assert.ok(store.allocatedBytes() <= full / 2 + 2 * 256 * 1024, `${store.allocatedBytes()} bytes allocated for ${b.length} blocks, ${full} at the peak`);
    for (let i = 0; i < b.length; i++) assert.deepEqual(store.get(b[i]), block(2 * i + 1));
  });

  it('keeps at most one empty slab per class and 4 MiB of them in all', () => {
    const store = new SlabStore();
    // One string in each of many classes, then all freed.
    const handles = [];
    for (let n = 60; n < 250_000; n = Math.ceil(n * 1.05)) handles.push(store.put(new Uint8Array(n)));
    for (const h of handles) store.free(h);
    assert.ok(store.allocatedBytes() <= 4 * 1024 * 1024, `${store.allocatedBytes()} bytes kept with nothing held`);
  });

  it('gives back slabs once their strings are freed: memory follows what is held, not its peak', () => {
    const store = new SlabStore();
    const block = new Uint8Array(2000).fill(3);
    const handles = Array.from({ length: 5000 }, () => store.put(block));
    const peak = store.allocatedBytes();
    assert.ok(peak >= 5000 * 2000, `peak ${peak}`);
    for (const h of handles.splice(10)) store.free(h);
    // One spare slab per size class is kept.
    assert.ok(store.allocatedBytes() <= 2 * 256 * 1024 + 10 * 2048, `after freeing: ${store.allocatedBytes()} bytes of ${peak}`);
    for (const h of handles) assert.deepEqual(store.get(h), block);
  });

  it('hands out a copy: changing it, or reusing the slot after a free, does not change what get returned', () => {
    const store = new SlabStore();
    const h = store.put(Uint8Array.of(1, 2, 3));
    const got = store.get(h);
    got[0] = 9;
    assert.deepEqual(store.get(h), Uint8Array.of(1, 2, 3));
    store.free(h);
    store.put(Uint8Array.of(7, 7, 7));
    assert.deepEqual(got, Uint8Array.of(9, 2, 3));
  });
});

describe('InMemoryBackend', () => {
  it('counts held bytes and blocks through replacing puts and region deletes, and serves what was put last', async () => {
    const b = new InMemoryBackend();
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
    assert.deepEqual(a, new Uint8Array(10).fill(4));
    assert.equal(missing, undefined);
    assert.deepEqual(big, new Uint8Array(70000).fill(3));
    await b.deleteRegion(1);
    assert.equal(b.bytesHeld(), 70000);
    assert.equal(b.blocksHeld(), 1);
    assert.deepEqual(await b.getMany([{ region: 1, index: 1 }]), [undefined]);
  });
});
