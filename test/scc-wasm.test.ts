import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../daemon/codecs/errors.ts';
import { NO_SELECT, decodeBlockWith, encodeBlockWith, maxBlockBytes } from '../daemon/codecs/scc/coder.ts';
import { buildEngine, ccPositions, type Engine } from '../daemon/codecs/scc/engine.ts';
import { ACT_P, ACT_Q, ORDER0, WEIGHT_CC, WEIGHT_NEIGHBOURS, sccModelFromHistogram, sccModelWith, sccParamsOf, type ConfigPlan } from '../daemon/codecs/scc/index.ts';
import { decodeAdaptiveJs, encodeAdaptiveJs } from '../daemon/codecs/scc/range.ts';
import { decodeStatic } from '../daemon/codecs/scc/rans.ts';
import { WASM_OK, wasmDecoder } from '../daemon/codecs/scc/wasm/instance.ts';
import { strideFromShape } from '../daemon/codecs/stride.ts';
import { loadDataset, readTensor, tensorClass } from '../daemon/dataset/manifest.ts';
import { DATA_DIR, hasData } from './helpers.ts';
import { checkProperty } from './property.ts';

// The wasm SCC block coders (daemon/codecs/wasm/assembly/scc.ts) against the
// JS references (range.ts decodeAdaptiveJs / encodeAdaptiveJs, rans.ts
// decodeStatic): the same bytes for every configuration, the same CodecError
// for every broken block.

const ADAPTIVE_PLANS: readonly ConfigPlan[] = [ACT_P, ACT_Q, WEIGHT_NEIGHBOURS];
const STATIC_PLANS: readonly ConfigPlan[] = [WEIGHT_CC, ORDER0];
const PLANS = [...ADAPTIVE_PLANS, ...STATIC_PLANS];
const BLOCK = 4096;

type Outcome = { ok: true; bytes: Buffer } | { ok: false; code: string; message: string };

function run(decode: () => void, out: Uint8Array): Outcome {
  try {
    decode();
    return { ok: true, bytes: Buffer.from(out) };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Decode one block both ways (the wasm path through decodeBlockWith, as the codec does) and compare. */
function compareBlock(e: Engine, cc: Uint8Array, blk: Uint8Array, n: number, select: number, what: string): Outcome {
  const outJs = new Uint8Array(n);
  const outWasm = new Uint8Array(n);
  const reference = e.adaptive ? decodeAdaptiveJs : decodeStatic;
  const js = run(() => reference(e, cc, blk, outJs, select), outJs);
  const wasm = run(() => decodeBlockWith(e, cc, blk, outWasm, select), outWasm);
  assert.deepEqual(wasm, js, what);
  return js;
}

/** Engines and channel classes of a model's configurations. */
function enginesOf(model: Parameters<typeof sccParamsOf>[0]): { engines: Engine[]; cc: Uint8Array } {
  const p = sccParamsOf(model);
  return { engines: p.configs.map((c) => buildEngine(c, p.stride)), cc: ccPositions(p, BLOCK) };
}

/** Encode every block of `data` with engine `i` (select bit when the model switches), decode both ways; returns the blocks. */
function roundTripBoth(data: Uint8Array, e: Engine, cc: Uint8Array, select: number, what: string, blockSize = BLOCK): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const buf = new Uint8Array(maxBlockBytes(e, blockSize));
  for (let off = 0; off < data.length; off += blockSize) {
    const src = data.subarray(off, Math.min(data.length, off + blockSize));
    const blk = buf.slice(0, encodeBlockWith(e, cc, src, buf, select));
    if (e.adaptive) {
      // the wasm encoder (through encodeBlockWith) against the JS reference
      const ref = new Uint8Array(buf.length);
      assert.ok(Buffer.from(ref.subarray(0, encodeAdaptiveJs(e, cc, src, ref, select))).equals(blk), `${what} @${off}: encoders differ`);
    }
    const got = compareBlock(e, cc, blk, src.length, select, `${what} @${off}`);
    assert.ok(got.ok && got.bytes.equals(src), `${what} @${off}: the reference decoder does not round-trip`);
    blocks.push(blk);
  }
  return blocks;
}

describe('scc wasm block decoders', () => {
  it('is on here (the codec wasm module loads), unless SHIMPACK_WASM=0', () => {
    if (process.env.SHIMPACK_WASM === '0') assert.equal(wasmDecoder, null);
    else assert.notEqual(wasmDecoder, null);
  });

  describe('on real tensors', { skip: !hasData && 'no ../shared/data' }, () => {
    // Two tensors per class (the smallest and the median), every adaptive
    // configuration alone and the P/Q switch, plus the histogram-only model.
    const ds = hasData ? loadDataset(DATA_DIR) : undefined;
    const picks = ds
      ? [...new Set(ds.tensors.map(tensorClass))].flatMap((cls) => {
          const ts = ds.tensors.filter((t) => tensorClass(t) === cls).sort((a, b) => a.bytes - b.bytes);
          return [ts[0], ts[Math.floor(ts.length / 2)]];
        })
      : [];

    it('decodes every configuration to the same bytes as the reference', () => {
      for (const t of picks) {
        const data = readTensor(ds!, t).subarray(0, 24 * BLOCK);
        const stride = strideFromShape(t.shape, t.layout);
        for (const plan of PLANS) {
          const { engines, cc } = enginesOf(sccModelWith(data, t.dtype, stride, [plan]));
          roundTripBoth(data, engines[0], cc, NO_SELECT, `${t.file} ${plan.name}`);
        }
        const sw = enginesOf(sccModelWith(data, t.dtype, stride, [ACT_P, ACT_Q]));
        roundTripBoth(data, sw.engines[0], sw.cc, 0, `${t.file} P/Q select 0`);
        roundTripBoth(data, sw.engines[1], sw.cc, 1, `${t.file} P/Q select 1`);
        const hist = new Float64Array(256);
        for (const v of data) hist[v]++;
        const h = enginesOf(sccModelFromHistogram(hist, t.dtype, { stride }));
        roundTripBoth(data, h.engines[0], h.cc, NO_SELECT, `${t.file} histogram model`);
      }
    });

    it('fails on broken blocks with the same CodecError as the reference (or decodes the same bytes)', () => {
      let rng = 12345;
      const next = (m: number): number => {
        rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
        return rng % m;
      };
      const seen = new Set<string>();
      for (const t of picks.slice(0, 4)) {
        const data = readTensor(ds!, t).subarray(0, 8 * BLOCK);
        const stride = strideFromShape(t.shape, t.layout);
        for (const plan of PLANS) {
          const { engines, cc } = enginesOf(sccModelWith(data, t.dtype, stride, [plan]));
          const blocks = roundTripBoth(data, engines[0], cc, NO_SELECT, `${t.file} ${plan.name}`);
          for (const blk of blocks) {
            const n = BLOCK;
            const variants: Uint8Array[] = [
              blk.subarray(0, blk.length - 1), // truncated by one
              blk.subarray(0, next(blk.length) + 1), // truncated anywhere
              blk.subarray(1), // first byte lost
              Uint8Array.from([...blk, 0]), // one byte too many
              Uint8Array.from([...blk, 0x5a, 0xa5, 0xff]),
            ];
            for (let m = 0; m < 12; m++) {
              const bad = blk.slice();
              bad[next(bad.length)] ^= 1 << next(8); // one bit flipped
              if (m % 3 === 0) bad[next(bad.length)] = next(256); // and a byte replaced
              variants.push(bad);
            }
            for (const v of variants) {
              if (v.length === 0) continue;
              const o = compareBlock(engines[0], cc, v, n, NO_SELECT, `${t.file} ${plan.name} mutated`);
              seen.add(o.ok ? 'decoded' : o.message);
            }
          }
        }
      }
      // The mutations reach many distinct checks, so the comparison means something.
      assert.ok(seen.size >= 9, `only these outcomes were reached: ${[...seen].join(' | ')}`);
    });
  });

  it('matches the reference on random tensors: any stride (1, > block), both dtypes, short blocks, corrupted blocks', () => {
    const plans = [...PLANS, 'switch' as const];
    checkProperty(
      fc.property(
        fc.integer({ min: 1, max: 3 * BLOCK + 700 }),
        fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 80 }), fc.integer({ min: BLOCK - 10, max: 2 * BLOCK + 10 })),
        fc.constantFrom<'uint8' | 'int8'>('uint8', 'int8'),
        fc.constantFrom(...plans),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.constantFrom(BLOCK, 1000, 37),
        (len, stride, dtype, plan, seed, blockSize) => {
          // Smooth-ish data with a channel structure, so the contexts and the predictor matter.
          const data = new Uint8Array(len);
          let x = seed;
          for (let i = 0; i < len; i++) {
            x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
            const prev = i >= stride ? data[i - stride] : (i * 37) & 255;
            data[i] = x % 7 === 0 ? x >>> 24 : (prev + ((x >>> 28) - 8)) & 255;
          }
          const model = sccModelWith(data, dtype, stride, plan === 'switch' ? [ACT_P, ACT_Q] : [plan]);
          const { engines, cc } = enginesOf(model);
          const sel = plan === 'switch' ? [0, 1] : [NO_SELECT];
          sel.forEach((s, i) => {
            const blocks = roundTripBoth(data, engines[i], cc, s, `stride ${stride} ${dtype} ${plan === 'switch' ? plan : plan.name}`, blockSize);
            const blk = blocks[0];
            const n = Math.min(blockSize, len);
            const bad = blk.slice();
            bad[seed % bad.length] ^= 1 << (seed % 8);
            compareBlock(engines[i], cc, bad, n, s, 'bit flipped');
            compareBlock(engines[i], cc, blk.subarray(0, Math.max(1, blk.length - 1 - (seed % 3))), n, s, 'truncated');
          });
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });

  it('the wasm decoder writes nothing on failure, leaving the output to the caller', () => {
    const data = new Uint8Array(BLOCK).map((_, i) => (i * 7) & 255);
    const { engines, cc } = enginesOf(sccModelWith(data, 'uint8', 16, [ACT_P]));
    const out = new Uint8Array(BLOCK).fill(9);
    const rc = wasmDecoder!.adaptive(engines[0], cc, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff), out, NO_SELECT);
    assert.notEqual(rc, WASM_OK);
    assert.ok(out.every((v) => v === 9));
  });
});
