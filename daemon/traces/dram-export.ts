import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { TraceError } from './errors.ts';
import type { DramLineFormat } from './dram-line-format.ts';
import type { DramRecorder } from './dram-recorder.ts';
import { dramsim3Format } from './dramsim3-writer.ts';
import { dramsysFormat } from './dramsys-writer.ts';
import { ramulatorFormat } from './ramulator-writer.ts';

export const DRAM_FORMATS = ['dramsim3', 'ramulator', 'dramsys'] as const;
export type DramFormat = (typeof DRAM_FORMATS)[number];

export function dramLineFormat(f: DramFormat): DramLineFormat {
  return f === 'dramsim3' ? dramsim3Format : f === 'ramulator' ? ramulatorFormat : dramsysFormat;
}

export interface DramExportSummary {
  readonly file: string;
  readonly format: DramFormat;
  readonly bursts: number;
  readonly readBursts: number;
  readonly writeBursts: number;
  /** Cycle of the last burst (the clock of clockMhz, from the trace's t = 0). */
  readonly lastCycle: number;
  readonly clockMhz: number;
}

/** Characters gathered before one write to the file. */
const CHUNK_CHARS = 256 * 1024;

/**
 * Write the recorded DRAM stream as a simulator trace: one line per burst,
 * cycle = round(t ns * clockMhz / 1000), the inverse of `trace import
 * --clock-mhz`. Written under a temporary name and renamed into place, so a
 * failure leaves no half file.
 */
export async function writeDramTrace(rec: DramRecorder, out: string, format: DramFormat, o: { clockMhz: number; burstBytes: number }): Promise<DramExportSummary> {
  const f = dramLineFormat(format);
  const tmp = `${out}.tmp-${process.pid}`;
  const ws = createWriteStream(tmp);
  const failed = new Promise<never>((_, reject) => ws.once('error', (e: NodeJS.ErrnoException) => reject(new TraceError('E_TRACE_IO', `cannot write ${out}: ${e.code ?? e.message}`))));
  failed.catch(() => undefined);
  let bursts = 0;
  let reads = 0;
  let lastCycle = 0;
  let chunk = '';
  const perNs = o.clockMhz / 1000;
  try {
    for (const b of rec.stream(o.burstBytes)) {
      const cycle = Math.round(b.t * perNs);
      if (cycle > lastCycle) lastCycle = cycle;
      chunk += `${f.line(cycle, b.write, b.addr)}\n`;
      bursts++;
      if (!b.write) reads++;
      if (chunk.length >= CHUNK_CHARS) {
        if (!ws.write(chunk)) await Promise.race([once(ws, 'drain'), failed]);
        chunk = '';
      }
    }
    ws.end(chunk);
    await Promise.race([once(ws, 'finish'), failed]);
    renameSync(tmp, out);
  } catch (e) {
    ws.destroy();
    rmSync(tmp, { force: true });
    throw e instanceof TraceError ? e : new TraceError('E_TRACE_IO', `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { file: out, format, bursts, readBursts: reads, writeBursts: bursts - reads, lastCycle, clockMhz: o.clockMhz };
}
