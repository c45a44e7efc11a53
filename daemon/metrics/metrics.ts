import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import { ERROR_CODE_LIST, OPS } from '../../protocol/types.ts';

/**
 * Every Prometheus series of the daemon, in one registry on the main thread
 * (workers return raw numbers with each batch; prom-client does not
 * aggregate across worker threads). Labels are bounded: region names past a
 * configured cap share region="other".
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly regionLabels = new Set<string>();

  readonly rawBytes: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly storedBytes: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly rawBursts: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly storedBursts: Counter<'region' | 'kind' | 'codec' | 'op'>;
  readonly rawFallbackBlocks: Counter<'region' | 'kind' | 'codec'>;
  readonly requestDuration: Histogram<'op'>;
  readonly codecSeconds: Counter<'lane' | 'codec' | 'op'>;
  readonly laneBatchDuration: Histogram<'lane'>;
  readonly laneBatchBytes: Histogram<'lane'>;
  readonly inflightRequests: Gauge;
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly errors: Counter<'code'>;
  readonly socketPauses: Counter<'reason'>;

  constructor(
    private readonly regionLabelCap: number,
    lanes: number,
    probes: { laneDepth(lane: number): number; backendBytes(): number; backendBlocks(): number; sendBufferBytes(): number },
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const bytesLabels = ['region', 'kind', 'codec', 'op'] as const;
    this.rawBytes = new Counter({ name: 'shimpack_raw_bytes_total', help: 'Uncompressed bytes clients wrote (op=write) or read (op=read)', labelNames: bytesLabels, registers });
    this.storedBytes = new Counter({
      name: 'shimpack_stored_bytes_total',
      help: 'Stored (coded) block bytes moved to the backend (op=write) or from it (op=read); raw/stored in PromQL is the ratio',
      labelNames: bytesLabels,
      registers,
    });
    this.rawBursts = new Counter({ name: 'shimpack_raw_bursts_total', help: 'DRAM bursts the accesses would take uncompressed', labelNames: bytesLabels, registers });
    this.storedBursts = new Counter({ name: 'shimpack_stored_bursts_total', help: 'DRAM bursts the accesses take on stored blocks (incl. read-modify-write reads)', labelNames: bytesLabels, registers });
    this.rawFallbackBlocks = new Counter({
      name: 'shimpack_raw_fallback_blocks_total',
      help: 'Block writes stored raw because coding did not make them smaller',
      labelNames: ['region', 'kind', 'codec'] as const,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'shimpack_request_duration_seconds',
      help: 'Time from reading a request to having its response ready',
      labelNames: ['op'] as const,
      buckets: exponentialBuckets(1e-6, 2, 24),
      registers,
    });
    this.codecSeconds = new Counter({ name: 'shimpack_codec_seconds_total', help: 'Seconds spent encoding (op=write) and decoding (op=read) in each lane', labelNames: ['lane', 'codec', 'op'] as const, registers });
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
      help: 'Times a socket stopped being read for backpressure',
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
    for (const reason of ['lanes', 'inflight', 'send-buffer']) this.socketPauses.inc({ reason }, 0);
  }

  /** The label for a region name: itself for the first `cap` names, then "other". */
  regionLabel(name: string): string {
    if (this.regionLabels.has(name)) return name;
    if (this.regionLabels.size < this.regionLabelCap) {
      this.regionLabels.add(name);
      return name;
    }
    return 'other';
  }
}
