import { stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { TraceError } from './errors.ts';
import type { RegionKind, TraceDtype } from './format.ts';
import { LineBitmap } from './line-bitmap.ts';
import { WriteOverlay } from './overlay.ts';
import type { BoundPayload, PayloadSource } from './payload.ts';
import { RegionPlanner, findRegion, type PlannedRegion } from './regions.ts';
import type { Importer, ImportOptions } from './sim-request.ts';
import { TraceWriter } from './writer.ts';
import { DramsysImporter } from './dramsys.ts';
import { Dramsim3Importer } from './dramsim3.ts';
import { RamulatorImporter } from './ramulator.ts';
import { ScalesimImporter } from './scalesim.ts';

import type { ImportFormat } from './import-formats.ts';

export { IMPORT_FORMATS, type ImportFormat } from './import-formats.ts';

export function importerFor(format: ImportFormat): Importer {
  switch (format) {
    case 'scalesim':
      return new ScalesimImporter();
    case 'dramsim3':
      return new Dramsim3Importer();
    case 'ramulator':
      return new RamulatorImporter();
    case 'dramsys':
      return new DramsysImporter();
  }
}

export interface ImportTraceOptions extends ImportOptions {
  readonly format: ImportFormat;
  readonly files: readonly string[];
  readonly out: string;
  readonly payload: PayloadSource;
  readonly gzip?: boolean;
  /** Simulator clock: t = (cycle - first cycle) * 1000 / clockMhz ns. */
  readonly clockMhz: number;
  /** Window size for window regions (power of two). */
  readonly window: number;
  /** Kind of window regions (default: the importer's). */
  readonly kind?: RegionKind;
  /** Import only the first N requests. */
  readonly maxRequests?: number;
  /** Progress: pass 1 (scan) or 2 (write), input bytes done of total. */
  readonly progress?: (pass: 1 | 2, done: number, total: number) => void;
}

export interface ImportedRegion extends PlannedRegion {
  readonly dtype: TraceDtype;
  readonly origin: string;
}

export interface ImportSummary {
  readonly requests: number;
  /** Preload writes at t=0 that put the payload under every line the trace reads. */
  readonly setupOps: number;
  readonly ops: number;
  readonly writeBytes: number;
  readonly readBytes: number;
  readonly lastT: number;
  readonly regions: readonly ImportedRegion[];
  readonly notes: Readonly<Record<string, number>>;
}

/** Region alignment of operand regions. */
const REGION_ALIGN = 4096;

/**
 * Turn simulator traces into a shimpack trace in two streaming passes over the
 * inputs. Pass 1 finds the first cycle, the regions (see regions.ts) and every
 * line that is ever read; pass 2 writes the header, the regions, one preload
 * write per read line (t = 0, so every read has defined bytes to return), then
 * one op per request. Write data and the CRC-32 of each read's expected bytes
 * come from the region's payload, patched by data the trace itself carries.
 */
export async function importTrace(o: ImportTraceOptions): Promise<ImportSummary> {
  if (o.files.length === 0) throw new TraceError('E_IMPORT_INPUT', 'no input files');
  if (!(o.clockMhz > 0)) throw new TraceError('E_IMPORT_INPUT', '--clock-mhz must be > 0');
  const importer = importerFor(o.format);
  let totalBytes = 0;
  for (const f of o.files) {
    try {
      totalBytes += (await stat(f)).size;
    } catch (e) {
      throw new TraceError('E_TRACE_IO', `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const limit = o.maxRequests ?? Number.POSITIVE_INFINITY;

  // pass 1: extent, regions, read lines
  const planner = new RegionPlanner({ window: o.window, align: REGION_ALIGN, defaultKind: o.kind ?? importer.defaultKind });
  const readLines = new LineBitmap(o.burstBytes);
  let minCycle = Number.POSITIVE_INFINITY;
  let requests = 0;
  for await (const r of importer.requests(o.files, o, (n) => o.progress?.(1, n, totalBytes))) {
    if (requests >= limit) break;
    requests++;
    if (r.cycle < minCycle) minCycle = r.cycle;
    planner.add(r.addr, r.len, r.operand, r.operandKind);
    if (!r.write) readLines.addRange(r.addr, r.len);
  }
  if (requests === 0) throw new TraceError('E_IMPORT_INPUT', `no requests in ${o.files.join(', ')}`);

  const counters = new Map<RegionKind, number>();
  const regions: (ImportedRegion & { payload: BoundPayload })[] = planner.plan().map((p) => {
    const index = counters.get(p.kind) ?? 0;
    counters.set(p.kind, index + 1);
    const payload = o.payload.bind(p.kind, index);
    return { ...p, dtype: payload.dtype, origin: payload.origin, payload };
  });
  const regionOf = (addr: number, len: number, what: string): (typeof regions)[number] => {
    const r = findRegion(regions, addr);
    if (!r || addr + len > r.base + r.size) throw new TraceError('E_IMPORT_INPUT', `${what} at 0x${addr.toString(16)} (+${len}) is outside the derived regions`);
    return r;
  };

  // pass 2: write the trace
  let setupCount = 0;
  for (const _line of readLines.addresses()) setupCount++;
  const w = new TraceWriter(o.out, {
    atomic: true,
    source: `import:${o.format}`,
    gzip: o.gzip,
    meta: {
      inputs: o.files,
      payload: o.payload.description,
      burstBytes: o.burstBytes,
      clockMhz: o.clockMhz,
      regionWindow: o.window,
      setupOps: setupCount,
      readsCarryCrc: true,
    },
  });
  let setupOps = 0;
  try {
    for (const r of regions) w.region({ name: r.name, base: r.base, size: r.size, dtype: r.dtype, kind: r.kind, origin: r.origin });
    const fill = (r: (typeof regions)[number], addr: number, out: Uint8Array): void => r.payload.fill(out, addr - r.base);

    for (const line of readLines.addresses()) {
      const r = regionOf(line, 1, 'read line');
      const len = Math.min(o.burstBytes, r.base + r.size - line);
      const data = new Uint8Array(len);
      fill(r, line, data);
      w.op({ op: 'write', t: 0, addr: line, len, data });
      setupOps++;
      if (w.needsDrain) await w.drained();
    }

    const overlay = new WriteOverlay();
    const nsPerCycle = 1000 / o.clockMhz;
    let done = 0;
    for await (const q of importer.requests(o.files, o, (n) => o.progress?.(2, n, totalBytes))) {
      if (done >= limit) break;
      done++;
      const r = regionOf(q.addr, q.len, q.write ? 'write' : 'read');
      const t = Math.round((q.cycle - minCycle) * nsPerCycle);
      if (q.write) {
        let data: Uint8Array;
        if (q.data) {
          data = q.data;
          overlay.write(q.addr, data);
        } else {
          data = new Uint8Array(q.len);
          fill(r, q.addr, data);
          overlay.clear(q.addr, q.len);
        }
        w.op({ op: 'write', t, addr: q.addr, len: q.len, data });
      } else {
        const expect = new Uint8Array(q.len);
        fill(r, q.addr, expect);
        overlay.apply(q.addr, expect);
        w.op({ op: 'read', t, addr: q.addr, len: q.len, crc: crc32(expect) });
      }
      if (w.needsDrain) await w.drained();
    }
    if (done !== requests) throw new TraceError('E_IMPORT_INPUT', `inputs changed between passes (${requests} then ${done} requests)`);
  } catch (e) {
    // No half trace is left behind (writer.ts, atomic).
    await w.abort();
    throw e;
  }
  const totals = w.totals;
  await w.close();
  return {
    requests,
    setupOps,
    ops: totals.ops,
    writeBytes: totals.writeBytes,
    readBytes: totals.readBytes,
    lastT: totals.lastT,
    regions: regions.map(({ payload: _p, ...rest }) => rest),
    notes: Object.fromEntries(importer.notes),
  };
}
