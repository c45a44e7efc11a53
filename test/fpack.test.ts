import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeContainer, encodeContainer } from '../daemon/codecs/container.ts';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { FLOAT_DTYPES, type FloatDtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { fpack, fpackParamsOf } from '../daemon/codecs/fpack/index.ts';
import { parseParams, serialiseParams } from '../daemon/codecs/fpack/params.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';

/** Every property here runs with this seed (test/property.ts: printed on failure, SHIMPACK_FC_SEED explores). */
const fcOptions = (numRuns: number) => ({ seed: 20261206, numRuns });

const BLOCK = 4096;
const width = (d: FloatDtype): number => (d === 'bfloat16' || d === 'float16' ? 2 : 1);

/** Block by block through the model, as the container and the daemon do; returns the coded bytes. */
function roundTrip(m: CodecModel, data: Uint8Array, block = BLOCK): number {
  const scratch = new Uint8Array(m.maxEncodedBytes(block));
  const out = new Uint8Array(block);
  let total = 0;
  for (let off = 0; off < data.length; off += block) {
    const raw = data.subarray(off, Math.min(data.length, off + block));
    const n = m.encodeBlock(raw, scratch);
    assert.ok(n <= m.maxEncodedBytes(raw.length), `block of ${raw.length} bytes coded to ${n}, above maxEncodedBytes`);
    const dst = out.subarray(0, raw.length);
    dst.fill(0xa5);
    m.decodeBlock(scratch.subarray(0, n), dst);
    assert.deepEqual(dst, raw, `block at ${off} does not round-trip`);
    total += n;
  }
  return total;
}

/** Values as little-endian bytes of the dtype. */
function bytesOf(d: FloatDtype, values: readonly number[]): Uint8Array {
  if (width(d) === 1) return Uint8Array.from(values, (v) => v & 255);
  const b = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    b[2 * i] = v & 255;
    b[2 * i + 1] = (v >> 8) & 255;
  });
  return b;
}

/** Special bit patterns of each format: ±0, ±inf or max, NaNs with payloads, subnormals, extremes. */
const SPECIALS: Record<FloatDtype, number[]> = {
  bfloat16: [0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81, 0x7fff, 0x0001, 0x807f, 0x0080, 0x7f7f, 0xff7f, 0x3f80],
  float16: [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x7c01, 0x7fff, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00],
  float8_e4m3: [0x00, 0x80, 0x7f, 0xff, 0x7e, 0xfe, 0x01, 0x87, 0x08, 0x38],
  float8_e5m2: [0x00, 0x80, 0x7c, 0xfc, 0x7d, 0x7e, 0xff, 0x7b, 0x01, 0x83, 0x04, 0x3c],
};

/** Activation-like data: ReLU'd normals with the neighbour at the stride correlated, as float bit patterns. */
function activationLike(d: FloatDtype, n: number, stride: number, seed: number): Uint8Array {
  const r = randomBytes(n * 2, seed);
  const vals = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const noise = (r[2 * i] - 128) / 40 + (r[2 * i + 1] - 128) / 90;
    vals[i] = Math.max(0, (i >= stride ? 0.7 * vals[i - stride] : 0) + noise);
  }
  const u = new Uint32Array(vals.buffer);
  // truncation is enough for test data (the exact conversions have their own tests)
  if (d === 'bfloat16') return bytesOf(d, Array.from(u, (x) => x >>> 16));
  if (d === 'float16') return bytesOf(d, Array.from(vals, (x) => Math.min(0x7bff, Math.round(Math.log2(1 + x) * 4096))));
  return Uint8Array.from(vals, (x) => Math.min(0x7e, Math.round(x * 16)) & 0x7f);
}

describe('fpack: the exponent-aware float codec', () => {
  it('is registered for exactly the float dtypes and refuses the others', () => {
    assert.equal(codecByName('fpack'), fpack);
    assert.deepEqual([...fpack.dtypes].sort(), [...FLOAT_DTYPES].sort());
    for (const d of ['uint8', 'int8', 'int16', 'uint4'] as const) {
      assert.throws(() => fpack.fit(new Uint8Array(16), d), (e: unknown) => e instanceof CodecError && e.code === 'E_UNSUPPORTED_DTYPE');
    }
  });

  for (const d of FLOAT_DTYPES) {
    it(`${d}: round trips activation-like data in every mode, and compresses it`, () => {
      const n = 20000;
      const data = activationLike(d, n, 32, 11);
      const modes = width(d) === 1 ? (['auto', 'split', 'whole', 'delta'] as const) : (['auto', 'split'] as const);
      for (const mode of modes) {
        const m = fpack.fit(data, d, { stride: 32, fpackMode: mode });
        if (mode !== 'auto') assert.equal(fpackParamsOf(m).mode, mode);
        const coded = roundTrip(m, data) + m.params.length;
        assert.ok(coded < 0.8 * data.length, `${mode}: ${coded} of ${data.length} bytes`);
        // the header parses back to the same model
        assert.deepEqual(serialiseParams(parseParams(m.params, d)), m.params);
        roundTrip(fpack.load(m.params, d), data);
      }
    });

    it(`${d}: special values, all-equal tensors, short tensors and random bit patterns round trip exactly (seeded)`, () => {
      const specials = SPECIALS[d];
      const max = width(d) === 2 ? 0xffff : 0xff;
      const value = fc.oneof(fc.constantFrom(...specials), fc.integer({ min: 0, max }));
      const tensor = fc.oneof(
        fc.array(value, { maxLength: 3000 }),
        fc.tuple(fc.constantFrom(...specials), fc.nat(5000)).map(([v, k]) => new Array<number>(k).fill(v)),
        fc.array(fc.constantFrom(...specials), { minLength: 1, maxLength: 40 }),
      );
      // A model fitted on other data still codes every bit pattern (the daemon fits on the first bytes written).
      const foreign = fpack.fit(activationLike(d, 3000, 8, 5), d, { stride: 8 });
      checkProperty(
        fc.property(tensor, fc.constantFrom(1, 3, 8, 300), (values, stride) => {
          const data = bytesOf(d, values);
          const m = fpack.fit(data, d, { stride });
          roundTrip(m, data);
          roundTrip(m, data, 512);
          roundTrip(foreign, data);
          const c = encodeContainer(data, { codec: 'fpack', dtype: d, codecOptions: { stride } });
          assert.deepEqual(decodeContainer(c).data, data);
        }),
        fcOptions(60),
      );
    });

    it(`${d}: corrupt and truncated blocks fail with E_CORRUPT or E_TRUNCATED, never silently`, () => {
      const data = activationLike(d, 6000, 16, 3);
      const m = fpack.fit(data, d, { stride: 16 });
      const raw = data.subarray(0, BLOCK);
      const coded = new Uint8Array(m.maxEncodedBytes(BLOCK));
      const len = m.encodeBlock(raw, coded);
      const good = coded.slice(0, len);
      const out = new Uint8Array(raw.length);
      const outcome = (src: Uint8Array): string => {
        try {
          m.decodeBlock(src, out);
          return out.every((v, i) => v === raw[i]) ? 'same' : 'different';
        } catch (e) {
          if (e instanceof CodecError) return e.code;
          throw e;
        }
      };
      for (let cut = 0; cut < len; cut += Math.max(1, len >> 6)) assert.match(outcome(good.subarray(0, cut)), /^E_(CORRUPT|TRUNCATED)$/, `cut at ${cut}`);
      assert.match(outcome(Uint8Array.of(...good, 0)), /^E_CORRUPT$/);
      checkProperty(
        fc.property(fc.nat(len - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const bad = good.slice();
          bad[at] ^= flip;
          // Raw offset bits cannot be checked by the coder (as in APack): such a block decodes to other bytes.
          assert.ok(['E_CORRUPT', 'E_TRUNCATED', 'different', 'same'].includes(outcome(bad)));
        }),
        fcOptions(200),
      );
      assert.equal(outcome(good), 'same');
      // In a container every corruption is caught: by the coder or by the block's CRC-32.
      const c = encodeContainer(data, { codec: 'fpack', dtype: d, codecOptions: { stride: 16 } });
      checkProperty(
        fc.property(fc.nat(c.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const bad = c.slice();
          bad[at] ^= flip;
          assert.throws(() => decodeContainer(bad), (e: unknown) => e instanceof CodecError && /^E_(CORRUPT|TRUNCATED|CHECKSUM|BAD_MAGIC|VERSION)$/.test(e.code));
        }),
        fcOptions(200),
      );
    });

    it(`${d}: corrupt headers fail with E_CORRUPT`, () => {
      const m = fpack.fit(activationLike(d, 4000, 16, 9), d, { stride: 16 });
      const p = m.params;
      for (let cut = 0; cut < p.length; cut++) {
        assert.throws(() => fpack.load(p.subarray(0, cut), d), (e: unknown) => e instanceof CodecError && e.code === 'E_CORRUPT', `cut ${cut}`);
      }
      assert.throws(() => fpack.load(Uint8Array.of(...p, 0), d), (e: unknown) => e instanceof CodecError && e.code === 'E_CORRUPT');
      checkProperty(
        fc.property(fc.nat(p.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const bad = p.slice();
          bad[at] ^= flip;
          try {
            const model = fpack.load(bad, d);
            // a header that still parses is a valid model: it codes any data
            roundTrip(model, activationLike(d, 1000, 16, at));
          } catch (e) {
            assert.ok(e instanceof CodecError && e.code === 'E_CORRUPT', String(e));
          }
        }),
        fcOptions(150),
      );
    });
  }

  it('needs no stride and takes any stride the context codecs take', () => {
    const data = activationLike('bfloat16', 5000, 64, 1);
    roundTrip(fpack.fit(data, 'bfloat16'), data);
    roundTrip(fpack.fit(data, 'bfloat16', { stride: 65535 }), data);
    assert.throws(() => fpack.fit(data, 'bfloat16', { stride: 0 }), (e: unknown) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT');
    assert.throws(() => fpack.fit(data, 'bfloat16', { fpackMode: 'delta' }), (e: unknown) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT');
    assert.throws(() => fpack.fit(data, 'bfloat16', { fpackMode: 'nope' as 'auto' }), (e: unknown) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT');
  });

  it('16-bit blocks of odd length are refused', () => {
    const m = fpack.fit(new Uint8Array(64), 'float16');
    assert.throws(() => m.encodeBlock(new Uint8Array(5), new Uint8Array(64)), (e: unknown) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT');
    assert.throws(() => m.decodeBlock(new Uint8Array(8), new Uint8Array(5)), (e: unknown) => e instanceof CodecError && e.code === 'E_CORRUPT');
    assert.throws(() => encodeContainer(new Uint8Array(5), { codec: 'fpack', dtype: 'float16' }), (e: unknown) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT');
  });
});
