import type { CodecModel } from '../codecs/codec.ts';
import { decodeContainer, decodeContainerBlock, encodeContainer, readContainerInfo } from '../codecs/container.ts';
import { dtypeAlign, type Dtype } from '../codecs/dtype.ts';
import { CodecError } from '../codecs/errors.ts';
import { CODECS, JS_CODECS, codecByName } from '../codecs/index.ts';
import { ACT_P, ACT_Q, ORDER0, WEIGHT_CC, WEIGHT_NEIGHBOURS, sccModelWith, type ConfigPlan } from '../codecs/scc/index.ts';
import { mutate } from './mutate.ts';
import { Rng } from './rng.ts';

/**
 * Decoder fuzzing of every registered codec and of the container. A case
 * takes a valid coded stream (a block, a codec's parameters, or a whole
 * container), damages it (see mutate.ts) and decodes it. Allowed outcomes:
 * bytes (damage that still decodes is fine) or a CodecError. Anything else is
 * a finding: another exception type, a case slower than the time bound,
 * writes outside the output (checked with guard bytes around it), or a
 * decoder that modified its input.
 *
 * Codecs whose default coders are WebAssembly (wasm/) are also run through
 * their JS twins (JS_CODECS), the reference: the two must agree on every
 * case (blocks, tables and whole containers), the same bytes or the same
 * CodecError (code and message), and encode every block the same. Any
 * disagreement is a finding.
 */

export type CaseOutcome = 'decoded' | 'codec-error';

export interface Finding {
  readonly seed: number;
  readonly target: string;
  readonly how: string;
  readonly problem: string;
}

export interface Sample {
  readonly target: string;
  readonly model: CodecModel;
  /** The same model with the JS coders, where the default ones are wasm. */
  readonly reference?: CodecModel;
  readonly raw: Uint8Array;
  readonly coded: Uint8Array;
}

interface ContainerSample {
  readonly target: string;
  readonly bytes: Uint8Array;
}

const GUARD = 16;

/** The JS-coder twin of a model, where its codec's default coders are wasm. */
function referenceOf(model: CodecModel): CodecModel | undefined {
  return JS_CODECS.find((c) => c.name === model.codec)?.load(model.params, model.dtype);
}

/** decodeContainer with the JS twin of the container's codec; undefined when its default coders are JS already. */
function containerWithJs(bytes: Uint8Array): string | undefined {
  try {
    const info = readContainerInfo(bytes);
    const twin = JS_CODECS.find((c) => c.name === info.codec);
    if (!twin || twin === codecByName(info.codec)) return undefined;
    const model = info.wholeTensorRaw ? undefined : twin.load(info.params, info.dtype);
    const data = new Uint8Array(info.totalBytes);
    for (let b = 0; b < info.blocks.length; b++) {
      const start = b * info.blockSize;
      decodeContainerBlock(bytes, info, model, b, data.subarray(start, start + info.blocks[b].rawBytes));
    }
    return `bytes ${Buffer.from(data).toString('base64')}`;
  } catch (e) {
    if (e instanceof CodecError) return `${e.code}: ${e.message}`;
    return `${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}

/** A decode's result, comparable between the wasm and the JS coders. */
function decodeOutcome(model: CodecModel, src: Uint8Array, outLen: number): string {
  const out = new Uint8Array(outLen);
  try {
    model.decodeBlock(src, out);
    return `bytes ${Buffer.from(out).toString('base64')}`;
  } catch (e) {
    if (e instanceof CodecError) return `${e.code}: ${e.message}`;
    return `${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}
const CANARY = 0xa5;

/** Typical tensors: sparse (post-ReLU), narrow (quantised weights), uniform noise, constant. */
function sampleData(rng: Rng, n: number, dtype: Dtype, style: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.u32();
    if (style === 0) out[i] = (r & 3) === 0 ? (r >>> 8) & 0xff : 0;
    else if (style === 1) out[i] = ((r >>> 8) % 9) - 4 + (dtype === 'uint8' ? 4 : 0);
    else if (style === 2) out[i] = r & 0xff;
    else out[i] = 7;
  }
  return out;
}

/** NHWC-like bytes: every channel a slow random walk, some zeros, so SCC's taps and predictor matter. */
function channelData(rng: Rng, n: number, stride: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const prev = i >= stride ? out[i - stride] : 64 + ((i * 29) & 63);
    const r = rng.u32();
    out[i] = (r & 7) === 0 ? 0 : Math.max(0, Math.min(255, prev + ((r >>> 8) % 5) - 2));
  }
  return out;
}

const SCC_PLANS: readonly [string, ConfigPlan[]][] = [
  ['order0', [ORDER0]],
  ['cc-static', [WEIGHT_CC]],
  ['x1x2-adaptive', [WEIGHT_NEIGHBOURS]],
  ['P', [ACT_P]],
  ['PQ-switch', [ACT_P, ACT_Q]],
];

/** The valid streams the cases start from, built once per seed base. */
export class CodecCorpus {
  readonly blocks: Sample[] = [];
  readonly params: { target: string; codec: string; dtype: Dtype; params: Uint8Array }[] = [];
  readonly containers: ContainerSample[] = [];

  constructor(seed = 1) {
    const rng = new Rng(seed);
    for (const codec of CODECS) {
      for (const dtype of codec.dtypes) {
        for (let style = 0; style < 4; style++) {
          const fitData = sampleData(rng, 8192, dtype, style);
          // Context codecs (scc) need a stride; the others ignore it. Vary it so
          // the corpus holds S = 1, a typical channel count and S above a block.
          const codecOptions = { stride: [1, 16, 5000][style % 3], kind: (['weight', 'activation', 'other'] as const)[style % 3] };
          const model = codec.fit(fitData, dtype, codecOptions);
          this.params.push({ target: `${codec.name}/${dtype}/params`, codec: codec.name, dtype, params: model.params });
          for (const len of [64, 256, 4096]) {
            const raw = sampleData(rng, len, dtype, style);
            const slot = new Uint8Array(Math.max(len, model.maxEncodedBytes(len)));
            const n = model.encodeBlock(raw, slot);
            this.blocks.push({ target: `${codec.name}/${dtype}/block${len}`, model, reference: referenceOf(model), raw, coded: slot.slice(0, n) });
          }
          if (style < 3) {
            const tensor = sampleData(rng, 3000 + rng.int(3000), dtype, style);
            const len = dtypeAlign(dtype) === 2 ? tensor.length & ~1 : tensor.length;
            const bytes = encodeContainer(tensor.subarray(0, len), { codec: codec.name, dtype, blockSize: rng.pick([64, 256, 1024]), codecOptions });
            this.containers.push({ target: `container/${codec.name}/${dtype}`, bytes });
          }
        }
      }
    }
    // SCC fits often pick order-0 or raw on the styles above: add every configuration
    // (static rANS blocks, adaptive range-coder blocks, switched blocks) explicitly.
    for (const [name, plans] of SCC_PLANS) {
      const stride = 1 + rng.int(40);
      const fitData = channelData(rng, 8192, stride);
      const model = sccModelWith(fitData, 'uint8', stride, plans);
      this.params.push({ target: 'scc/uint8/params', codec: 'scc', dtype: 'uint8', params: model.params });
      for (const len of [64, 4096]) {
        const raw = channelData(rng, len, stride);
        const slot = new Uint8Array(model.maxEncodedBytes(len));
        const n = model.encodeBlock(raw, slot);
        this.blocks.push({ target: `scc/uint8/${name}/block${len}`, model, reference: referenceOf(model), raw, coded: slot.slice(0, n) });
      }
    }
  }

  /** Sanity: every unmutated stream decodes to its original bytes (else the fuzzer is blind). */
  selfCheck(): void {
    for (const s of this.blocks) {
      const out = new Uint8Array(s.raw.length);
      s.model.decodeBlock(s.coded, out);
      if (!out.every((v, i) => v === s.raw[i])) throw new Error(`corpus: ${s.target} does not round-trip`);
      if (s.reference) {
        const slot = new Uint8Array(Math.max(s.raw.length, s.reference.maxEncodedBytes(s.raw.length)));
        const n = s.reference.encodeBlock(s.raw, slot);
        if (!Buffer.from(slot.subarray(0, n)).equals(Buffer.from(s.coded))) throw new Error(`corpus: ${s.target}: wasm and JS encoders differ`);
      }
    }
    for (const c of this.containers) decodeContainer(c.bytes);
  }
}

function classify(e: unknown): string | undefined {
  if (e instanceof CodecError) return undefined;
  const err = e as Error;
  return `${err?.name ?? typeof e}: ${err?.message ?? String(e)}`.slice(0, 300);
}

/**
 * Run one case. Returns the outcome or a finding. `timeBoundMs` is the
 * longest a single decode may take; a hang never returns at all, which the
 * caller's watchdog (a worker thread) catches.
 */
export function runCodecCase(corpus: CodecCorpus, seed: number, timeBoundMs: number): CaseOutcome | Finding {
  const rng = new Rng(seed);
  const kind = rng.int(10); // 7 blocks : 1 params : 2 containers
  const t0 = performance.now();
  let target: string;
  let how = '';
  let problem: string | undefined;
  let outcome: CaseOutcome = 'decoded';
  if (kind < 7) {
    const s = rng.pick(corpus.blocks);
    const other = rng.pick(corpus.blocks).coded;
    target = s.target;
    const m = mutate(rng, s.coded, other);
    how = m.how.join('+');
    // Sometimes also ask for a wrong output length (the caller's metadata can be wrong too).
    let outLen = s.raw.length;
    if (rng.chance(0.15)) outLen = rng.pick([0, 1, 2, outLen - 2, outLen + 2, outLen * 2].filter((x) => x >= 0));
    if (dtypeAlign(s.model.dtype) === 2) outLen &= ~1;
    const srcBox = new Uint8Array(m.bytes.length + 2 * GUARD).fill(CANARY);
    srcBox.set(m.bytes, GUARD);
    const src = srcBox.subarray(GUARD, GUARD + m.bytes.length);
    const outBox = new Uint8Array(outLen + 2 * GUARD).fill(CANARY);
    const out = outBox.subarray(GUARD, GUARD + outLen);
    try {
      s.model.decodeBlock(src, out);
    } catch (e) {
      problem = classify(e);
      outcome = 'codec-error';
    }
    for (let i = 0; i < GUARD && !problem; i++) {
      if (outBox[i] !== CANARY || outBox[GUARD + outLen + i] !== CANARY) problem = 'decoder wrote outside its output';
    }
    if (!problem && !m.bytes.every((v, i) => v === src[i])) problem = 'decoder modified its input';
    if (!problem && s.reference) {
      const wasm = outcome === 'decoded' ? `bytes ${Buffer.from(out).toString('base64')}` : decodeOutcome(s.model, m.bytes, outLen);
      const js = decodeOutcome(s.reference, m.bytes, outLen);
      if (wasm !== js) problem = `wasm and JS decoders disagree: ${wasm.slice(0, 120)} | ${js.slice(0, 120)}`;
    }
  } else if (kind < 8) {
    const p = rng.pick(corpus.params);
    target = p.target;
    const m = mutate(rng, p.params, rng.pick(corpus.params).params);
    how = m.how.join('+');
    try {
      const model = codecByName(p.codec).load(m.bytes, p.dtype);
      // A table that loads must also code: round-trip a small block with it.
      const raw = new Uint8Array(256);
      for (let i = 0; i < raw.length; i++) raw[i] = rng.u32() & 0xff;
      const slot = new Uint8Array(Math.max(256, model.maxEncodedBytes(256)));
      const n = model.encodeBlock(raw, slot);
      const back = new Uint8Array(256);
      model.decodeBlock(slot.subarray(0, n), back);
      if (!back.every((v, i) => v === raw[i])) problem = 'a mutated table loads but does not round-trip';
      const reference = referenceOf(model);
      if (!problem && reference) {
        const ref = new Uint8Array(slot.length);
        if (!Buffer.from(ref.subarray(0, reference.encodeBlock(raw, ref))).equals(Buffer.from(slot.subarray(0, n)))) problem = 'wasm and JS encoders differ';
      }
    } catch (e) {
      problem = classify(e);
      outcome = 'codec-error';
    }
  } else {
    const c = rng.pick(corpus.containers);
    target = c.target;
    const m = mutate(rng, c.bytes, rng.pick(corpus.containers).bytes);
    how = m.how.join('+');
    let wasm = '';
    try {
      wasm = `bytes ${Buffer.from(decodeContainer(m.bytes).data).toString('base64')}`;
    } catch (e) {
      problem = classify(e);
      outcome = 'codec-error';
      if (e instanceof CodecError) wasm = `${e.code}: ${e.message}`;
    }
    // The same container through the JS coders, where the codec's default ones are wasm: same bytes or same error.
    if (!problem || outcome === 'codec-error') {
      const js = containerWithJs(m.bytes);
      if (js !== undefined && wasm !== '' && js !== wasm) problem = `wasm and JS container decodes disagree: ${wasm.slice(0, 120)} | ${js.slice(0, 120)}`;
    }
  }
  const ms = performance.now() - t0;
  if (!problem && ms > timeBoundMs) problem = `took ${ms.toFixed(0)} ms (bound ${timeBoundMs} ms)`;
  return problem ? { seed, target, how, problem } : outcome;
}
