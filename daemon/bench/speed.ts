import { performance } from 'node:perf_hooks';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Codec, CodecModel, CodecOptions } from '../codecs/codec.ts';
import type { Dtype } from '../codecs/dtype.ts';
import { CODECS, JS_CODECS } from '../codecs/index.ts';
import { wasmOffReason } from '../codecs/wasm/instance.ts';
import { contextOptions } from './context-options.ts';
import { type Dataset, type TensorEntry, readTensor } from '../dataset/manifest.ts';

/** One codec's single-core block throughput. MB = 10^6 bytes of raw tensor data. */
export interface SpeedRow {
  readonly codec: string;
  readonly encodeMBps: number;
  readonly decodeMBps: number;
  /** Stored bytes / raw bytes over the corpus (blocks only, raw fallback applied; no container header). */
  readonly footprint: number;
  readonly blocks: number;
}

export interface SpeedReport {
  readonly blockSize: number;
  readonly corpusBytes: number;
  readonly tensors: number;
  readonly rows: SpeedRow[];
  readonly note: string;
}

interface Block {
  readonly raw: Uint8Array;
  readonly model: CodecModel;
  coded: Uint8Array;
  storedRaw: boolean;
}

/** What a measurement's time is: the wall clock, or the CPU time of this process (user + system, all threads). */
export type SpeedClock = 'wall' | 'cpu';

const CLOCKS: Record<SpeedClock, () => number> = {
  wall: () => performance.now() / 1000,
  cpu: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  },
};

/** Repeat `pass` until at least `minSeconds` have passed on `clock`; returns MB/s over `bytesPerPass`. */
function timeIt(clock: () => number, bytesPerPass: number, minSeconds: number, pass: () => void): number {
  let passes = 0;
  const t0 = clock();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = clock() - t0;
  } while (elapsed < minSeconds || elapsed <= 0);
  return (bytesPerPass * passes) / elapsed / 1e6;
}

/**
 * Measures every registered codec (model fitting excluded: a shim loads its
 * tables before data flows) and Node's zlib deflate level 1 / inflate on the
 * same blocks, one after the other on the calling thread.
 */
/** One row's work: blocks of tensors, each coded with a model fitted to its tensor. */
interface Job {
  readonly label: string;
  readonly codec: Codec;
  readonly items: { readonly data: Uint8Array; readonly dtype: Dtype; readonly options?: CodecOptions }[];
}

/** A job's blocks, coded once, with its encode and decode passes. */
interface Prepared {
  readonly label: string;
  readonly bytes: number;
  readonly blocks: number;
  readonly footprint: number;
  readonly encodeAll: () => void;
  readonly decodeAll: () => void;
}

function prepareJob(job: Job, blockSize: number): Prepared | undefined {
  const blocks: Block[] = [];
  for (const it of job.items) {
    const model = job.codec.fit(it.data, it.dtype, it.options);
    for (let off = 0; off < it.data.length; off += blockSize) {
      blocks.push({ raw: it.data.subarray(off, Math.min(it.data.length, off + blockSize)), model, coded: new Uint8Array(0), storedRaw: false });
    }
  }
  if (blocks.length === 0) return undefined;
  const bytes = blocks.reduce((s, b) => s + b.raw.length, 0);
  const scratch = new Uint8Array(Math.max(...blocks.map((b) => b.model.maxEncodedBytes(blockSize))));
  const encodeAll = (): void => {
    for (const b of blocks) {
      const n = b.model.encodeBlock(b.raw, scratch);
      if (n >= b.raw.length) b.storedRaw = true;
    }
  };
  let stored = 0;
  for (const b of blocks) {
    const n = b.model.encodeBlock(b.raw, scratch);
    b.storedRaw = n >= b.raw.length;
    b.coded = b.storedRaw ? b.raw : scratch.slice(0, n);
    stored += b.coded.length;
  }
  const out = new Uint8Array(blockSize);
  const decodeAll = (): void => {
    for (const b of blocks) {
      const dst = out.subarray(0, b.raw.length);
      if (b.storedRaw) dst.set(b.coded);
      else b.model.decodeBlock(b.coded, dst);
    }
  };
  // The figures only count if the codec really round-trips.
  for (const b of blocks) {
    const dst = out.subarray(0, b.raw.length);
    if (b.storedRaw) dst.set(b.coded);
    else b.model.decodeBlock(b.coded, dst);
    if (!dst.every((v, i) => v === b.raw[i])) throw new Error(`${job.label} did not round-trip a block`);
  }
  return { label: job.label, bytes, blocks: blocks.length, footprint: stored / bytes, encodeAll, decodeAll };
}

/** Rounds of the interleaved measurement: each row's best round counts, so a busy machine hurts every row alike. */
const ROUNDS = 5;

/** An evenly spread subset of the tensors, at most maxBytes (all of them without a cap). */
function spread(tensors: readonly TensorEntry[], maxBytes?: number): readonly TensorEntry[] {
  const total = tensors.reduce((s, t) => s + t.bytes, 0);
  if (maxBytes === undefined || total <= maxBytes) return tensors;
  const keep = Math.max(1, Math.round((tensors.length * maxBytes) / total));
  const step = tensors.length / keep;
  return Array.from({ length: keep }, (_, i) => tensors[Math.floor(i * step)]);
}

/**
 * Measures every registered codec (model fitting excluded: a shim loads its
 * tables before data flows) and Node's zlib deflate level 1 / inflate on the
 * same blocks, one after the other on the calling thread. A float data set
 * gets a row per codec and format (and APack over the fp8 bytes as uint8);
 * `reference`, an 8-bit set, adds APack on its own data to the same run.
 */
export function runSpeedBench(
  ds: Dataset,
  options: {
    blockSize: number;
    minSeconds: number;
    maxBytes?: number;
    reference?: Dataset;
    clock?: SpeedClock;
    /** Only these codecs' rows (each with its "(js)" twin) and zlib's; all when unset. */
    codecs?: readonly string[];
    onStep?: (what: string) => void;
  },
): SpeedReport {
  const formats = [...new Set(ds.tensors.map((t) => t.floatFormat))];
  // The corpus: every tensor, or an evenly spread subset up to maxBytes (per format for a float set).
  const tensors = formats.flatMap((f) => spread(ds.tensors.filter((t) => t.floatFormat === f), options.maxBytes));
  const datas = tensors.map((t) => readTensor(ds, t));
  const corpusBytes = datas.reduce((s, d) => s + d.length, 0);
  const rows: SpeedRow[] = [];
  const jobs: Job[] = [];
  // Each codec, then its JS coders alone where its default is wasm ("apack (js)"), so one run measures the gain.
  const wanted = (name: string): boolean => options.codecs === undefined || options.codecs.includes(name);
  const runs = CODECS.filter((c) => wanted(c.name)).flatMap((codec) => [{ codec, js: false }, ...JS_CODECS.filter((j) => j.name === codec.name).map((j) => ({ codec: j, js: true }))]);
  for (const { codec, js } of runs) {
    const name = js ? `${codec.name} (js)` : codec.name;
    for (const f of formats) {
      const items: Job['items'][number][] = [];
      tensors.forEach((t, i) => {
        if (t.floatFormat !== f || !codec.dtypes.includes(t.dtype)) return;
        // Context codecs need the tensor's stride; a tensor whose layout gives none is left out for SCC (fpack works without).
        const codecOptions = contextOptions(t);
        if (codec.name === 'scc' && codecOptions === undefined) return;
        items.push({ data: datas[i], dtype: t.dtype, options: codecOptions ?? { kind: t.kind } });
      });
      jobs.push({ label: f === undefined ? name : `${name} ${f}`, codec, items });
    }
  }
  // 8-bit floats through the 8-bit coder: APack over their bytes as uint8.
  const apack = wanted('apack') ? CODECS.find((c) => c.name === 'apack') : undefined;
  if (apack) {
    for (const f of formats.filter((x) => x === 'e4m3' || x === 'e5m2')) {
      const items = tensors.flatMap((t, i) => (t.floatFormat === f ? [{ data: datas[i], dtype: 'uint8' as Dtype }] : []));
      jobs.push({ label: `apack ${f} bytes as uint8`, codec: apack, items });
    }
    if (options.reference) {
      const ref = options.reference;
      const refTensors = spread(ref.tensors, options.maxBytes);
      jobs.push({ label: 'apack (8-bit reference set)', codec: apack, items: refTensors.filter((t) => apack.dtypes.includes(t.dtype)).map((t) => ({ data: readTensor(ref, t), dtype: t.dtype })) });
    }
  }
  const prepared: Prepared[] = [];
  for (const job of jobs) {
    options.onStep?.(job.label);
    const p = prepareJob(job, options.blockSize);
    if (p) prepared.push(p);
  }
  // zlib on the same blocks, as one more row of the same rounds (timed apart, it met another moment of a busy machine)
  options.onStep?.('zlib');
  const raws = datas.flatMap((d) => {
    const r: Uint8Array[] = [];
    for (let off = 0; off < d.length; off += options.blockSize) r.push(d.subarray(off, Math.min(d.length, off + options.blockSize)));
    return r;
  });
  const deflated: Uint8Array[] = raws.map((b) => deflateRawSync(b, { level: 1 }));
  prepared.push({
    label: 'zlib deflate-1 / inflate',
    bytes: corpusBytes,
    blocks: raws.length,
    footprint: deflated.reduce((s, d, i) => s + Math.min(d.length, raws[i].length), 0) / corpusBytes,
    encodeAll: () => {
      for (const b of raws) deflateRawSync(b, { level: 1 });
    },
    decodeAll: () => {
      for (const b of deflated) inflateRawSync(b);
    },
  });
  // Interleaved: every row is measured once per round, and its fastest round is reported.
  const clock = CLOCKS[options.clock ?? 'wall'];
  const best = prepared.map(() => ({ enc: 0, dec: 0 }));
  for (const p of prepared) {
    p.encodeAll(); // warm-up (JIT)
    p.decodeAll();
  }
  for (let r = 0; r < ROUNDS; r++) {
    prepared.forEach((p, i) => {
      best[i].enc = Math.max(best[i].enc, timeIt(clock, p.bytes, options.minSeconds / ROUNDS, p.encodeAll));
      best[i].dec = Math.max(best[i].dec, timeIt(clock, p.bytes, options.minSeconds / ROUNDS, p.decodeAll));
    });
  }
  prepared.forEach((p, i) => rows.push({ codec: p.label, encodeMBps: best[i].enc, decodeMBps: best[i].dec, footprint: p.footprint, blocks: p.blocks }));
  return {
    blockSize: options.blockSize,
    corpusBytes,
    tensors: tensors.length,
    rows,
    note:
      `single thread; table fitting excluded; codec and zlib rows interleaved, best of ${ROUNDS} rounds; MB = 10^6 raw bytes per ${options.clock === 'cpu' ? 'CPU second of the process' : 'second'}; "(js)": the JS block coders alone; ` +
      (wasmOffReason === undefined ? 'the others through WebAssembly where the codec has it' : `WebAssembly off (${wasmOffReason}): every row is JS`),
  };
}
