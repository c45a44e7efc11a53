import type { DaemonConfig } from '../config.ts';
import { configWith } from '../config.ts';
import { InlineLaneExecutor } from '../lanes/inline-executor.ts';
import { startDaemon } from '../server/daemon.ts';
import type { WireCodec } from '../../protocol/types.ts';
import { writeDramTrace, type DramExportSummary, type DramFormat } from './dram-export.ts';
import { DramRecorder } from './dram-recorder.ts';
import { TraceError } from './errors.ts';
import { readTrace } from './reader.ts';
import { replayTrace, type ReplaySummary } from './replay.ts';

export interface DramReplayOptions {
  readonly trace: string;
  /** The DRAM trace to write. */
  readonly out: string;
  readonly format: DramFormat;
  /** Declare every region with this codec (raw: the like-for-like baseline). */
  readonly codec?: WireCodec;
  /** Cycles per microsecond of the exported times (default: the trace header's clockMhz, else 1000: cycles = ns). */
  readonly clockMhz?: number;
  readonly verify?: boolean;
  /** Settings of the embedded daemon (lanes, block size, line buffers...); the idle flush is always off. */
  readonly daemon?: Partial<DaemonConfig>;
  readonly onProgress?: (ops: number) => void;
  readonly signal?: AbortSignal;
}

export interface DramReplayResult {
  readonly replay: ReplaySummary;
  readonly export: DramExportSummary;
}

/** The header's numeric provenance field `key`, if the trace has one. */
async function headerNumber(trace: string, key: string): Promise<number | undefined> {
  for await (const r of readTrace(trace)) {
    if (r.type !== 'header') break;
    const meta = (r as Record<string, unknown>).meta as Record<string, unknown> | undefined;
    const v = meta?.[key] ?? (r as Record<string, unknown>)[key];
    return typeof v === 'number' && v > 0 ? v : undefined;
  }
  return undefined;
}

export interface DramRecording {
  readonly replay: ReplaySummary;
  readonly recorder: DramRecorder;
  readonly burstBytes: number;
  /** The trace header's clockMhz (imported traces), else 1000 (cycle = ns). */
  readonly clockMhz: number;
}

/**
 * Replay a trace through a daemon embedded in this process, with an
 * observer on its line buffers, and keep the DRAM-side request stream.
 * For a reproducible stream the replay sends one request at a time, the
 * lanes run inline and the daemon never flushes on its own
 * (--line-buffer-idle-ms 0): every burst then belongs to a known op, whose
 * trace time it gets (dram-recorder.ts).
 */
export async function recordDram(o: Omit<DramReplayOptions, 'out' | 'format'>): Promise<DramRecording> {
  const burstBytes = o.daemon?.burstBytes ?? (await headerNumber(o.trace, 'burstBytes')) ?? 64;
  const clockMhz = o.clockMhz ?? (await headerNumber(o.trace, 'clockMhz')) ?? 1000;
  if (!(clockMhz > 0)) throw new TraceError('E_DRAM_EXPORT', `the clock must be > 0 MHz, got ${clockMhz}`);
  const recorder = new DramRecorder();
  const config = configWith({ lanes: 2, ...o.daemon, host: '127.0.0.1', port: 0, burstBytes, lineBufferIdleMs: 0, record: '' });
  // Lanes on this thread: with one request at a time, thread hand-offs would be most of the time, and
  // inline lanes finish jobs in a fixed order, so the stream does not depend on thread timing either.
  const daemon = await startDaemon(config, { executor: new InlineLaneExecutor(config.lanes) });
  let replay: ReplaySummary;
  try {
    daemon.engine.buffers.observer = recorder;
    let ops = 0;
    replay = await replayTrace({
      trace: o.trace,
      url: daemon.url,
      speed: 'max',
      copies: 1,
      loop: false,
      verify: o.verify ?? true,
      // One op at a time, each a single request: every counted burst is stamped with the time of the op that caused it.
      window: 1,
      vector: 0,
      codec: o.codec,
      signal: o.signal,
      onSend: (t, n) => {
        recorder.time = t;
        ops += n;
      },
      onProgress: () => o.onProgress?.(ops),
    });
  } finally {
    await daemon.close();
  }
  return { replay, recorder, burstBytes, clockMhz };
}

/** recordDram, then the stream written as a simulator trace. */
export async function replayToDram(o: DramReplayOptions): Promise<DramReplayResult> {
  const r = await recordDram(o);
  const exported = await writeDramTrace(r.recorder, o.out, o.format, { clockMhz: r.clockMhz, burstBytes: r.burstBytes });
  return { replay: r.replay, export: exported };
}
