import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import { ERROR_CODE_LIST, OPS, type ShadowStats } from '../../protocol/types.ts';
import { dramJoules, dramSeconds, type MemoryModel } from '../energy/index.ts';
import { ACC_OPS, BUFFER_EVENTS, CodecTimeAccumulator, SeriesAccumulator } from './series-accumulator.ts';

/** What the per-region storage gauges read at scrape time: the live regions' held bytes. */
export interface HeldRegion {
  readonly metricLabel: string;
  readonly kind: string;
  readonly codec: string;
  /** Raw bytes of the blocks held (stats' rawBytesStored). */
  readonly rawBytesStored: number;
  /** Stored payload bytes of those blocks (stats' storedBytes). */
  readonly storedBytes: number;
  /** With --shadow: what the other codecs would store (pipeline/shadow.ts). */
  readonly shadow?: { stats(rawBytesStored: number): readonly ShadowStats[] };
}

/**
 * Every Prometheus series of the daemon, in one registry on the main thread
 * (workers return raw numbers with each batch; prom-client does not
 * aggregate across worker threads). Labels are bounded: region names past a
 * configured cap share region="other".
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly regionLabels = new Set<string>();
  /** Pending per-block counts, by label set; flushed into the counters when scraped. */
  private readonly series = new Map<string, SeriesAccumulator>();
  private readonly codecTime = new Map<string, CodecTimeAccumulator>();
  /** Live regions, for the storage gauges (set by the engine). */
  heldRegions: () => Iterable<HeldRegion> = () => [];

  readonly rawBytes: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly storedBytes: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly rawBursts: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly storedBursts: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly rawFallbackBlocks: Counter<'region' | 'kind' | 'codec'>;
  readonly blockWrites: Counter<'region' | 'kind' | 'codec'>;
  readonly bufferEvents: Counter<'region' | 'kind' | 'codec' | 'event'>;
  readonly requestDuration: Histogram<'op'>;
  readonly codecSeconds: Counter<'lane' | 'codec' | 'op'>;
  readonly laneBatchDuration: Histogram<'lane'>;
  readonly laneBatchBytes: Histogram<'lane'>;
  readonly inflightRequests: Gauge;
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly errors: Counter<'code'>;
  readonly socketPauses: Counter<'reason'>;
  readonly dramEnergy: Counter<'region' | 'kind' | 'codec' | 'op' | 'traffic'>;
  readonly dramSeconds: Counter<'region' | 'kind' | 'codec' | 'op' | 'traffic'>;
  /** Joules and seconds per DRAM burst under the memory model (setEnergyModel); 0 until set. */
  private joulesPerBurst = 0;
  private secondsPerBurst = 0;
  private memoryInfo: Gauge<'memory' | 'pj_per_bit' | 'gbps'>;

  constructor(
    private readonly regionLabelCap: number,
    private readonly lanes: number,
    probes: {
      laneDepth(lane: number): number;
      backendBytes(): number;
      backendBlocks(): number;
      /** The backend's memory for what it holds, overhead included (undefined: it cannot tell). */
      backendAllocated?(): number | undefined;
      sendBufferBytes(): number;
      /** Times the lane's worker thread died and was replaced (0 when not wired). */
      laneRestarts?(lane: number): number;
    },
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const bytesLabels = ['region', 'kind', 'codec', 'op'] as const;
    // Gauges' collect() runs with the gauge as `this`.
    const metricsSelf = this;
    // Every per-block counter pulls the pending deltas in when scraped (the first one flushes them all).
    const flush = (): void => this.flush();
    this.rawBytes = new Counter({ name: 'shimpack_raw_bytes_total', help: 'Uncompressed bytes clients wrote (op=write) or read (op=read)', labelNames: bytesLabels, registers, collect: flush });
    this.storedBytes = new Counter({
      name: 'shimpack_stored_bytes_total',
      help: 'Stored (coded) block bytes moved to the backend (op=write) or from it (op=read); raw/stored in PromQL is the traffic ratio',
      labelNames: bytesLabels,
      registers,
      collect: flush,
    });
    this.rawBursts = new Counter({ name: 'shimpack_raw_bursts_total', help: 'DRAM bursts the accesses would take uncompressed (op: the client request)', labelNames: bytesLabels, registers, collect: flush });
    this.storedBursts = new Counter({
      name: 'shimpack_stored_bursts_total',
      help: 'DRAM bursts the shim moves (op=read: fills, raw-held bursts and metadata lines read; op=write: write-backs and metadata lines written); stored/raw is the DRAM traffic ratio',
      labelNames: bytesLabels,
      registers,
      collect: flush,
    });
    const energyLabels = ['region', 'kind', 'codec', 'op', 'traffic'] as const;
    this.dramEnergy = new Counter({
      name: 'shimpack_dram_energy_joules_total',
      help: 'First-order DRAM energy of the traffic under the memory model (--memory): traffic="raw" for the raw bursts, "stored" for the bursts the shim moves; raw minus stored is what compression saved',
      labelNames: energyLabels,
      registers,
      collect: flush,
    });
    this.dramSeconds = new Counter({
      name: 'shimpack_dram_transfer_seconds_total',
      help: 'DRAM transfer time of the traffic at the memory model\'s peak bandwidth (--memory): traffic="raw" or "stored", as shimpack_dram_energy_joules_total',
      labelNames: energyLabels,
      registers,
      collect: flush,
    });
    this.memoryInfo = new Gauge({ name: 'shimpack_memory_model_info', help: 'The energy and time model in use (value 1): memory type, pJ per bit, GB/s', labelNames: ['memory', 'pj_per_bit', 'gbps'] as const, registers });
    const shadowGauge = (name: string, help: string, field: 'sampledRawBytes' | 'sampledStoredBytes' | 'estimatedStoredBytes') =>
      new Gauge({
        name,
        help,
        labelNames: ['region', 'kind', 'codec', 'shadow'] as const,
        registers,
        collect() {
          this.reset();
          const sums = new Map<string, { labels: { region: string; kind: string; codec: string; shadow: string }; v: number }>();
          for (const r of metricsSelf.heldRegions()) {
            if (!r.shadow) continue;
            for (const sh of r.shadow.stats(r.rawBytesStored)) {
              if (sh.status !== 'ok') continue;
              const key = `${r.metricLabel}\u0000${r.kind}\u0000${r.codec}\u0000${sh.codec}`;
              const e = sums.get(key);
              if (e) e.v += sh[field];
              else sums.set(key, { labels: { region: r.metricLabel, kind: r.kind, codec: r.codec, shadow: sh.codec }, v: sh[field] });
            }
          }
          for (const e of sums.values()) this.set(e.labels, e.v);
        },
      });
    shadowGauge('shimpack_shadow_sampled_raw_bytes', 'Shadow codecs (--shadow): raw bytes of the sampled blocks each live region holds, per shadow codec', 'sampledRawBytes');
    shadowGauge('shimpack_shadow_sampled_stored_bytes', 'Shadow codecs: what the shadow codec would store for those sampled blocks (payload); sampled_raw / sampled_stored is its ratio', 'sampledStoredBytes');
    shadowGauge('shimpack_shadow_estimated_stored_bytes', 'Shadow codecs: the region\'s held bytes as the shadow codec would store them (held raw bytes / its sampled ratio)', 'estimatedStoredBytes');
    this.rawFallbackBlocks = new Counter({
      name: 'shimpack_raw_fallback_blocks_total',
      help: 'Block writes stored raw because coding did not make them smaller',
      labelNames: ['region', 'kind', 'codec'] as const,
      registers,
      collect: flush,
    });
    this.blockWrites = new Counter({
      name: 'shimpack_block_writes_total',
      help: 'Block writes stored (whole-block or read-modify-write); raw_fallback_blocks / block_writes is the share stored raw',
      labelNames: ['region', 'kind', 'codec'] as const,
      registers,
      collect: flush,
    });
    this.bufferEvents = new Counter({
      name: 'shimpack_line_buffer_events_total',
      help: 'Line buffers: block accesses that hit or missed a buffered block, fills, write-backs, evictions, metadata lookups and metadata cache misses',
      labelNames: ['region', 'kind', 'codec', 'event'] as const,
      registers,
      collect: flush,
    });
    // Bytes held now, per region: their ratio is the storage compression ratio (stats' ratio).
    const held = (field: 'rawBytesStored' | 'storedBytes') =>
      function (this: Gauge<'region' | 'kind' | 'codec'>): void {
        this.reset(); // freed regions disappear
        const sums = new Map<string, { labels: { region: string; kind: string; codec: string }; v: number }>();
        for (const r of metricsSelf.heldRegions()) {
          const key = `${r.metricLabel}\u0000${r.kind}\u0000${r.codec}`;
          const e = sums.get(key);
          if (e) e.v += r[field];
          else sums.set(key, { labels: { region: r.metricLabel, kind: r.kind, codec: r.codec }, v: r[field] });
        }
        for (const e of sums.values()) this.set(e.labels, e.v);
      };
    new Gauge({
      name: 'shimpack_region_raw_bytes',
      help: 'Uncompressed bytes of the blocks each live region holds (stats rawBytesStored)',
      labelNames: ['region', 'kind', 'codec'] as const,
      registers,
      collect: held('rawBytesStored'),
    });
    new Gauge({
      name: 'shimpack_region_stored_bytes',
      help: 'Stored payload bytes of the blocks each live region holds (stats storedBytes); region_raw_bytes / region_stored_bytes is the storage compression ratio',
      labelNames: ['region', 'kind', 'codec'] as const,
      registers,
      collect: held('storedBytes'),
    });
    new Gauge({
      name: 'shimpack_regions',
      help: 'Regions declared and not freed, over every address space',
      registers,
      collect() {
        let n = 0;
        for (const _ of metricsSelf.heldRegions()) n++;
        this.set(n);
      },
    });
    this.requestDuration = new Histogram({
      name: 'shimpack_request_duration_seconds',
      help: 'Time from reading a request to having its response ready',
      labelNames: ['op'] as const,
      buckets: exponentialBuckets(1e-6, 2, 24),
      registers,
    });
    this.codecSeconds = new Counter({
      name: 'shimpack_codec_seconds_total',
      help: 'Seconds spent encoding (op=write) and decoding (op=read) in each lane',
      labelNames: ['lane', 'codec', 'op'] as const,
      registers,
      collect: flush,
    });
    this.laneBatchDuration = new Histogram({
      name: 'shimpack_lane_batch_duration_seconds',
      help: 'Worker time per batch message',
      labelNames: ['lane'] as const,
      buckets: exponentialBuckets(1e-6, 2, 24),
      registers,
    });
    this.laneBatchBytes = new Histogram({
      name: 'shimpack_lane_batch_bytes',
      help: 'Raw bytes per batch message to a lane',
      labelNames: ['lane'] as const,
      buckets: exponentialBuckets(64, 2, 16),
      registers,
    });
    new Gauge({
      name: 'shimpack_lane_queue_depth',
      help: 'Block jobs queued or in flight per lane',
      labelNames: ['lane'] as const,
      registers,
      collect() {
        for (let i = 0; i < lanes; i++) this.set({ lane: String(i) }, probes.laneDepth(i));
      },
    });
    // The executor counts replacements; the counter catches up with it when scraped.
    const restartsSeen = new Array<number>(lanes).fill(0);
    new Counter({
      name: 'shimpack_lane_restarts_total',
      help: 'Times a lane worker thread died and was replaced (its in-flight requests got E_LANE_FAILED)',
      labelNames: ['lane'] as const,
      registers,
      collect() {
        for (let i = 0; i < lanes; i++) {
          const n = probes.laneRestarts?.(i) ?? 0;
          this.inc({ lane: String(i) }, n - restartsSeen[i]);
          restartsSeen[i] = n;
        }
      },
    });
    new Gauge({
      name: 'shimpack_backend_bytes',
      help: 'Stored bytes held by the memory backend',
      registers,
      collect() {
        this.set(probes.backendBytes());
      },
    });
    new Gauge({
      name: 'shimpack_backend_blocks',
      help: 'Blocks held by the memory backend',
      registers,
      collect() {
        this.set(probes.backendBlocks());
      },
    });
    new Gauge({
      name: 'shimpack_backend_allocated_bytes',
      help: 'Memory the backend allocated for what it holds (slabs, slot rounding, spare slabs); absent for backends that cannot tell',
      registers,
      collect() {
        const n = probes.backendAllocated?.();
        if (n === undefined) this.reset();
        else this.set(n);
      },
    });
    new Gauge({
      name: 'shimpack_send_buffer_bytes',
      help: 'Response bytes queued on sockets, not yet sent',
      registers,
      collect() {
        this.set(probes.sendBufferBytes());
      },
    });
    this.inflightRequests = new Gauge({ name: 'shimpack_inflight_requests', help: 'Requests read and not yet answered', registers });
    this.connections = new Gauge({ name: 'shimpack_connections', help: 'Open WebSocket connections', registers });
    this.connectionsTotal = new Counter({ name: 'shimpack_connections_total', help: 'WebSocket connections accepted', registers });
    this.errors = new Counter({ name: 'shimpack_errors_total', help: 'Error responses by code', labelNames: ['code'] as const, registers });
    this.socketPauses = new Counter({
      name: 'shimpack_socket_pauses_total',
      help: 'Times a socket stopped being read for backpressure, or while a write of it waited for its region\'s table (reason fit)',
      labelNames: ['reason'] as const,
      registers,
    });
    // Zero the bounded label sets so dashboards do not start empty.
    for (const op of OPS) this.requestDuration.zero({ op });
    for (const code of ERROR_CODE_LIST) this.errors.inc({ code }, 0);
    for (let i = 0; i < lanes; i++) {
      this.laneBatchDuration.zero({ lane: String(i) });
      this.laneBatchBytes.zero({ lane: String(i) });
    }
    for (const reason of ['lanes', 'inflight', 'send-buffer', 'record', 'fit']) this.socketPauses.inc({ reason }, 0);
  }

  /** The DRAM model behind shimpack_dram_energy_joules_total and shimpack_dram_transfer_seconds_total (set once, by the engine). */
  setEnergyModel(memory: MemoryModel, burstBytes: number): void {
    this.joulesPerBurst = dramJoules(1, burstBytes, memory);
    this.secondsPerBurst = dramSeconds(1, burstBytes, memory);
    this.memoryInfo.reset();
    this.memoryInfo.set({ memory: memory.name, pj_per_bit: String(memory.pjPerBit), gbps: String(memory.gbps) }, 1);
  }

  /** The accumulator of a region's label set (shared by regions past the label cap). */
  seriesFor(regionLabel: string, kind: string, codec: string): SeriesAccumulator {
    const key = `${regionLabel}\u0000${kind}\u0000${codec}`;
    let acc = this.series.get(key);
    if (!acc) {
      acc = new SeriesAccumulator(regionLabel, kind, codec);
      this.series.set(key, acc);
      // Zero the series so rates (and the raw share) have data before the first fallback.
      this.rawFallbackBlocks.inc(acc.labels, 0);
      this.blockWrites.inc(acc.labels, 0);
      for (const event of BUFFER_EVENTS) this.bufferEvents.inc({ ...acc.labels, event }, 0);
      for (const l of acc.energyLabels) {
        this.dramEnergy.inc(l, 0);
        this.dramSeconds.inc(l, 0);
      }
    }
    return acc;
  }

  /** Codec seconds of one codec, per lane and op. */
  codecTimeFor(codec: string): CodecTimeAccumulator {
    let acc = this.codecTime.get(codec);
    if (!acc) {
      acc = new CodecTimeAccumulator(codec, this.lanes);
      this.codecTime.set(codec, acc);
    }
    return acc;
  }

  /** Move pending per-block counts into the prom-client counters (at scrape time). */
  flush(): void {
    for (const a of this.series.values()) {
      for (let op = 0; op < 2; op++) {
        const l = a.opLabels[op];
        if (a.rawBytes[op] !== 0 || a.storedBytes[op] !== 0 || a.rawBursts[op] !== 0 || a.storedBursts[op] !== 0) {
          this.rawBytes.inc(l, a.rawBytes[op]);
          this.storedBytes.inc(l, a.storedBytes[op]);
          this.rawBursts.inc(l, a.rawBursts[op]);
          this.storedBursts.inc(l, a.storedBursts[op]);
          if (this.joulesPerBurst > 0) {
            const raw = a.energyLabels[op * 2];
            const stored = a.energyLabels[op * 2 + 1];
            this.dramEnergy.inc(raw, a.rawBursts[op] * this.joulesPerBurst);
            this.dramEnergy.inc(stored, a.storedBursts[op] * this.joulesPerBurst);
            this.dramSeconds.inc(raw, a.rawBursts[op] * this.secondsPerBurst);
            this.dramSeconds.inc(stored, a.storedBursts[op] * this.secondsPerBurst);
          }
          a.rawBytes[op] = a.storedBytes[op] = a.rawBursts[op] = a.storedBursts[op] = 0;
        }
      }
      if (a.rawFallbackBlocks !== 0) this.rawFallbackBlocks.inc(a.labels, a.rawFallbackBlocks);
      if (a.blockWrites !== 0) this.blockWrites.inc(a.labels, a.blockWrites);
      a.rawFallbackBlocks = a.blockWrites = 0;
      const ev = a.bufferEvents;
      for (let i = 0; i < ev.length; i++) {
        if (ev[i] === 0) continue;
        this.bufferEvents.inc({ ...a.labels, event: BUFFER_EVENTS[i] }, ev[i]);
        ev[i] = 0;
      }
    }
    for (const c of this.codecTime.values()) {
      for (let lane = 0; lane < c.lanes; lane++) {
        for (let op = 0; op < 2; op++) {
          const v = c.seconds[lane * 2 + op];
          if (v === 0) continue;
          this.codecSeconds.inc({ lane: String(lane), codec: c.codec, op: ACC_OPS[op] }, v);
          c.seconds[lane * 2 + op] = 0;
        }
      }
    }
  }

  /**
   * The label for a region: its name, prefixed `SPACE/` outside the default
   * address space (same-named regions of two spaces are different series),
   * for the first `cap` labels, then "other".
   */
  regionLabel(name: string, space = ''): string {
    const label = space ? `${space}/${name}` : name;
    if (this.regionLabels.has(label)) return label;
    if (this.regionLabels.size < this.regionLabelCap) {
      this.regionLabels.add(label);
      return label;
    }
    return 'other';
  }
}
