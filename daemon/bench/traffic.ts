import { spawnDaemon } from '../server/spawn-daemon.ts';
import { replayTrace } from '../traces/replay.ts';
import { METADATA_ENTRY_BYTES } from '../pipeline/metadata-cache.ts';
import type { StatsTotals, WireCodec } from '../../protocol/types.ts';

/** One setting of the granularity sweep and what the trace cost with it. */
export interface TrafficRow {
  readonly blockBytes: number;
  readonly lineBufferBytes: number;
  /** Bursts the client moved, and the bursts DRAM saw behind the shim (metadata included). */
  readonly burstsRaw: number;
  readonly burstsDram: number;
  readonly dramReadBursts: number;
  readonly dramWriteBursts: number;
  readonly metadataBursts: number;
  /** Stored bytes held (payloads + 2-byte metadata entries) over the raw bytes held. */
  readonly footprint: number;
  readonly fills: number;
  readonly writeBacks: number;
  readonly bufferHits: number;
  readonly bufferMisses: number;
  /** Every read verified against the trace. */
  readonly verified: boolean;
}

export interface TrafficSweepOptions {
  readonly trace: string;
  readonly blockSizes: readonly number[];
  readonly lineBufferBytes: readonly number[];
  readonly lanes: number;
  readonly metadataCacheBytes?: number;
  /** Declare every region with this codec instead of the trace's. */
  readonly codec?: WireCodec;
  readonly onStep?: (done: number, total: number, label: string) => void;
}

/**
 * Replay a trace once per (block size, buffer size) setting, each against a
 * fresh daemon, and collect the traffic counts: the trade-off between
 * compression granularity and on-chip buffer on the user's own trace.
 * Regions of the trace that declare their own blockBytes keep it.
 */
export async function runTrafficSweep(o: TrafficSweepOptions): Promise<TrafficRow[]> {
  const rows: TrafficRow[] = [];
  const total = o.blockSizes.length * o.lineBufferBytes.length;
  for (const blockBytes of o.blockSizes) {
    for (const lineBufferBytes of o.lineBufferBytes) {
      o.onStep?.(rows.length, total, `block ${blockBytes} B, buffer ${lineBufferBytes} B`);
      const args = ['--port', '0', '--lanes', String(o.lanes), '--block-size', String(blockBytes), '--line-buffer-bytes', String(lineBufferBytes), '--line-buffer-idle-ms', '0'];
      if (o.metadataCacheBytes !== undefined) args.push('--metadata-cache-bytes', String(o.metadataCacheBytes));
      const daemon = await spawnDaemon(args);
      try {
        const s = await replayTrace({ trace: o.trace, url: daemon.url, speed: 'max', copies: 1, loop: false, verify: true, window: 256, codec: o.codec });
        if (!s.stats) throw new Error(`the daemon gave no stats after replaying ${o.trace}: ${s.problems.join('; ')}`);
        rows.push(row(blockBytes, lineBufferBytes, s.stats, s.mismatches === 0 && s.errors === 0));
      } finally {
        await daemon.stop();
      }
    }
  }
  o.onStep?.(rows.length, total, 'done');
  return rows;
}

function row(blockBytes: number, lineBufferBytes: number, t: StatsTotals, verified: boolean): TrafficRow {
  return {
    blockBytes,
    lineBufferBytes,
    burstsRaw: t.burstsRaw,
    burstsDram: t.burstsStored,
    dramReadBursts: t.dramReadBursts,
    dramWriteBursts: t.dramWriteBursts,
    metadataBursts: t.metadataBursts,
    footprint: t.rawBytesStored > 0 ? (t.storedBytes + METADATA_ENTRY_BYTES * t.blocksHeld) / t.rawBytesStored : 1,
    fills: t.fills,
    writeBacks: t.writeBacks,
    bufferHits: t.bufferHits,
    bufferMisses: t.bufferMisses,
    verified,
  };
}
