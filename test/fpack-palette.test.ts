import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ShimpackClient } from '../clients/ts/index.ts';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { decodeContainer, encodeContainer } from '../daemon/codecs/container.ts';
import { FLOAT_DTYPES, type FloatDtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { fpack, fpackJs, fpackModelFromParams, fpackParamsOf } from '../daemon/codecs/fpack/index.ts';
import { parseParams, serialiseParams, type FpackParams } from '../daemon/codecs/fpack/params.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { connect, startTestDaemon } from './daemon-harness.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';

// fpack's palette mode (docs/float.md): 16-bit tensors with at most 256
// distinct bit patterns coded as indices into a sorted palette. Round trips
// (JS and wasm decoders alike), the fit's choice, literal blocks for values a
// palette does not hold, corrupt headers and blocks, the container and the
// daemon.

const fcOptions = (numRuns: number) => ({ seed: 20261207, numRuns });
const BLOCK = 4096;
const DTYPES = ['bfloat16', 'float16'] as const;
type Wide = (typeof DTYPES)[number];
const width = (d: FloatDtype): number => (d === 'bfloat16' || d === 'float16' ? 2 : 1);

/** ±0, infinities, NaNs with payloads, subnormals, extremes. */
const SPECIALS: Record<FloatDtype, number[]> = {
  bfloat16: [0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81, 0x7fff, 0x0001, 0x807f, 0x0080, 0x7f7f, 0xff7f, 0x3f80],
  float16: [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x7c01, 0x7fff, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00],
  float8_e4m3: [0x00, 0x80, 0x7f, 0xff, 0x7e, 0xfe, 0x01, 0x87, 0x08, 0x38],
  float8_e5m2: [0x00, 0x80, 0x7c, 0xfc, 0x7d, 0x7e, 0xff, 0x7b, 0x01, 0x83, 0x04, 0x3c],
};

/** Values as little-endian bytes of the dtype. */
function valuesOf(d: FloatDtype, values: ArrayLike<number>): Uint8Array {
  return width(d) === 1 ? Uint8Array.from(values as ArrayLike<number>, (v) => v & 255) : bytesOf(values);
}

function bytesOf(values: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    b[2 * i] = values[i] & 255;
    b[2 * i + 1] = (values[i] >> 8) & 255;
  }
  return b;
}

/** Dequantised 8-bit codes: s * (q - z) for bell-shaped q, truncated to the 16-bit format (enough for test data). */
function u8Coded(d: Wide, n: number, seed: number): Uint8Array {
  const r = randomBytes(2 * n, seed);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const q = Math.max(0, Math.min(255, Math.round(128 + (r[2 * i] + r[2 * i + 1] - 255) / 3)));
    f[0] = 0.0123 * (q - 128);
    if (d === 'bfloat16') out.push(u[0] >>> 16);
    else {
      // float16 by hand: sign, exponent, 10 mantissa bits (no rounding needed for test data)
      const x = Math.abs(f[0]);
      const s = f[0] < 0 || Object.is(f[0], -0) ? 0x8000 : 0;
      if (x === 0) out.push(s);
      else {
        const e = Math.floor(Math.log2(x));
        out.push(s | ((e + 15) << 10) | Math.floor((x / 2 ** e - 1) * 1024));
      }
    }
  }
  return bytesOf(out);
}

/** Dequantised 8-bit codes in any dtype; fp8: bell-shaped sign-magnitude bytes. */
function codesOf(d: FloatDtype, n: number, seed: number): Uint8Array {
  if (width(d) === 2) return u8Coded(d as Wide, n, seed);
  const r = randomBytes(2 * n, seed);
  return Uint8Array.from({ length: n }, (_, i) => {
    const q = Math.round((r[2 * i] + r[2 * i + 1] - 255) / 3);
    return (q < 0 ? 0x80 : 0) | Math.abs(q);
  });
}

/** Block by block, as the container and the daemon do; the JS and the wasm decoders must both give the block back. */
function roundTrip(m: CodecModel, data: Uint8Array, block = BLOCK): number {
  const j = fpackJs.load(m.params, m.dtype);
  const scratch = new Uint8Array(m.maxEncodedBytes(block));
  let total = 0;
  for (let off = 0; off < data.length; off += block) {
    const raw = data.subarray(off, Math.min(data.length, off + block));
    const n = m.encodeBlock(raw, scratch);
    assert.ok(n <= m.maxEncodedBytes(raw.length));
    for (const dec of [m, j]) {
      const out = new Uint8Array(raw.length).fill(0xa5);
      dec.decodeBlock(scratch.subarray(0, n), out);
      assert.deepEqual(out, raw, `block at ${off}`);
    }
    total += Math.min(n, raw.length);
  }
  return total;
}

const isCode = (code: string) => (e: unknown) => e instanceof CodecError && e.code === code;

describe('fpack palette mode', () => {
  for (const d of DTYPES) {
    it(`${d}: dequantised 8-bit codes take palette mode, much smaller than split, and round trip`, () => {
      const data = u8Coded(d, 30000, 4);
      const auto = fpack.fit(data, d, { stride: 64 });
      const p = fpackParamsOf(auto);
      assert.equal(p.mode, 'palette');
      assert.ok(p.palette!.length <= 256);
      const split = fpack.fit(data, d, { stride: 64, fpackMode: 'split' });
      const a = roundTrip(auto, data) + auto.params.length;
      const s = roundTrip(split, data) + split.params.length;
      assert.ok(a < 0.9 * s, `palette ${a} bytes, split ${s}`);
      assert.deepEqual(serialiseParams(parseParams(auto.params, d)), auto.params);
      assert.match(auto.describe(), /^palette mode, \d+ distinct values/);
      const c = encodeContainer(data, { codec: 'fpack', dtype: d, codecOptions: { stride: 64 } });
      assert.deepEqual(decodeContainer(c).data, data);
      assert.ok(c.length < 0.6 * data.length);
    });

    it(`${d}: exactly 256 distinct values take a palette, 257 do not`, () => {
      const v256 = Array.from({ length: 256 }, (_, i) => (i * 251 + 3) & 0xffff);
      const data256 = bytesOf([...v256, ...v256, ...v256.slice(0, 100)]);
      const m = fpack.fit(data256, d, { fpackMode: 'palette' });
      assert.equal(fpackParamsOf(m).palette!.length, 256);
      roundTrip(m, data256);
      const data257 = bytesOf([...v256, 0xabcd, ...v256]);
      assert.throws(() => fpack.fit(data257, d, { fpackMode: 'palette' }), isCode('E_BAD_ARGUMENT'));
      assert.notEqual(fpackParamsOf(fpack.fit(data257, d)).mode, 'palette');
      roundTrip(fpack.fit(data257, d), data257);
      // an empty tensor gets a one-entry palette
      assert.deepEqual(fpackParamsOf(fpack.fit(new Uint8Array(0), d, { fpackMode: 'palette' })).palette, [0]);
    });

  }

  for (const d of FLOAT_DTYPES) {
    it(`${d}: any tensor of at most 256 distinct patterns (NaN payloads, -0, infinities) round trips in palette mode (seeded)`, () => {
      const pattern = fc.oneof(fc.constantFrom(...SPECIALS[d]), fc.integer({ min: 0, max: width(d) === 2 ? 0xffff : 0xff }));
      const tensor = fc
        .tuple(fc.uniqueArray(pattern, { minLength: 1, maxLength: 256 }), fc.array(fc.nat(), { minLength: 1, maxLength: 5000 }))
        .map(([pal, picks]) => picks.map((k) => pal[k % pal.length]));
      checkProperty(
        fc.property(tensor, fc.constantFrom(1, 7, 300), (values, stride) => {
          const data = valuesOf(d, values);
          const m = fpack.fit(data, d, { stride, fpackMode: 'palette' });
          assert.equal(fpackParamsOf(m).mode, 'palette');
          roundTrip(m, data);
          roundTrip(m, data, 510);
          roundTrip(fpack.load(m.params, d), data);
        }),
        fcOptions(40),
      );
    });

    it(`${d}: a value outside the palette: 16-bit, a literal block one byte above raw that still decodes; 8-bit, an index past the list`, () => {
      const fitted = codesOf(d, 8000, 6);
      const m = fpack.fit(fitted, d, { fpackMode: 'palette' });
      const other = fitted.slice(0, BLOCK);
      // patterns the codes never give: 0x1234 (16-bit), 0x7e (fp8: magnitudes stay below 86)
      if (width(d) === 2) other.set([0x34, 0x12], 10);
      else other[10] = 0x7e;
      const out = new Uint8Array(m.maxEncodedBytes(BLOCK));
      const n = m.encodeBlock(other, out);
      if (width(d) === 2) assert.equal(n, BLOCK + 1);
      else assert.ok(n < BLOCK && out[0] !== 0, `8-bit: coded to ${n} bytes`);
      roundTrip(m, other);
      // a literal block decodes (8-bit: should a caller write one); of the wrong length it is corrupt
      const literal = Uint8Array.of(0, ...other);
      const back = new Uint8Array(BLOCK);
      m.decodeBlock(literal, back);
      assert.deepEqual(back, other);
      assert.throws(() => m.decodeBlock(literal.subarray(0, BLOCK), back), isCode('E_CORRUPT'));
      assert.throws(() => fpackJs.load(m.params, d).decodeBlock(literal, back.subarray(0, BLOCK - 2 * width(d))), isCode('E_CORRUPT'));
    });

    it(`${d}: an index at or above the palette size: 16-bit E_CORRUPT, 8-bit the unlisted bytes in order (JS and wasm)`, () => {
      const values = Array.from({ length: BLOCK / width(d) }, (_, i) => (width(d) === 2 ? 0x3c00 : 0x30) + (i % 10));
      const data = valuesOf(d, values);
      const m = fpack.fit(data, d, { fpackMode: 'palette' });
      const p = fpackParamsOf(m);
      const out = new Uint8Array(m.maxEncodedBytes(BLOCK));
      const n = m.encodeBlock(data, out);
      // the same tables with a 5-entry palette: the block's indices 5 ... 9 are outside it
      const short: FpackParams = { ...p, palette: p.palette!.slice(0, 5) };
      const unlisted = Array.from({ length: 256 }, (_, v) => v).filter((v) => !short.palette!.includes(v));
      for (const coders of ['wasm', 'js'] as const) {
        const bad = fpackModelFromParams(short, undefined, coders);
        if (width(d) === 1) {
          const back = new Uint8Array(BLOCK);
          bad.decodeBlock(out.subarray(0, n), back);
          const full = [...short.palette!, ...unlisted];
          assert.deepEqual(back, Uint8Array.from(data, (v) => full[p.palette!.indexOf(v)]), coders);
          continue;
        }
        assert.throws(() => bad.decodeBlock(out.subarray(0, n), new Uint8Array(BLOCK)), (e: unknown) => isCode('E_CORRUPT')(e) && /palette index/.test((e as Error).message), coders);
      }
    });

    it(`${d}: corrupt palette headers fail with E_CORRUPT`, () => {
      const m = fpack.fit(codesOf(d, 4000, 8), d, { fpackMode: 'palette' });
      const good = m.params;
      const k = good[5] + 1;
      const w = width(d);
      assert.ok(k >= 3);
      // The palette starts at byte 6 (after version, mode, distances and K - 1), one entry per w bytes.
      // Any order of distinct entries is a valid palette (the fit puts the most frequent first).
      const swapped = good.slice();
      swapped.set(good.subarray(6 + w, 6 + 2 * w), 6);
      swapped.set(good.subarray(6, 6 + w), 6 + w);
      assert.deepEqual(fpackParamsOf(fpack.load(swapped, d)).palette!.slice(0, 2), fpackParamsOf(m).palette!.slice(0, 2).reverse());
      const dup = good.slice();
      dup.set(good.subarray(6, 6 + w), 6 + w);
      assert.throws(() => fpack.load(dup, d), (e: unknown) => isCode('E_CORRUPT')(e) && /twice/.test((e as Error).message), 'duplicate');
      // K larger than what follows: the header ends early
      const moreK = good.slice();
      moreK[5] = 255;
      assert.throws(() => fpack.load(moreK, d), isCode('E_CORRUPT'), 'K above the entries given');
      for (let cut = 0; cut < good.length; cut++) assert.throws(() => fpack.load(good.subarray(0, cut), d), isCode('E_CORRUPT'), `cut ${cut}`);
      // serialising refuses palettes out of range
      const p = fpackParamsOf(m);
      for (const palette of [[], Array.from({ length: 257 }, (_, i) => i), [5, 5], [2 ** (8 * w)], [-1], [1.5]]) {
        assert.throws(() => serialiseParams({ ...p, palette }), isCode('E_CORRUPT'), JSON.stringify(palette.slice(0, 3)));
      }
      assert.throws(() => serialiseParams({ ...p, mode: 'split', palette: p.palette }), isCode('E_CORRUPT'));
      checkProperty(
        fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const bad = good.slice();
          bad[at] ^= flip;
          try {
            roundTrip(fpack.load(bad, d), codesOf(d, 3000, at));
          } catch (e) {
            assert.ok(isCode('E_CORRUPT')(e), String(e));
          }
        }),
        fcOptions(100),
      );
    });
  }

});

describe('fpack palette mode in the daemon', () => {
  let dm: RunningDaemon;
  let c: ShimpackClient;
  before(async () => {
    dm = await startTestDaemon();
    c = await connect(dm, { client: 'palette-test' });
  });
  after(async () => {
    await c.close();
    await dm.close();
  });

  it('a bfloat16 region of 200 distinct patterns stores about 8 of 16 bits per value, and a later unseen value reads back', async () => {
    const n = 40_000;
    const pal = Array.from({ length: 200 }, (_, i) => 0x3000 + i * 37);
    const r = randomBytes(n, 12);
    const data = bytesOf(Array.from(r, (b) => pal[b % 200]));
    const base = 0x2000_0000;
    await c.region({ name: 'pal', base, size: data.length, dtype: 'bfloat16', kind: 'weight', codec: 'fpack' });
    await c.write(base, data);
    const late = Uint8Array.of(0x21, 0x43, 0x65, 0x07);
    data.set(late, 70_000);
    await c.write(base + 70_000, late);
    assert.deepEqual(Buffer.from(await c.read(base, data.length)), Buffer.from(data));
    const st = (await c.stats('pal')).regions[0];
    assert.equal(st.codec, 'fpack');
    // uniform indices over 200 entries: log2(200) / 16 = 0.48 of raw; split mode codes such patterns near raw
    assert.ok(st.storedBytes < 0.6 * data.length, `stored ${st.storedBytes} of ${data.length}`);
    assert.ok(st.blocksRaw >= 1, 'the block with unseen values is held raw');
  });
});
