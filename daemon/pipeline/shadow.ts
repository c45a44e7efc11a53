import type { CodecName } from '../codecs/codec.ts';
import { codecByName } from '../codecs/index.ts';
import type { ShadowSpec } from '../lanes/batch-format.ts';
import type { ShadowStats, WireCodec } from '../../protocol/types.ts';
import { PendingCalibration, fitsFromData, needsStride, usesContext } from './calibration.ts';
import type { Region } from './region.ts';

/** One shadow codec of a region: its model (once it has one) and what its sampled blocks would store. */
interface ShadowEntry {
  readonly codec: CodecName;
  /** Position in the daemon's --shadow list (the lanes report by it). */
  readonly slot: number;
  status: 'ok' | 'pending' | 'skipped';
  reason?: string;
  params?: Uint8Array;
  /** Uses the region's own table once it has one (same codec, so the same calibration). */
  readonly ownTable: boolean;
  /** Payload per sampled block index. */
  readonly sampled: Map<number, number>;
  sampledRaw: number;
  sampledStored: number;
}

/**
 * The shadow codecs of one region (--shadow): which can code it, their
 * tables, and the sizes the lanes report for sampled blocks. A codec fitted
 * from data gets its table the way the region would: the region's own
 * (when it is the region's codec), else fitted to the same window of the
 * first bytes written (calibration.ts), so figures match a region declared
 * with that codec.
 */
export class RegionShadow {
  readonly entries: ShadowEntry[];
  /** Shadow codecs fitted from data that wait for the first bytes written. */
  pending?: PendingCalibration;

  constructor(
    readonly region: Region,
    codecs: readonly string[],
    readonly sample: number,
  ) {
    this.entries = codecs.map((name, slot) => {
      const codec = codecByName(name);
      const e: ShadowEntry = { codec: codec.name, slot, status: 'ok', ownTable: codec.name === region.codec && fitsFromData(codec), sampled: new Map(), sampledRaw: 0, sampledStored: 0 };
      if (!codec.dtypes.includes(region.dtype)) {
        e.status = 'skipped';
        e.reason = `${codec.name} does not support dtype ${region.dtype} (it supports ${codec.dtypes.join(', ')})`;
      } else if (needsStride(codec) && region.stride === undefined) {
        e.status = 'skipped';
        e.reason = `${codec.name} needs the region's stride: declare it with "stride" or "shape" and "layout"`;
      } else if (e.ownTable) e.status = 'pending';
      else if (fitsFromData(codec)) e.status = 'pending';
      else e.params = codec.fit(new Uint8Array(0), region.dtype).params;
      return e;
    });
    if (this.entries.some((e) => e.status === 'pending' && !e.ownTable)) {
      const context = this.entries.some((e) => e.status === 'pending' && !e.ownTable && usesContext(codecByName(e.codec))) ? { stride: region.stride, kind: region.kind } : undefined;
      this.pending = new PendingCalibration(region.dtype, region.size, context);
    }
  }

  /** The region's own table is in: a shadow of the same codec uses it. */
  regionTable(params: Uint8Array): void {
    for (const e of this.entries) {
      if (!e.ownTable || e.status === 'skipped') continue;
      e.params = params;
      e.status = 'ok';
    }
  }

  /** Fit the pending shadow tables to what the window saw (once). Returns false when there was nothing to fit. */
  fitPending(): boolean {
    const p = this.pending;
    if (!p || p.seen === 0) return false;
    this.pending = undefined;
    for (const e of this.entries) {
      if (e.status !== 'pending' || e.ownTable) continue;
      try {
        e.params = p.fit(codecByName(e.codec));
        e.status = 'ok';
      } catch (err) {
        e.status = 'skipped';
        e.reason = `fitting ${e.codec} to the first ${p.seen} bytes written failed: ${(err as Error).message}`;
      }
    }
    return true;
  }

  /** What the lanes need: the codecs that have a model now. */
  spec(): ShadowSpec | undefined {
    const models = this.entries.filter((e) => e.status === 'ok' && e.params).map((e) => ({ slot: e.slot, codec: e.codec, params: e.params as Uint8Array }));
    return models.length ? { sample: this.sample, models } : undefined;
  }

  /** A lane coded sampled block `index` with shadow `slot`: it would store `payload` bytes. */
  record(index: number, blockLen: number, slot: number, payload: number): void {
    const e = this.entries[slot];
    if (!e) return;
    const before = e.sampled.get(index);
    if (before === undefined) e.sampledRaw += blockLen;
    else e.sampledStored -= before;
    e.sampled.set(index, payload);
    e.sampledStored += payload;
  }

  stats(rawBytesStored: number): ShadowStats[] {
    return this.entries.map((e) => shadowFigures(e.codec, e.status, e.sampled.size, e.sampledRaw, e.sampledStored, rawBytesStored, e.reason));
  }
}

/** ShadowStats from sums (also used for totals). */
export function shadowFigures(codec: WireCodec, status: ShadowStats['status'], blocks: number, raw: number, stored: number, rawBytesStored: number, reason?: string): ShadowStats {
  return {
    codec,
    status,
    ...(reason === undefined ? {} : { reason }),
    sampledBlocks: blocks,
    sampledRawBytes: raw,
    sampledStoredBytes: stored,
    ratio: stored > 0 ? raw / stored : 1,
    estimatedStoredBytes: raw > 0 ? Math.round((rawBytesStored * stored) / raw) : 0,
  };
}

/** Totals per codec over regions whose shadow status is ok. */
export function shadowTotals(codecs: readonly WireCodec[], regions: readonly { rawBytesStored: number; shadow?: readonly ShadowStats[] }[]): ShadowStats[] {
  return codecs.map((codec) => {
    let blocks = 0;
    let raw = 0;
    let stored = 0;
    let est = 0;
    for (const r of regions) {
      const s = r.shadow?.find((x) => x.codec === codec);
      if (!s || s.status !== 'ok') continue;
      blocks += s.sampledBlocks;
      raw += s.sampledRawBytes;
      stored += s.sampledStoredBytes;
      est += s.estimatedStoredBytes;
    }
    return { ...shadowFigures(codec, 'ok', blocks, raw, stored, 0), estimatedStoredBytes: est };
  });
}
