import { stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { HeaderRecord, RegionRecord } from './format.ts';
import { traceReadError } from './errors.ts';
import { readTrace } from './reader.ts';
import { findRegion } from './regions.ts';

export interface TraceInfo {
  readonly file: string;
  readonly fileBytes: number;
  readonly header: HeaderRecord;
  readonly regions: readonly RegionRecord[];
  readonly ops: { write: number; read: number; fence: number; free: number };
  readonly writeBytes: number;
  readonly readBytes: number;
  readonly readsWithCrc: number;
  readonly connections: number;
  readonly firstT: number;
  readonly lastT: number;
  /** Ops whose t is below the previous op's t on the same connection. */
  readonly backwardsT: number;
  /** Writes and reads whose bytes lie outside every region live at that point (declared, not yet freed). */
  readonly outsideRegions: number;
  /** Regions declared while a live one had the same name or overlapping bytes (protocol/trace.md: one namespace, one address space). */
  readonly regionConflicts: number;
  /** Whether the optional end record was there, last, and agreed with the counts. */
  readonly endRecord: 'absent' | 'agrees' | 'disagrees';
  /** CRC-32 over all write data, a fingerprint to compare traces. */
  readonly writeDataCrc: number;
}

/** Stream a trace once and summarise it (constant memory but the region list). */
export async function traceInfo(file: string): Promise<TraceInfo> {
  let fileBytes: number;
  try {
    fileBytes = (await stat(file)).size;
  } catch (e) {
    throw traceReadError(file, e);
  }
  let header: HeaderRecord | undefined;
  const regions: RegionRecord[] = [];
  /** The live regions, by base. */
  let sorted: RegionRecord[] = [];
  let regionConflicts = 0;
  let afterEnd = 0;
  const ops = { write: 0, read: 0, fence: 0, free: 0 };
  let writeBytes = 0;
  let readBytes = 0;
  let readsWithCrc = 0;
  const lastTOf = new Map<number, number>();
  let firstT = Number.POSITIVE_INFINITY;
  let lastT = 0;
  let backwardsT = 0;
  let outsideRegions = 0;
  let endRecord: TraceInfo['endRecord'] = 'absent';
  let writeDataCrc = 0;
  for await (const rec of readTrace(file)) {
    if (endRecord !== 'absent') afterEnd++;
    switch (rec.type) {
      case 'header':
        header = rec;
        break;
      case 'region':
        regions.push(rec);
        if (sorted.some((r) => r.name === rec.name || (r.base < rec.base + rec.size && rec.base < r.base + r.size))) regionConflicts++;
        sorted = [...sorted, rec].sort((a, b) => a.base - b.base);
        break;
      case 'op': {
        ops[rec.op]++;
        const conn = rec.conn ?? 0;
        const prev = lastTOf.get(conn);
        if (prev !== undefined && rec.t < prev) backwardsT++;
        lastTOf.set(conn, rec.t);
        if (rec.t < firstT) firstT = rec.t;
        if (rec.t > lastT) lastT = rec.t;
        if (rec.op === 'write' || rec.op === 'read') {
          const r = findRegion(sorted, rec.addr);
          if (!r || rec.addr + rec.len > r.base + r.size) outsideRegions++;
        } else if (rec.op === 'free') sorted = sorted.filter((r) => r.name !== rec.name);
        if (rec.op === 'write') {
          writeBytes += rec.len;
          writeDataCrc = crc32(rec.data, writeDataCrc);
        } else if (rec.op === 'read') {
          readBytes += rec.len;
          if (rec.crc !== undefined) readsWithCrc++;
        }
        break;
      }
      case 'end': {
        const n = ops.write + ops.read + ops.fence + ops.free;
        endRecord = rec.ops === n && rec.writeBytes === writeBytes && rec.readBytes === readBytes ? 'agrees' : 'disagrees';
        break;
      }
    }
  }
  return {
    file,
    fileBytes,
    header: header!,
    regions,
    ops,
    writeBytes,
    readBytes,
    readsWithCrc,
    connections: lastTOf.size,
    firstT: Number.isFinite(firstT) ? firstT : 0,
    lastT,
    backwardsT,
    outsideRegions,
    regionConflicts,
    // An end record must be the last: records after it make it disagree.
    endRecord: afterEnd > 0 ? 'disagrees' : endRecord,
    writeDataCrc,
  };
}
