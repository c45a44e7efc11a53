import { entropyBits, histogram } from '../codecs/apack/histogram.ts';
import type { CodecName, CodecOptions } from '../codecs/codec.ts';
import { encodeContainer } from '../codecs/container.ts';
import { CODECS } from '../codecs/index.ts';
import { contextOptions } from './context-options.ts';
import { type Dataset, type TensorEntry, readTensor, tensorClass } from '../dataset/manifest.ts';
import { nhwcToChannelMajor } from './layout.ts';
import { brotliBlockedBytes, zlibBlockedBytes, zstdBlockedBytes } from './reference.ts';

/** One measured column of the ratio benchmark. */
export interface RatioColumn {
  readonly id: string;
  readonly label: string;
  /** Stored bytes for this tensor, or undefined when the column does not apply. */
  measure(t: TensorEntry, data: Uint8Array, blockSize: number): number | undefined;
}

const containerBytes = (data: Uint8Array, t: TensorEntry, codec: CodecName, blockSize: number, codecOptions?: CodecOptions): number =>
  encodeContainer(data, { codec, dtype: t.dtype, blockSize, codecOptions }).length;

/** A codec's footprint where it takes the tensor's dtype (undefined elsewhere: the column does not apply). */
const ifTakes = (codec: CodecName, t: TensorEntry, f: () => number): number | undefined =>
  CODECS.some((c) => c.name === codec && c.dtypes.includes(t.dtype)) ? f() : undefined;

/** 8-bit floats through the 8-bit coders: their bytes read as uint8. */
const fp8AsBytes = (t: TensorEntry): boolean => t.dtype === 'float8_e4m3' || t.dtype === 'float8_e5m2';

/** Order-0 entropy of the bytes, in bits per byte (APack's own histogram and entropy). */
export function order0EntropyBits(data: Uint8Array): number {
  return data.length === 0 ? 0 : entropyBits(histogram(data, 'uint8')) / data.length;
}

export function defaultColumns(options: { zlib?: boolean; brotli?: boolean; zstd?: boolean } = {}): RatioColumn[] {
  const names = new Set(CODECS.map((c) => c.name));
  const cols: RatioColumn[] = [];
  cols.push({ id: 'h0', label: 'order-0 bound', measure: (_t, d) => (order0EntropyBits(d) * d.length) / 8 });
  if (names.has('apack')) {
    cols.push({ id: 'apack', label: 'APack (DP table)', measure: (t, d, bs) => ifTakes('apack', t, () => containerBytes(d, t, 'apack', bs, { apackSearch: 'optimal' })) });
    cols.push({ id: 'apack-heuristic', label: 'APack (paper heuristic)', measure: (t, d, bs) => ifTakes('apack', t, () => containerBytes(d, t, 'apack', bs, { apackSearch: 'heuristic' })) });
    cols.push({
      id: 'apack-u8',
      label: 'APack over the fp8 bytes as uint8',
      measure: (t, d, bs) => (fp8AsBytes(t) ? encodeContainer(d, { codec: 'apack', dtype: 'uint8', blockSize: bs }).length : undefined),
    });
  }
  if (names.has('ebpc')) {
    cols.push({ id: 'ebpc', label: 'EBPC (stored layout)', measure: (t, d, bs) => ifTakes('ebpc', t, () => containerBytes(d, t, 'ebpc', bs)) });
    cols.push({
      id: 'ebpc-chw',
      label: 'EBPC (channel-major)',
      measure: (t, d, bs) => (t.kind === 'activation' && t.layout.startsWith('NHWC') ? ifTakes('ebpc', t, () => containerBytes(nhwcToChannelMajor(d, t.shape), t, 'ebpc', bs)) : undefined),
    });
  }
  cols.push({ id: 'zvc', label: 'ZVC', measure: (t, d, bs) => containerBytes(d, t, 'zvc', bs) });
  if (names.has('scc')) {
    cols.push({
      id: 'scc',
      label: 'SCC context codec (stride from shape/layout)',
      measure: (t, d, bs) => {
        const o = contextOptions(t);
        return o === undefined ? undefined : ifTakes('scc', t, () => containerBytes(d, t, 'scc', bs, o));
      },
    });
    cols.push({
      id: 'scc-u8',
      label: 'SCC over the fp8 bytes as uint8',
      measure: (t, d, bs) => {
        const o = contextOptions(t);
        return o === undefined || !fp8AsBytes(t) ? undefined : encodeContainer(d, { codec: 'scc', dtype: 'uint8', blockSize: bs, codecOptions: o }).length;
      },
    });
  }
  if (names.has('fpack')) {
    // The stride when the layout gives one; fpack works without it too.
    const fpackOptions = (t: TensorEntry, mode: CodecOptions['fpackMode']): CodecOptions => ({ ...(contextOptions(t) ?? { kind: t.kind }), fpackMode: mode });
    cols.push({ id: 'fpack', label: 'fpack exponent-aware float codec (its smallest mode)', measure: (t, d, bs) => ifTakes('fpack', t, () => containerBytes(d, t, 'fpack', bs, fpackOptions(t, 'auto'))) });
    cols.push({
      id: 'fpack-split',
      label: 'fpack split mode only (fp8: exponent, then sign + mantissa)',
      measure: (t, d, bs) => (fp8AsBytes(t) ? containerBytes(d, t, 'fpack', bs, fpackOptions(t, 'split')) : undefined),
    });
  }
  if (options.zlib !== false) cols.push({ id: 'zlib-9', label: 'zlib level 9', measure: (_t, d, bs) => zlibBlockedBytes(d, bs, 9) });
  if (options.brotli !== false) cols.push({ id: 'brotli-11', label: 'brotli quality 11', measure: (_t, d, bs) => brotliBlockedBytes(d, bs, 11) });
  if (options.zstd === true) cols.push({ id: 'zstd-19', label: 'zstd -19 --no-check (the zstd tool)', measure: (_t, d, bs) => zstdBlockedBytes(d, bs, 19) });
  return cols;
}

export interface TensorRow {
  readonly file: string;
  readonly model: string;
  readonly class: string;
  readonly kind: string;
  /** Float data sets: the format the tensor was converted to. */
  readonly format?: string;
  readonly bytes: number;
  /** Footprint (stored / raw) per column id. */
  readonly footprint: Record<string, number>;
}

export interface GroupSummary {
  readonly group: string;
  readonly tensors: number;
  readonly bytes: number;
  /** Byte-weighted footprint (sum stored / sum raw) per column. */
  readonly weighted: Record<string, number>;
  /** Unweighted mean of per-tensor footprints per column. */
  readonly mean: Record<string, number>;
}

export interface RatioReport {
  readonly blockSize: number;
  readonly columns: { id: string; label: string }[];
  readonly tensors: TensorRow[];
  readonly classes: GroupSummary[];
  readonly kinds: GroupSummary[];
  /** The APack paper's published averages, for comparison. */
  readonly paper: { weights: number; activations: number };
}

export function summarise(group: string, rows: readonly TensorRow[], columns: readonly RatioColumn[]): GroupSummary {
  const weighted: Record<string, number> = {};
  const mean: Record<string, number> = {};
  for (const c of columns) {
    const applicable = rows.filter((r) => r.footprint[c.id] !== undefined);
    if (applicable.length === 0) continue;
    const raw = applicable.reduce((s, r) => s + r.bytes, 0);
    weighted[c.id] = applicable.reduce((s, r) => s + r.footprint[c.id] * r.bytes, 0) / raw;
    mean[c.id] = applicable.reduce((s, r) => s + r.footprint[c.id], 0) / applicable.length;
  }
  return { group, tensors: rows.length, bytes: rows.reduce((s, r) => s + r.bytes, 0), weighted, mean };
}

/**
 * An evenly spread subset of the tensors of at most maxBytes (per float
 * format for a float set), in manifest order; all of them without a cap.
 */
export function spreadSubset(tensors: readonly TensorEntry[], maxBytes?: number): TensorEntry[] {
  const formats = [...new Set(tensors.map((t) => t.floatFormat))];
  return formats.flatMap((f) => {
    const list = tensors.filter((t) => t.floatFormat === f);
    const total = list.reduce((s, t) => s + t.bytes, 0);
    if (maxBytes === undefined || total <= maxBytes) return list;
    const keep = Math.max(1, Math.round((list.length * maxBytes) / total));
    const step = list.length / keep;
    return Array.from({ length: keep }, (_, i) => list[Math.floor(i * step)]);
  });
}

export function runRatioBench(
  ds: Dataset,
  options: { blockSize: number; columns: RatioColumn[]; maxBytes?: number; onTensor?: (done: number, total: number, t: TensorEntry) => void },
): RatioReport {
  const rows: TensorRow[] = [];
  const tensors = spreadSubset(ds.tensors, options.maxBytes);
  tensors.forEach((t, i) => {
    const data = readTensor(ds, t);
    const footprint: Record<string, number> = {};
    for (const c of options.columns) {
      const stored = c.measure(t, data, options.blockSize);
      if (stored !== undefined) footprint[c.id] = data.length === 0 ? 1 : stored / data.length;
    }
    rows.push({ file: t.file, model: t.model, class: tensorClass(t), kind: t.kind, ...(t.floatFormat ? { format: t.floatFormat } : {}), bytes: data.length, footprint });
    options.onTensor?.(i + 1, tensors.length, t);
  });
  const groupBy = (key: (r: TensorRow) => string): GroupSummary[] => {
    const groups = new Map<string, TensorRow[]>();
    for (const r of rows) {
      const k = key(r);
      const g = groups.get(k);
      if (g) g.push(r);
      else groups.set(k, [r]);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([g, rs]) => summarise(g, rs, options.columns));
  };
  return {
    blockSize: options.blockSize,
    columns: options.columns.map((c) => ({ id: c.id, label: c.label })),
    tensors: rows,
    classes: groupBy((r) => r.class),
    kinds: groupBy((r) => `${r.format ? `${r.format} ` : ''}${r.kind === 'weight' ? 'weights' : 'activations'}`),
    paper: { weights: 0.6, activations: 0.48 },
  };
}
