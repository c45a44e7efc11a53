import { ShimpackClient } from '../../clients/ts/index.ts';
import type { MemoryModelInfo, RegionStats, StatsTotals, WireCodec } from '../../protocol/types.ts';
import { spawnDaemon } from '../server/spawn-daemon.ts';
import { replayTrace, type ReplayProgress } from '../traces/replay.ts';
import { DEFAULT_WINDOW } from '../traces/replay-defaults.ts';
import { ReportError } from './errors.ts';

export interface RegionReplayOptions {
  readonly trace: string;
  readonly blockBytes: number;
  readonly lineBufferBytes: number;
  readonly lanes: number;
  readonly codec?: WireCodec;
  /** More `serve` options (e.g. shadow coding). */
  readonly daemonArgs?: readonly string[];
  readonly onProgress?: (p: ReplayProgress) => void;
}

export interface RegionReplay {
  readonly regions: readonly RegionStats[];
  readonly totals: StatsTotals;
  /** The daemon's energy model settings (burst size, codec clock). */
  readonly memory: MemoryModelInfo;
  readonly reads: number;
  readonly verifiedReads: number;
}

/**
 * Replay a trace through a daemon of its own and keep the regions, so that
 * stats gives the traffic of each region, not only the totals `bench
 * traffic` reports. Like `bench traffic`, the line buffers write back only on
 * completion, eviction and stats (--line-buffer-idle-ms 0), so the counts
 * follow from the trace alone and not from how fast this machine replays it.
 */
export async function replayForRegions(o: RegionReplayOptions): Promise<RegionReplay> {
  const args = ['--port', '0', '--lanes', String(o.lanes), '--block-size', String(o.blockBytes), '--line-buffer-bytes', String(o.lineBufferBytes), '--line-buffer-idle-ms', '0', ...(o.daemonArgs ?? [])];
  const daemon = await spawnDaemon(args).catch((e: unknown) => {
    throw new ReportError('E_REPORT_DAEMON', `the embedded daemon did not start: ${(e as Error).message.split('\n')[0]}`);
  });
  try {
    const s = await replayTrace({ trace: o.trace, url: daemon.url, speed: 'max', copies: 1, loop: false, verify: true, window: DEFAULT_WINDOW, codec: o.codec, keepRegions: true, onProgress: o.onProgress });
    if (s.mismatches > 0 || s.errors > 0) {
      throw new ReportError('E_REPORT_REPLAY', `replaying ${o.trace} failed: ${s.mismatches} mismatches, ${s.errors} errors (${s.problems.slice(0, 3).join('; ')})`);
    }
    // Stats writes the line buffers back first (docs/daemon.md), so the counts include every dirty block.
    const client = await ShimpackClient.connect(daemon.url);
    try {
      const st = await client.stats();
      return { regions: st.regions, totals: st.totals, memory: st.memory, reads: s.reads, verifiedReads: s.verifiedReads };
    } finally {
      await client.close();
    }
  } finally {
    await daemon.stop();
  }
}
