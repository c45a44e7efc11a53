import { performance } from 'node:perf_hooks';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CodecModel } from '../codecs/codec.ts';
import { CODECS, JS_CODECS } from '../codecs/index.ts';
import { wasmOffReason } from '../codecs/wasm/instance.ts';
import { contextOptions } from './context-options.ts';
import { type Dataset, readTensor } from '../dataset/manifest.ts';

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

/** Repeat `pass` until at least `minSeconds` have passed; returns MB/s over `bytesPerPass`. */
function timeIt(bytesPerPass: number, minSeconds: number, pass: () => void): number {
  let passes = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = (performance.now() - t0) / 1000;
  } while (elapsed < minSeconds);
  return (bytesPerPass * passes) / elapsed / 1e6;
}

/**
 * Measures every registered codec (model fitting excluded: a shim loads its
 * tables before data flows) and Node's zlib deflate level 1 / inflate on the
 * same blocks, one after the other on the calling thread.
 */
export function runSpeedBench(
  ds: Dataset,
  options: { blockSize: number; minSeconds: number; maxBytes?: number; onStep?: (what: string) => void },
): SpeedReport {
  // The corpus: every tensor, or an evenly spread subset up to maxBytes.
  let tensors = ds.tensors;
  const total = tensors.reduce((s, t) => s + t.bytes, 0);
  if (options.maxBytes !== undefined && total > options.maxBytes) {
    const keep = Math.max(1, Math.round((tensors.length * options.maxBytes) / total));
    const step = tensors.length / keep;
    tensors = Array.from({ length: keep }, (_, i) => ds.tensors[Math.floor(i * step)]);
  }
  const datas = tensors.map((t) => readTensor(ds, t));
  const corpusBytes = datas.reduce((s, d) => s + d.length, 0);
  const rows: SpeedRow[] = [];

  // Each codec, then its JS coders alone where its default is wasm ("apack (js)"), so one run measures the gain.
  const runs = CODECS.flatMap((codec) => [
    { codec, label: codec.name },
    ...JS_CODECS.filter((js) => js.name === codec.name).map((js) => ({ codec: js, label: `${js.name} (js)` })),
  ]);
  for (const { codec, label } of runs) {
    options.onStep?.(label);
    const blocks: Block[] = [];
    tensors.forEach((t, i) => {
      if (!codec.dtypes.includes(t.dtype)) return;
      // Context codecs need the tensor's stride; a tensor whose layout gives none is left out for them.
      const codecOptions = contextOptions(t);
      if (codec.name === 'scc' && codecOptions === undefined) return;
      const model = codec.fit(datas[i], t.dtype, codecOptions);
      for (let off = 0; off < datas[i].length; off += options.blockSize) {
        blocks.push({ raw: datas[i].subarray(off, Math.min(datas[i].length, off + options.blockSize)), model, coded: new Uint8Array(0), storedRaw: false });
      }
    });
    if (blocks.length === 0) continue;
    const bytes = blocks.reduce((s, b) => s + b.raw.length, 0);
    const scratch = new Uint8Array(Math.max(...blocks.map((b) => b.model.maxEncodedBytes(options.blockSize))));
    const encodeAll = (): void => {
      for (const b of blocks) {
        const n = b.model.encodeBlock(b.raw, scratch);
        if (n >= b.raw.length) b.storedRaw = true;
      }
    };
    encodeAll(); // warm-up (JIT)
    const encodeMBps = timeIt(bytes, options.minSeconds, encodeAll);
    let stored = 0;
    for (const b of blocks) {
      const n = b.model.encodeBlock(b.raw, scratch);
      b.storedRaw = n >= b.raw.length;
      b.coded = b.storedRaw ? b.raw : scratch.slice(0, n);
      stored += b.coded.length;
    }
    const out = new Uint8Array(options.blockSize);
    const decodeAll = (): void => {
      for (const b of blocks) {
        const dst = out.subarray(0, b.raw.length);
        if (b.storedRaw) dst.set(b.coded);
        else b.model.decodeBlock(b.coded, dst);
      }
    };
    decodeAll();
    const decodeMBps = timeIt(bytes, options.minSeconds, decodeAll);
    // The figures only count if the codec really round-trips.
    for (const b of blocks) {
      const dst = out.subarray(0, b.raw.length);
      if (b.storedRaw) dst.set(b.coded);
      else b.model.decodeBlock(b.coded, dst);
      if (!dst.every((v, i) => v === b.raw[i])) throw new Error(`${label} did not round-trip a block`);
    }
    rows.push({ codec: label, encodeMBps, decodeMBps, footprint: stored / bytes, blocks: blocks.length });
  }

  options.onStep?.('zlib');
  const raws = datas.flatMap((d) => {
    const r: Uint8Array[] = [];
    for (let off = 0; off < d.length; off += options.blockSize) r.push(d.subarray(off, Math.min(d.length, off + options.blockSize)));
    return r;
  });
  const deflated: Uint8Array[] = raws.map((b) => deflateRawSync(b, { level: 1 }));
  const encodeMBps = timeIt(corpusBytes, options.minSeconds, () => {
    for (const b of raws) deflateRawSync(b, { level: 1 });
  });
  const decodeMBps = timeIt(corpusBytes, options.minSeconds, () => {
    for (const b of deflated) inflateRawSync(b);
  });
  rows.push({
    codec: 'zlib deflate-1 / inflate',
    encodeMBps,
    decodeMBps,
    footprint: deflated.reduce((s, d, i) => s + Math.min(d.length, raws[i].length), 0) / corpusBytes,
    blocks: raws.length,
  });
  return {
    blockSize: options.blockSize,
    corpusBytes,
    tensors: tensors.length,
    rows,
    note:
      'single thread; table fitting excluded; MB = 10^6 raw bytes per second; "(js)": the JS block coders alone; ' +
      (wasmOffReason === undefined ? 'the others through WebAssembly where the codec has it' : `WebAssembly off (${wasmOffReason}): every row is JS`),
  };
}
