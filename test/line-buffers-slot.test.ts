import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Slot } from '../daemon/pipeline/line-buffers.ts';
import type { Region } from '../daemon/pipeline/region.ts';
import { checkProperty } from './property.ts';

// The slot's record of written bytes (a range, then a byte mask with per-burst counts) must say
// exactly what a plain byte map says: covers(), complete and the bytes a fill keeps depend on it
// (pieces are never empty: the engine settles zero-length accesses before the buffers).
test('line buffers: a slot records written bytes as a byte map would (and a fill keeps them)', () => {
  const region = {} as Region;
  checkProperty(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 70 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 140 })), { maxLength: 40 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 140 })), { maxLength: 10 }),
      (len, burst, writes, probes) => {
        const s = new Slot(region, 0, 0, len, Math.ceil(len / burst), burst);
        // Twice: after a write-back (cleaned) the slot starts over, on a reused mask.
        for (let round = 0; round < 2; round++) {
          const model = new Uint8Array(len);
          for (const [o, n] of writes) {
            const off = o % len;
            const end = Math.min(len, off + n);
            s.wrote(off, end);
            model.fill(1, off, end);
            const count = model.reduce((a, b) => a + b, 0);
            assert.equal(s.complete, count === len);
            if (s.mask) {
              assert.deepEqual([...s.mask], [...model]);
              assert.equal(s.maskCount, count);
            }
            for (const [po, pn] of probes) {
              const a = po % len;
              const b = Math.min(len, a + pn);
              assert.equal(s.covers(a, b), model.subarray(a, b).every((x) => x === 1), `covers(${a}, ${b})`);
            }
          }
          if (s.mask) {
            // A fill keeps the written bytes and takes the rest from the stored block.
            const data = Uint8Array.from({ length: len }, (_, i) => (i * 7 + 1) & 255);
            const old = Uint8Array.from({ length: len }, (_, i) => (i * 13 + 200) & 255);
            const want = data.map((d, i) => (model[i] ? d : old[i]));
            s.keepWritten(data, old);
            assert.deepEqual([...data], [...want]);
          }
          s.cleaned();
          assert.equal(s.complete, false);
          assert.equal(s.covers(0, 1), false);
        }
      },
    ),
    { seed: 1406 },
  );
});
