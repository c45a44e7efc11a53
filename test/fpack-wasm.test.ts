import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contextOptions } from '../daemon/bench/context-options.ts';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { FLOAT_DTYPES, type FloatDtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { buildEngine } from '../daemon/codecs/fpack/engine.ts';
import { fpack, fpackJs, fpackModelFromParams, fpackParamsOf } from '../daemon/codecs/fpack/index.ts';
import { twoPassChunk } from '../daemon/codecs/fpack/wasm.ts';
import type { FpackParams } from '../daemon/codecs/fpack/params.ts';
import { codecWasm } from '../daemon/codecs/wasm/instance.ts';
import { FPACK_SLOT_COUNT } from '../daemon/codecs/wasm/layout.ts';
import { DEFAULT_DATA_DIR, loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { FLOAT_FORMATS, type FloatFormat } from '../daemon/dataset/float-convert.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';

// fpack's wasm decoder (daemon/codecs/wasm/assembly/fpack.ts) against coder.ts,
// the JS decoder it must match bit for bit: real float tensors in all four
// formats, seeded property inputs full of special values, models on both of
// the wasm split paths (B class from A's group, or from the exponent), and
// corrupt blocks (the same CodecError, code and message).

const FLOAT_DIR = resolve(DEFAULT_DATA_DIR, '../data-float');
const hasFloat = existsSync(join(FLOAT_DIR, 'manifest.json'));
const SEED = 1717;
const BLOCK = 4096;
const width = (d: FloatDtype): number => (d === 'bfloat16' || d === 'float16' ? 2 : 1);

type Outcome = { ok: true; bytes: string } | { ok: false; code: string; message: string };

function decodeWith(m: CodecModel, block: Uint8Array, rawLength: number): Outcome {
  try {
    const out = new Uint8Array(rawLength).fill(0xa5);
    m.decodeBlock(block, out);
    return { ok: true, bytes: Buffer.from(out).toString('hex') };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Encodes with the JS coder, decodes with both: both give the raw bytes back. */
function compareRoundTrip(w: CodecModel, j: CodecModel, raw: Uint8Array, what: string): Uint8Array {
  const buf = new Uint8Array(j.maxEncodedBytes(raw.length));
  const coded = buf.slice(0, j.encodeBlock(raw, buf));
  const hex = Buffer.from(raw).toString('hex');
  assert.deepEqual(decodeWith(j, coded, raw.length), { ok: true, bytes: hex }, `${what}: the JS decoder`);
  assert.deepEqual(decodeWith(w, coded, raw.length), { ok: true, bytes: hex }, `${what}: the wasm decoder`);
  return coded;
}

/** Special bit patterns of each format among skewed ones: ±0, infinities, NaNs with payloads, subnormals, extremes. */
const SPECIALS: Record<FloatDtype, number[]> = {
  bfloat16: [0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81, 0x7fff, 0x0001, 0x807f, 0x0080, 0x7f7f, 0xff7f, 0x3f80],
  float16: [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x7c01, 0x7fff, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00],
  float8_e4m3: [0x00, 0x80, 0x7f, 0xff, 0x7e, 0xfe, 0x01, 0x87, 0x08, 0x38],
  float8_e5m2: [0x00, 0x80, 0x7c, 0xfc, 0x7d, 0x7e, 0xff, 0x7b, 0x01, 0x83, 0x04, 0x3c],
};

/** n values of dtype d: mostly near one magnitude, some specials, optionally all equal. */
const floats = (maxValues: number): fc.Arbitrary<{ d: FloatDtype; raw: Uint8Array; stride: number }> =>
  fc
    .tuple(fc.constantFrom(...FLOAT_DTYPES), fc.integer({ min: 1, max: maxValues }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 40 }))
    .map(([d, n, seed, kind, stride]) => {
      const r = randomBytes(4 * n, seed);
      const sp = SPECIALS[d];
      const vals = Array.from({ length: n }, (_, i) => {
        if (kind === 0) return sp[seed % sp.length]; // all equal
        if (kind === 1 || r[4 * i] < 20) return sp[r[4 * i + 1] % sp.length];
        const base = width(d) === 2 ? (d === 'bfloat16' ? 0x3c00 : 0x3000) : 0x30;
        return (base + ((r[4 * i + 2] | (r[4 * i + 3] << 8)) & (width(d) === 2 ? 0x3ff : 0x1f))) | (r[4 * i + 1] & 0x80 ? (width(d) === 2 ? 0x8000 : 0x80) : 0);
      });
      const raw = new Uint8Array(n * width(d));
      vals.forEach((v, i) => {
        if (width(d) === 1) raw[i] = v;
        else {
          raw[2 * i] = v & 255;
          raw[2 * i + 1] = v >> 8;
        }
      });
      return { d, raw, stride };
    });

/** The same model with B classes that cut A's groups (a model older fits made): the wasm decoder's exponent path. */
function unaligned(p: FpackParams): FpackParams | undefined {
  if (p.mode !== 'split') return undefined;
  for (let g = 0; g + 1 < p.a.vmin.length; g++) {
    const [lo, hi] = [p.a.vmin[g], p.a.vmin[g + 1]];
    if (hi - lo < 2) continue;
    // split the group's exponents in two B classes, both with B table 0 (any valid table codes every pattern)
    const cut = lo + 1;
    const bounds = [...new Set([...p.bClasses.filter((b) => b < cut), cut, ...p.bClasses.filter((b) => b > cut)])].sort((a, b) => a - b);
    return { ...p, bClasses: bounds, b: bounds.slice(1).map(() => p.b[0]) };
  }
  return undefined;
}

describe('fpack wasm decoder', () => {
  it('is on unless SHIMPACK_WASM=0', () => {
    if (process.env.SHIMPACK_WASM !== '0') assert.notEqual(codecWasm, null);
  });

  it('decodes real float tensors as the JS decoder does, in all four formats', { skip: !hasFloat && 'no ../shared/data-float' }, () => {
    let blocks = 0;
    for (const f of Object.keys(FLOAT_FORMATS) as FloatFormat[]) {
      const ds = loadDataset(FLOAT_DIR, [f]);
      for (const t of ds.tensors.filter((_, i) => i % 10 === 0)) {
        const data = readTensor(ds, t);
        const w = fpack.fit(data.subarray(0, 65536), t.dtype, contextOptions(t));
        const j = fpackJs.load(w.params, t.dtype);
        const step = Math.max(BLOCK, Math.floor(data.length / 6 / BLOCK) * BLOCK);
        for (let off = 0; off < data.length; off += step) {
          compareRoundTrip(w, j, data.subarray(off, Math.min(data.length, off + BLOCK)), `${f} ${t.file} @${off}`);
          blocks++;
        }
      }
    }
    assert.ok(blocks > 100, `only ${blocks} blocks compared`);
  });

  it('decodes right when more models than table slots take turns (slots refilled round-robin)', () => {
    // three different tables, each loaded as many model objects (slots are kept per model object):
    // a slot refilled for another model must hold that model's tables, or the blocks decode wrong
    const d = 'bfloat16' as const;
    const raws = [0, 1, 2].map((k) => randomBytes(4096, 90 + k).map((v, i) => (i & 1 ? 0x3c + (v % (3 + 2 * k)) : v)));
    const params = raws.map((raw) => fpack.fit(raw, d, { stride: 8, kind: 'activation' }).params);
    const count = FPACK_SLOT_COUNT + 5;
    const models = Array.from({ length: count }, (_, i) => fpack.load(params[i % 3], d));
    const coded = Array.from({ length: count }, (_, i) => {
      const m = models[i];
      const buf = new Uint8Array(m.maxEncodedBytes(4096));
      return buf.slice(0, m.encodeBlock(raws[i % 3], buf));
    });
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < count; i++) {
        const out = new Uint8Array(4096);
        models[i].decodeBlock(coded[i], out);
        assert.ok(Buffer.from(out).equals(Buffer.from(raws[i % 3])), `pass ${pass}, model ${i}`);
      }
    }
  });

  it('decodes a block shorter than the neighbour distance (a tensor tail) in every mode', () => {
    // coder.ts used to index before its history there: the block decoded to wrong bytes, silently
    for (const d of FLOAT_DTYPES) {
      const modes = width(d) === 1 ? (['split', 'whole', 'delta'] as const) : (['split'] as const);
      for (const fpackMode of modes) {
        // periodic in 64 values: x[i-64] predicts every value, x[i-1] does not (the fit also tries distance 1)
        const long = new Uint8Array(4096).map((_, i) => {
          const c = i % (64 * width(d));
          return (c * 37 + (c >> 3) * 11) & 0xff;
        });
        const w = fpack.fit(long, d, { stride: 64, kind: 'activation', fpackMode });
        assert.ok(fpackParamsOf(w).distance >= 64, `${d} ${fpackMode}: a model with a neighbour at 64`);
        const j = fpackJs.load(w.params, d);
        for (const values of [1, 3, 63, 64, 65]) compareRoundTrip(w, j, long.subarray(0, values * width(d)), `${d} ${fpackMode}: ${values} values`);
      }
    }
  });

  it(`decodes fp8 whole and delta blocks in two passes as the JS decoder does, broken ones too (seed ${SEED})`, { skip: codecWasm === null && 'wasm off' }, () => {
    // activation-like bytes: a map of `stride` channels, each smooth along the pixels, a third
    // of the values zero, some special values; the fit is held to whole or delta mode
    const bytes = (d: FloatDtype, stride: number, n: number, seed: number): Uint8Array => {
      const r = randomBytes(n, seed);
      const sp = SPECIALS[d];
      return new Uint8Array(n).map((_, i) => {
        if (r[i] < 85) return 0;
        if (r[i] > 250) return sp[r[i] % sp.length];
        const c = i % stride;
        const level = (Math.floor(i / stride) >> 2) + (c & 7);
        return 0x20 + ((c * 5 + level + (r[i] & 3)) & 0x3f);
      });
    };
    let twoPass = 0;
    let onePass = 0;
    for (const d of ['float8_e4m3', 'float8_e5m2'] as const) {
      for (const fpackMode of ['whole', 'delta'] as const) {
        for (const stride of [16, 24, 64, 100, 300]) {
          const raw = bytes(d, stride, 8192, stride * 7 + (fpackMode === 'delta' ? 1 : 0) + (d === 'float8_e5m2' ? 2 : 0));
          const w = fpack.fit(raw, d, { stride, kind: 'activation', fpackMode });
          const j = fpackJs.load(w.params, d);
          const e = buildEngine(fpackParamsOf(w));
          for (const n of [1, 15, 16, 17, 31, 33, 255, 256, 257, 1001, 4096]) {
            const block = raw.subarray(4096 - (n >> 1), 4096 - (n >> 1) + n);
            const what = `${d} ${fpackMode}, stride ${stride}, ${n} values`;
            const coded = compareRoundTrip(w, j, block, what);
            if (twoPassChunk(e, n) > 0) twoPass++;
            else onePass++;
            // broken blocks: the same outcome (bytes, or CodecError code and message) from both decoders
            const same = (b: Uint8Array, len: number, how: string): void => assert.deepEqual(decodeWith(w, b, len), decodeWith(j, b, len), `${what}: ${how}`);
            const r = randomBytes(8, n * 31 + stride);
            for (let k = 0; k < 4; k++) {
              const flipped = coded.slice();
              const bit = ((r[2 * k] << 8) | r[2 * k + 1]) % (flipped.length * 8);
              flipped[bit >> 3] ^= 0x80 >> (bit & 7);
              same(flipped, n, `bit ${bit} flipped`);
            }
            same(coded.subarray(0, coded.length - 1), n, 'last byte cut');
            same(coded, n + 1, 'one value more');
            if (n > 1) same(coded, n - 1, 'one value fewer');
          }
        }
      }
    }
    // most blocks here take the two-pass loop; the one-pass loop takes those shorter than 16
    // values and every block of a model whose fit chose a neighbour closer than 16 (x[i-1])
    assert.ok(twoPass >= 150, `${twoPass} blocks through the two-pass loop, ${onePass} through the one-pass loop`);

    // Every single bit of the offsets flipped, in one block per model: an offset past its
    // group's size - 1 (a group whose size is not a power of two) must fail in both decoders.
    let outOfGroup = 0;
    for (const d of ['float8_e4m3', 'float8_e5m2'] as const) {
      for (const fpackMode of ['whole', 'delta'] as const) {
        const raw = bytes(d, 64, 4096, 5 + (fpackMode === 'delta' ? 1 : 0) + (d === 'float8_e5m2' ? 2 : 0));
        const w = fpack.fit(raw, d, { stride: 64, kind: 'activation', fpackMode });
        const j = fpackJs.load(w.params, d);
        assert.ok(twoPassChunk(buildEngine(fpackParamsOf(w)), raw.length) > 0, `${d} ${fpackMode}: a two-pass model`);
        const coded = compareRoundTrip(w, j, raw, `${d} ${fpackMode}`);
        // the block: varint length of the rANS bytes, those bytes, then the offsets
        let ransEnd = 0;
        let len = 0;
        for (let shift = 0; ; shift += 7) {
          const b = coded[ransEnd++];
          len += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) break;
        }
        ransEnd += len;
        for (let bit = ransEnd * 8; bit < coded.length * 8; bit++) {
          const flipped = coded.slice();
          flipped[bit >> 3] ^= 0x80 >> (bit & 7);
          const js = decodeWith(j, flipped, raw.length);
          assert.deepEqual(decodeWith(w, flipped, raw.length), js, `${d} ${fpackMode}: offset bit ${bit} flipped`);
          if (!js.ok && js.message.includes('outside its group')) outOfGroup++;
        }
      }
    }
    assert.ok(outOfGroup > 0, 'no flipped offset fell outside its group');
  });

  it('decodes fp8 blocks of two-neighbour models in two passes as the JS decoder does', { skip: codecWasm === null && 'wasm off' }, () => {
    // Fits seldom pick two neighbours with several classes each: a written model does, with
    // classes over every exponent (e5m2's 16 to 31 too), groups whose sizes are not powers of
    // two, and count rows that differ by context, so a wrong context decodes wrong bytes.
    const model = (d: FloatDtype, mode: 'whole' | 'delta', distance: number, distance2: number): FpackParams => {
      const E = d === 'float8_e5m2' ? 32 : 16;
      const vmin = [0, 1, 8, 32, 61, 96, 128, 129, 136, 160, 200, 256];
      const aClasses = [0, E / 4, E / 2 + 1, E];
      const aClasses2 = [0, E / 4, E / 2, (3 * E) / 4, E];
      const counts = Array.from({ length: 12 }, (_, r) => {
        const w = vmin.slice(1).map((_, g) => 1 + ((g * 7 + r * 13) % 17) * (1 + (r % 3)));
        const sum = w.reduce((a, b) => a + b, 0);
        const row = w.map((x) => Math.max(1, Math.floor((x * 1024) / sum)));
        row[0] += 1024 - row.reduce((a, b) => a + b, 0);
        return row;
      });
      return { dtype: d, mode, distance, distance2, aClasses, aClasses2, a: { vmin, counts }, bClasses: [], b: [], states: 2, version: 2 };
    };
    let blocks = 0;
    for (const d of ['float8_e4m3', 'float8_e5m2'] as const) {
      for (const mode of ['whole', 'delta'] as const) {
        for (const [d1, d2] of [
          [16, 32],
          [64, 128],
          [40, 17],
          [300, 600],
          [31, 63],
          [64, 8],
        ]) {
          const p = model(d, mode, d1, d2);
          const w = fpackModelFromParams(p);
          const j = fpackModelFromParams(p, undefined, 'js');
          const e = buildEngine(p);
          // a second neighbour closer than 16 values keeps the block in the one-pass loop
          assert.equal(twoPassChunk(e, 4096) > 0, d2 >= 16, `${d} ${mode} (${d1}, ${d2}): chunk ${twoPassChunk(e, 4096)}`);
          for (const n of [16, 17, 40, 255, 1000, 4096]) {
            const raw = randomBytes(n, d1 * 1000 + d2 + n);
            const what = `${d} ${mode} (${d1}, ${d2}), ${n} values`;
            const coded = compareRoundTrip(w, j, raw, what);
            blocks++;
            const same = (b: Uint8Array, len: number, how: string): void => assert.deepEqual(decodeWith(w, b, len), decodeWith(j, b, len), `${what}: ${how}`);
            for (let k = 0; k < 6; k++) {
              const flipped = coded.slice();
              const bit = (k * 7919 + n * 31) % (flipped.length * 8);
              flipped[bit >> 3] ^= 0x80 >> (bit & 7);
              same(flipped, n, `bit ${bit} flipped`);
            }
          }
        }
      }
    }
    assert.equal(blocks, 144);
  });

  it(`fits B classes that are unions of A's groups (the wasm by-group path; seed ${SEED})`, () => {
    checkProperty(
      fc.property(floats(3000), ({ d, raw, stride }) => {
        const p = fpackParamsOf(fpack.fit(raw, d, { stride, kind: 'activation', fpackMode: 'split' }));
        for (let g = 0; g + 1 < p.a.vmin.length; g++) {
          const [lo, hi] = [p.a.vmin[g], p.a.vmin[g + 1]];
          // no B class bound strictly inside the group
          assert.ok(!p.bClasses.some((b) => b > lo && b < hi), `${d}: A group [${lo}, ${hi}) is cut by B classes ${p.bClasses.join(',')}`);
        }
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it(`decodes property inputs as the JS decoder does, on both split paths (seed ${SEED})`, () => {
    let unalignedRuns = 0;
    checkProperty(
      fc.property(floats(2500), ({ d, raw, stride }) => {
        const w = fpack.fit(raw, d, { stride, kind: 'activation' });
        compareRoundTrip(w, fpackJs.load(w.params, d), raw, d);
        const u = unaligned(fpackParamsOf(w));
        if (u) {
          unalignedRuns++;
          compareRoundTrip(fpackModelFromParams(u), fpackModelFromParams(u, undefined, 'js'), raw, `${d} unaligned`);
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
    assert.ok(unalignedRuns > 20, `the exponent path ran ${unalignedRuns} times`);
  });

  it(`rejects corrupt blocks with the JS decoder's CodecError (seed ${SEED})`, () => {
    checkProperty(
      fc.property(
        floats(2048),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -8, max: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        ({ d, raw, stride }, edits, resize, flips) => {
          const w = fpack.fit(raw, d, { stride, kind: 'activation' });
          const j = fpackJs.load(w.params, d);
          const coded = compareRoundTrip(w, j, raw, d);
          const same = (block: Uint8Array, len: number, what: string): void => assert.deepEqual(decodeWith(w, block, len), decodeWith(j, block, len), what);
          const broken = new Uint8Array(Math.max(0, coded.length + resize));
          broken.set(coded.subarray(0, broken.length));
          for (const [at, v] of edits) if (broken.length > 0) broken[at % broken.length] = v;
          same(broken, raw.length, `${d}: edited, resized by ${resize}`);
          for (const at of flips) {
            const flipped = coded.slice();
            const bit = at % (flipped.length * 8);
            flipped[bit >> 3] ^= 0x80 >> (bit & 7);
            same(flipped, raw.length, `${d}: bit ${bit} flipped`);
          }
          for (let b = 0; b < 8; b++) {
            const flipped = coded.slice();
            flipped[flipped.length - 1] ^= 1 << b;
            same(flipped, raw.length, `${d}: last byte bit ${b} flipped`);
          }
          same(coded, raw.length + width(d), `${d}: one value more`);
          if (raw.length > width(d)) same(coded, raw.length - width(d), `${d}: one value fewer`);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});
