import type { WireCodec } from '../../../protocol/types.ts';
import type { DramFormat } from '../../traces/dram-export.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE } from '../io.ts';
import { createProgress } from '../progress.ts';
import { formatReplaySummary } from './replay.ts';

/** What `replay --dram-trace` needs of the replay command's options. */
export interface ReplayDramCliOptions {
  url?: string[];
  connections: number;
  loop?: boolean;
  duration?: number;
  verify: boolean;
  codec?: WireCodec;
  dramTrace: string;
  dramFormat: DramFormat;
  dramClockMhz?: number;
  json?: boolean;
  quiet?: boolean;
}

/**
 * `shimpack replay TRACE --dram-trace OUT`: the replay runs against a daemon
 * embedded in this process (its line buffers report every DRAM burst), one
 * request at a time, and the DRAM-side stream is written as a simulator trace.
 */
export async function replayWithDramTrace(trace: string, o: ReplayDramCliOptions, total: () => Promise<number>): Promise<void> {
  if (o.url !== undefined) throw new CliError('--dram-trace needs the embedded daemon (it observes the line buffers in this process): drop --url', EXIT_USAGE);
  if (o.connections !== 1 || o.loop || o.duration !== undefined) {
    throw new CliError('--dram-trace replays the trace once, on one connection: drop --connections, --loop and --duration', EXIT_USAGE);
  }
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  const bar = !o.quiet && !o.json ? createProgress(await total(), 'replay (DRAM trace)', true) : undefined;
  try {
    const { replayToDram } = await import('../../traces/dram-replay.ts');
    const r = await replayToDram({
      trace,
      out: o.dramTrace,
      format: o.dramFormat,
      codec: o.codec,
      clockMhz: o.dramClockMhz,
      verify: o.verify,
      signal: abort.signal,
      onProgress: (ops) => bar?.update(ops),
    });
    const e = r.export;
    process.stdout.write(
      o.json
        ? `${JSON.stringify({ ...r.replay, dramTrace: e }, null, 2)}\n`
        : `${formatReplaySummary(trace, r.replay)}\n  DRAM trace: ${e.file} (${e.format}): ${e.bursts.toLocaleString('en-US')} bursts, ${e.readBursts.toLocaleString('en-US')} read, ${e.writeBursts.toLocaleString('en-US')} written, last at cycle ${e.lastCycle} of ${e.clockMhz} MHz\n`,
    );
    if (r.replay.mismatches > 0 || r.replay.errors > 0) {
      throw new CliError(`replay failed: ${r.replay.mismatches} mismatches, ${r.replay.errors} errors`, EXIT_BAD_INPUT);
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
}
