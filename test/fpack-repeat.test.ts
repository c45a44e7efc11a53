import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { decodeContainer, encodeContainer } from '../daemon/codecs/container.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { fpack, fpackJs, fpackParamsOf } from '../daemon/codecs/fpack/index.ts';
import { REPEAT } from '../daemon/codecs/fpack/repeat.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';

// fpack's repeat blocks (docs/float.md): 16-bit split-mode blocks where most
// values equal x[i-D1] bit for bit are coded as run lengths plus a block of
// the other values. Round trips through the JS and wasm decoders, the
// encoder's choice, and corrupt repeat blocks.

const fcOptions = (numRuns: number) => ({ seed: 20261208, numRuns });
const BLOCK = 4096;
const S = 32;
const DTYPES = ['bfloat16', 'float16'] as const;

/** An activation-like map whose pixels (S channels each) repeat the previous pixel where `flat` says so. */
function flatMap(pixels: number, flat: (p: number) => boolean, seed: number): Uint8Array {
  const r = randomBytes(pixels * S * 2, seed);
  const out = new Uint8Array(pixels * S * 2);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < S; c++) {
      const i = p * S + c;
      if (p > 0 && flat(p)) {
        out[2 * i] = out[2 * (i - S)];
        out[2 * i + 1] = out[2 * (i - S) + 1];
      } else {
        // positive values of a few exponents, random mantissas
        out[2 * i] = r[2 * i];
        out[2 * i + 1] = 0x3c + (r[2 * i + 1] & 3);
      }
    }
  }
  return out;
}

function codedBlocks(m: CodecModel, data: Uint8Array): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const buf = new Uint8Array(m.maxEncodedBytes(BLOCK));
  for (let off = 0; off < data.length; off += BLOCK) {
    const raw = data.subarray(off, Math.min(data.length, off + BLOCK));
    const n = m.encodeBlock(raw, buf);
    assert.ok(n <= m.maxEncodedBytes(raw.length));
    blocks.push(buf.slice(0, n));
  }
  return blocks;
}

function decodesTo(m: CodecModel, block: Uint8Array, raw: Uint8Array): void {
  for (const dec of [m, fpackJs.load(m.params, m.dtype)]) {
    const out = new Uint8Array(raw.length).fill(0xa5);
    dec.decodeBlock(block, out);
    assert.deepEqual(out, raw);
  }
}

const outcome = (m: CodecModel, src: Uint8Array, raw: Uint8Array): string => {
  try {
    const out = new Uint8Array(raw.length);
    m.decodeBlock(src, out);
    return out.every((v, i) => v === raw[i]) ? 'same' : 'different';
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
};

describe('fpack repeat blocks', () => {
  for (const d of DTYPES) {
    it(`${d}: flat regions take repeat blocks, much smaller, and every block round trips (JS and wasm)`, () => {
      // the first half of the map flat, the second half noisy
      const data = flatMap(1024, (p) => p < 512, 3);
      const m = fpack.fit(data, d, { stride: S, fpackMode: 'split' });
      assert.equal(fpackParamsOf(m).distance, S);
      const blocks = codedBlocks(m, data);
      const kinds = blocks.map((b) => b[0] === REPEAT);
      assert.ok(kinds.slice(0, 7).every(Boolean), 'flat blocks are repeat blocks');
      assert.ok(kinds.slice(9).every((k) => !k), 'noisy blocks are plain');
      blocks.forEach((b, k) => decodesTo(m, b, data.subarray(k * BLOCK, (k + 1) * BLOCK)));
      assert.ok(blocks[1].length < 200, `a flat block codes to ${blocks[1].length} bytes`);
      const c = encodeContainer(data, { codec: 'fpack', dtype: d, codecOptions: { stride: S } });
      assert.deepEqual(decodeContainer(c).data, data);
    });

    it(`${d}: any pattern of repeats round trips (seeded)`, () => {
      checkProperty(
        fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 300 }), fc.nat(1000), (flags, pixels, seed) => {
          const data = flatMap(pixels, (p) => flags[p % flags.length], seed);
          const m = fpack.fit(data, d, { stride: S, fpackMode: 'split' });
          codedBlocks(m, data).forEach((b, k) => decodesTo(m, b, data.subarray(k * BLOCK, Math.min(data.length, (k + 1) * BLOCK))));
          // a model fitted elsewhere codes the same blocks too
          const other = fpack.fit(flatMap(64, () => false, seed + 1), d, { stride: S, fpackMode: 'split' });
          codedBlocks(other, data).forEach((b, k) => decodesTo(other, b, data.subarray(k * BLOCK, Math.min(data.length, (k + 1) * BLOCK))));
        }),
        fcOptions(30),
      );
    });

    it(`${d}: corrupt repeat blocks fail with E_CORRUPT or E_TRUNCATED`, () => {
      const data = flatMap(128, (p) => p % 8 !== 0, 5);
      const m = fpack.fit(data, d, { stride: S, fpackMode: 'split' });
      const raw = data.subarray(0, BLOCK);
      const good = codedBlocks(m, raw)[0];
      assert.equal(good[0], REPEAT);
      assert.equal(outcome(m, good, raw), 'same');
      const f = good[1]; // runs fit in one varint byte here
      assert.ok(f < 0x80);
      const code = (b: Uint8Array) => outcome(m, b, raw);
      assert.equal(code(good.subarray(0, 1)), 'E_CORRUPT', 'ends inside the length');
      assert.equal(code(Uint8Array.of(REPEAT, 0x80, 0x00, ...good.subarray(2))), 'E_CORRUPT', 'length not minimal');
      assert.equal(code(Uint8Array.of(REPEAT, 0x7f, ...good.subarray(2, 40))), 'E_CORRUPT', 'runs longer than the block');
      // the first run claims to repeat from value 0 on: an empty non-repeat run is not codable, so
      // start with a repeat run by flipping the first gamma code to "1" (a non-repeat run of 1) then a long repeat run
      const early = good.slice();
      early[2] = 0b1_1_000000; // run 1 (not repeating), then run 1 (repeating at value 1 < D)
      assert.equal(code(early), 'E_CORRUPT', 'a repeat before the neighbour distance');
      const overrun = good.slice();
      overrun.fill(0, 2, 2 + f); // only zeros: a gamma code longer than any block
      assert.equal(code(overrun), 'E_CORRUPT', 'a run longer than a block');
      assert.match(code(good.subarray(0, good.length - 3)), /^E_(CORRUPT|TRUNCATED)$/, 'the rest block cut');
      assert.match(code(Uint8Array.of(...good, 0)), /^E_CORRUPT$/, 'a byte after the rest block');
      const stray = Uint8Array.of(REPEAT, f + 1, ...good.subarray(2, 2 + f), 0xff, ...good.subarray(2 + f));
      assert.equal(code(stray), 'E_CORRUPT', 'stray bits after the runs');
      checkProperty(
        fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const bad = good.slice();
          bad[at] ^= flip;
          // raw offset bits and run lengths that still sum right can decode to other bytes (the CRC catches those)
          assert.ok(['E_CORRUPT', 'E_TRUNCATED', 'different', 'same'].includes(code(bad)));
        }),
        fcOptions(200),
      );
    });
  }
});
