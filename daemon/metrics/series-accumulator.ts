/** Index of an op in the accumulators' per-op arrays. */
export const OP_WRITE = 0;
export const OP_READ = 1;
export const ACC_OPS = ['write', 'read'] as const;

/** Line-buffer events, index into SeriesAccumulator.bufferEvents (label `event`). */
export const EV_HIT = 0;
export const EV_MISS = 1;
export const EV_FILL = 2;
export const EV_WRITEBACK = 3;
export const EV_EVICTION = 4;
export const EV_METADATA_ACCESS = 5;
export const EV_METADATA_MISS = 6;
export const BUFFER_EVENTS = ['hit', 'miss', 'fill', 'writeback', 'eviction', 'metadata_access', 'metadata_miss'] as const;

/**
 * Counts of one `{region, kind, codec}` label set not yet handed to
 * prom-client. The engine adds plain numbers here for every block job (a
 * prom-client `inc(labels, v)` hashes and validates the label object on every
 * call, and `.labels()` children do the same underneath); the registry pulls
 * the deltas in when it is scraped.
 */
export class SeriesAccumulator {
  /** Indexed by OP_WRITE / OP_READ. */
  readonly rawBytes = new Float64Array(2);
  readonly storedBytes = new Float64Array(2);
  readonly rawBursts = new Float64Array(2);
  readonly storedBursts = new Float64Array(2);
  rawFallbackBlocks = 0;
  blockWrites = 0;
  /** Indexed by EV_*. */
  readonly bufferEvents = new Float64Array(BUFFER_EVENTS.length);
  /** Label objects, built once. */
  readonly labels: { readonly region: string; readonly kind: string; readonly codec: string };
  /** Labels of the DRAM energy and time series: index op * 2 + (0 raw, 1 stored). */
  readonly energyLabels: readonly { region: string; kind: string; codec: string; op: string; traffic: string }[];
  readonly opLabels: readonly [{ region: string; kind: string; codec: string; op: string }, { region: string; kind: string; codec: string; op: string }];

  constructor(region: string, kind: string, codec: string) {
    this.labels = { region, kind, codec };
    this.opLabels = [
      { region, kind, codec, op: 'write' },
      { region, kind, codec, op: 'read' },
    ];
    this.energyLabels = [
      { region, kind, codec, op: 'write', traffic: 'raw' },
      { region, kind, codec, op: 'write', traffic: 'stored' },
      { region, kind, codec, op: 'read', traffic: 'raw' },
      { region, kind, codec, op: 'read', traffic: 'stored' },
    ];
  }
}

/** Codec seconds of one codec, per lane and op: index lane * 2 + op. */
export class CodecTimeAccumulator {
  readonly seconds: Float64Array;
  constructor(
    readonly codec: string,
    readonly lanes: number,
  ) {
    this.seconds = new Float64Array(lanes * 2);
  }
}
