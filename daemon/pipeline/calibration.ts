import type { Codec, CodecModel, CodecOptions } from '../codecs/codec.ts';
import { dtypeBits, type Dtype } from '../codecs/dtype.ts';
import { apackModelFromHistogram } from '../codecs/apack/index.ts';
import { sccModelFromHistogram, sccParamsOf } from '../codecs/scc/index.ts';
import type { Calibration, RegionKind } from '../../protocol/types.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';

/**
 * How a region gets its codec parameters: a table given by the client, a
 * histogram given by the client, the first bytes written to the region
 * (see PendingCalibration), or none needed.
 */
export interface ModelPlan {
  readonly calibration: Calibration;
  /** Serialised parameters now, or undefined when they come from the first bytes written. */
  readonly params?: Uint8Array;
}

/** What a context codec needs besides the data: the region's stride and kind. */
export interface ContextOptions {
  /** Always set for SCC; fpack works without (it then uses x[i-1]). */
  readonly stride?: number;
  readonly kind: RegionKind;
}

/** Codecs whose parameters depend on the data. The others get theirs from an empty fit. */
export function fitsFromData(codec: Codec): boolean {
  return codec.name === 'apack' || usesContext(codec);
}

/**
 * Codecs fitted to the context statistics of the data (neighbours at the
 * region's stride), not to its value histogram alone: they need a stride,
 * and calibration from written data keeps the bytes, not just their counts.
 */
export function usesContext(codec: Codec): boolean {
  return codec.name === 'scc' || codec.name === 'fpack';
}

/** Context codecs that cannot work without the region's stride (fpack falls back to x[i-1]). */
export function needsStride(codec: Codec): boolean {
  return codec.name === 'scc';
}

export function planModel(codec: Codec, dtype: Dtype, table?: Uint8Array, histogram?: readonly number[], context?: ContextOptions): ModelPlan {
  if (table !== undefined) {
    let model: CodecModel;
    try {
      model = codec.load(table, dtype);
    } catch (e) {
      throw new ProtocolError('E_BAD_TABLE', `${codec.name} rejects the table: ${(e as Error).message}`);
    }
    // An SCC table holds its own stride: it must be the region's, or stats would report one that does not code.
    if (codec.name === 'scc' && context) {
      const held = sccParamsOf(model).stride;
      if (held !== context.stride) throw new ProtocolError('E_BAD_TABLE', `the ${codec.name} table holds stride ${held}, the region's stride is ${context.stride}`);
    }
    return { calibration: 'table', params: model.params };
  }
  if (histogram !== undefined) {
    // Only a data-fitted codec uses one; elsewhere "calibration: histogram" would claim what did not happen.
    if (!fitsFromData(codec)) throw new ProtocolError('E_BAD_FIELD', `field "histogram" is for codecs fitted from data (apack, scc); ${codec.name} has fixed parameters`);
    // A byte histogram says nothing about float fields: fpack fits from data or takes a table.
    if (codec.name === 'fpack') throw new ProtocolError('E_BAD_FIELD', 'field "histogram" does not apply to fpack: it fits from the first bytes written, or takes a "table"');
    return { calibration: 'histogram', params: fitHistogram(codec, dtype, histogram, context) };
  }
  if (fitsFromData(codec)) return { calibration: 'first-write' };
  return { calibration: 'none', params: codec.fit(new Uint8Array(0), dtype).params };
}

/** Bytes a region calibrated from data must see before its table is fitted (capped by the region's size). */
export const CALIBRATION_BYTES = 65536;

/**
 * A region waiting for its table: the value histogram of everything written
 * so far, and the blocks those writes touched (they are held raw until the
 * table exists, then coded again). Bounded: 256 counts, and at most one
 * block index per byte of the first CALIBRATION_BYTES written.
 *
 * A context codec (SCC) is fitted to the bytes themselves, so for it the
 * pending region also keeps the first `need` bytes written, with their
 * offsets in the region (at most `need` bytes in all: a write past the
 * budget keeps only its head).
 */
export class PendingCalibration {
  readonly hist: Float64Array;
  /** Bytes seen (zero-length writes add nothing). */
  seen = 0;
  /** Bytes to see before fitting: min(region size, CALIBRATION_BYTES). */
  readonly need: number;
  /** Blocks written while pending: stored raw, to be coded once the table exists. */
  readonly touched = new Set<number>();
  /** Context codecs: the written pieces kept, in arrival order. */
  private readonly pieces: { readonly at: number; readonly bytes: Uint8Array }[] = [];
  private kept = 0;

  constructor(
    readonly dtype: Dtype,
    regionSize: number,
    /** Set for a context codec: keep the bytes written, and fit with these options. */
    readonly context?: ContextOptions,
  ) {
    this.hist = new Float64Array(dtypeBits(dtype) === 4 ? 16 : 256);
    this.need = Math.max(1, Math.min(regionSize, CALIBRATION_BYTES));
  }

  /** Count one write's values (4-bit dtypes: two per byte); `at` is its offset in the region. */
  add(data: Uint8Array, at = 0): void {
    const h = this.hist;
    if (h.length === 16) {
      for (let i = 0; i < data.length; i++) {
        h[data[i] & 15]++;
        h[data[i] >>> 4]++;
      }
    } else for (let i = 0; i < data.length; i++) h[data[i]]++;
    this.seen += data.length;
    if (this.context && this.kept < this.need && data.length > 0) {
      // A copy: the write's buffer is a view into a frame that is reused.
      const take = Math.min(data.length, this.need - this.kept);
      this.pieces.push({ at, bytes: data.slice(0, take) });
      this.kept += take;
    }
  }

  get ready(): boolean {
    return this.seen >= this.need;
  }

  /** Bytes kept for a context codec (0 for the others). */
  get keptBytes(): number {
    return this.kept;
  }

  /**
   * Context codecs' tables fitted ahead, off the main thread (engine.ts
   * fitAhead), by codec, with the bytes each was fitted to: fit() takes one
   * when they are the bytes it would fit, so the table and the point in the
   * request stream where it is installed are those of fitting here and now.
   */
  readonly prefits = new Map<string, { readonly sample: Uint8Array; readonly params: Uint8Array | undefined }>();

  /** Is there a table of `codec` fitted ahead to exactly these bytes (or a fit of them that failed)? */
  fittedAhead(codec: string, sample: Uint8Array): boolean {
    const ahead = this.prefits.get(codec);
    return ahead !== undefined && Buffer.compare(ahead.sample, sample) === 0;
  }

  /** A context codec's fit options: the region's stride and kind. */
  get fitOptions(): CodecOptions {
    if (!this.context) throw new Error('fitOptions: not a context codec');
    return { stride: this.context.stride, kind: this.context.kind };
  }

  /** What fit() would be given after these writes too ({at, bytes} in order), this pending state unchanged. */
  sampleAfter(writes: readonly { readonly at: number; readonly bytes: Uint8Array }[]): Uint8Array {
    // need <= CALIBRATION_BYTES, so a region of `need` bytes needs as many
    const what = new PendingCalibration(this.dtype, this.need, this.context);
    what.seen = this.seen;
    what.kept = this.kept;
    what.pieces.push(...this.pieces);
    for (const w of writes) what.add(w.bytes, w.at);
    return what.sample();
  }

  /** The table fitted to everything seen (once, when ready). */
  fit(codec: Codec): Uint8Array {
    if (this.context) {
      const sample = this.sample();
      const params = this.fittedAhead(codec.name, sample) ? this.prefits.get(codec.name)?.params : undefined;
      if (params) return params;
      // no table fitted ahead for these bytes (or that fit failed: this one says why)
      return codec.fit(sample, this.dtype, this.fitOptions).params;
    }
    return fitHistogram(codec, this.dtype, Array.from(this.hist));
  }

  /**
   * The kept bytes as the region holds them: in address order, a later write
   * replacing an earlier one where they overlap, the separate runs of written
   * addresses laid end to end. Writes of a tensor from its start (the usual
   * case) give exactly its first `need` bytes, so the contexts at the stride
   * are the tensor's own.
   */
  sample(): Uint8Array {
    if (this.pieces.length === 1) return this.pieces[0].bytes;
    // The runs of addresses covered: intervals merged in address order.
    const order = [...this.pieces].sort((a, b) => a.at - b.at);
    const runs: { start: number; end: number; out: number }[] = [];
    let total = 0;
    for (const p of order) {
      const end = p.at + p.bytes.length;
      const last = runs[runs.length - 1];
      if (last && p.at <= last.end) {
        if (end > last.end) {
          total += end - last.end;
          last.end = end;
        }
      } else {
        runs.push({ start: p.at, end, out: total });
        total += end - p.at;
      }
    }
    const out = new Uint8Array(total);
    // Pieces in arrival order, so later writes overwrite earlier ones.
    for (const p of this.pieces) {
      let lo = 0;
      let hi = runs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (runs[mid].start <= p.at) lo = mid;
        else hi = mid - 1;
      }
      const run = runs[lo];
      out.set(p.bytes, run.out + (p.at - run.start));
    }
    return out;
  }
}

function fitHistogram(codec: Codec, dtype: Dtype, histogram: readonly number[], context?: ContextOptions): Uint8Array {
  const bins = dtypeBits(dtype) === 4 ? 16 : 256;
  // One count per value of the dtype: 16 for 4-bit dtypes (APack models nibbles), 256 for 8-bit.
  if (histogram.length !== bins) throw new ProtocolError('E_BAD_TABLE', `a ${dtype} histogram has ${bins} counts, got ${histogram.length}`);
  let total = 0;
  for (const c of histogram) {
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) throw new ProtocolError('E_BAD_TABLE', 'histogram counts must be finite non-negative numbers');
    total += c;
  }
  if (total <= 0) throw new ProtocolError('E_BAD_TABLE', 'histogram is all zero');
  if (usesContext(codec)) {
    // A histogram says nothing about neighbours: the codec builds a model without context statistics (adaptation does the rest).
    if (context?.stride === undefined) throw new ProtocolError('E_BAD_FIELD', `codec ${codec.name} needs the region's stride`);
    try {
      return sccModelFromHistogram(histogram, dtype, { stride: context.stride!, kind: context.kind }).params;
    } catch (e) {
      throw new ProtocolError('E_BAD_TABLE', `${codec.name} cannot fit the histogram: ${(e as Error).message}`);
    }
  }
  try {
    if (codec.name === 'apack') return apackTableFor(histogram, dtype);
    return codec.fit(sampleFromHistogram(histogram, total, dtype), dtype).params;
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError('E_BAD_TABLE', `${codec.name} cannot fit the histogram: ${(e as Error).message}`);
  }
}

/** Distinct APack fits remembered (a key is at most 256 counts, a table ~40 bytes: well under 1 MiB). */
export const APACK_FIT_MEMO = 256;
/** APack tables by dtype and histogram, least recently used first. */
const apackFits = new Map<string, Uint8Array>();
/** Fits done and fits answered from the memo (tests read these). */
export const apackFitCounts = { fitted: 0, remembered: 0 };

/**
 * The APack table of a histogram, fitted once per distinct histogram: the
 * search is a pure function of the counts (a few ms of the main thread per
 * table, and a model's weights, written again each inference or replay,
 * have the same ones). A copy each time: the caller owns its params.
 */
function apackTableFor(histogram: readonly number[], dtype: Dtype): Uint8Array {
  const key = `${dtype}:${histogram.join(',')}`;
  const known = apackFits.get(key);
  if (known) {
    apackFits.delete(key);
    apackFits.set(key, known);
    apackFitCounts.remembered++;
    return known.slice();
  }
  const params = apackModelFromHistogram(histogram, dtype).params;
  apackFitCounts.fitted++;
  apackFits.set(key, params.slice());
  if (apackFits.size > APACK_FIT_MEMO) apackFits.delete(apackFits.keys().next().value as string);
  return params;
}

/** Bytes whose value histogram is proportional to `histogram` (every non-zero bin kept). */
function sampleFromHistogram(histogram: readonly number[], total: number, dtype: Dtype): Uint8Array {
  const target = 1 << 18;
  const counts = histogram.map((c) => (c > 0 ? Math.max(1, Math.round((c / total) * target)) : 0));
  const n = counts.reduce((a, b) => a + b, 0);
  if (histogram.length === 16) {
    // 4-bit values: two per byte, low nibble first.
    const out = new Uint8Array(Math.ceil(n / 2));
    let i = 0;
    counts.forEach((c, v) => {
      for (let k = 0; k < c; k++, i++) out[i >>> 1] |= v << ((i & 1) << 2);
    });
    return out;
  }
  if (dtypeBits(dtype) === 16) throw new ProtocolError('E_BAD_TABLE', 'histograms are for 8- and 4-bit dtypes');
  const out = new Uint8Array(n);
  let i = 0;
  counts.forEach((c, v) => {
    out.fill(v, i, i + c);
    i += c;
  });
  return out;
}
