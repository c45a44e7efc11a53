import type { CodecName } from '../codecs/codec.ts';
import { dtypeBits, type Dtype } from '../codecs/dtype.ts';
import { codecSeconds, trafficEnergy, type MemoryModel } from '../energy/index.ts';
import type { CodecTimeAccumulator, SeriesAccumulator } from '../metrics/series-accumulator.ts';
import type { Calibration, RegionKind, RegionStats } from '../../protocol/types.ts';
import type { PendingCalibration } from './calibration.ts';
import type { RegionShadow } from './shadow.ts';
import type { Slot, SlotSnapshot, WriteBack } from './line-buffers.ts';

let nextRegionId = 1;

/** One declared address range and everything counted about it. */
export class Region {
  /** Daemon-unique, never reused (also across restarts of a persistent backend): keys blocks in the backend and the lanes. */
  readonly id: number;
  /** The codec parameters in use (kept to persist the declaration). */
  params?: Uint8Array;
  readonly end: number;
  /** Lane of block 0: blocks are interleaved over lanes by their global address. */
  readonly laneOffset: number;
  live = true;
  /** Address space the region belongs to ('' is the default). */
  space = '';
  /** Distance to the same channel of the previous pixel, when declared (given or from shape and layout); only context codecs use it. */
  stride?: number;
  /** Requests with block jobs still in the lanes; `free` waits for them before the lanes drop the model. */
  private busy = 0;
  private idleWaiters: (() => void)[] = [];
  calibration: Calibration;
  /** True once the lanes hold this region's codec model. */
  modelReady = false;
  /** Calibrated from data and not yet fitted: what was written so far (blocks are held raw meanwhile). */
  pending?: PendingCalibration;

  /**
   * Stored payload bytes of each held block, times 2, plus 1 when held raw.
   * Kept here because whole-block writes never fetch the old block, yet
   * accounting needs its size; updated in commit order, which per block is
   * lane order.
   */
  readonly held = new Map<number, number>();

  /** Blocks in the lanes' line buffers, by index. */
  readonly slots = new Map<number, Slot>();
  /** Buffered blocks on their way to the backend, by index (line-buffers.ts). */
  readonly outgoing = new Map<number, WriteBack>();
  /** Write-through mode: write-backs counted once the block's write-through commits (line-buffers.ts). */
  readonly owedWriteBacks = new Map<number, SlotSnapshot>();
  /** The last write-back of this region that failed since the last flush. */
  writeBackFailure: Error | undefined;

  /** Metric accumulators of this region's label set (bound by the engine on first use). */
  series?: SeriesAccumulator;
  codecTime?: CodecTimeAccumulator;

  bytesWritten = 0;
  bytesRead = 0;
  rawBytesStored = 0;
  storedBytes = 0;
  burstsRaw = 0;
  burstsStored = 0;
  blocksHeld = 0;
  blocksRaw = 0;
  writes = 0;
  reads = 0;
  /** Line buffers and DRAM-side traffic (burstsStored = dramReadBursts + dramWriteBursts). */
  bufferHits = 0;
  bufferMisses = 0;
  fills = 0;
  writeBacks = 0;
  evictions = 0;
  metadataAccesses = 0;
  metadataMisses = 0;
  metadataBursts = 0;
  dramReadBursts = 0;
  dramWriteBursts = 0;
  /** Bytes the codec engines encoded and decoded (write-backs, fills, read-modify-writes). */
  codedBytes = 0;
  /** With --shadow: the other codecs' figures for this region. */
  shadow?: RegionShadow;

  constructor(
    readonly name: string,
    readonly base: number,
    readonly size: number,
    readonly dtype: Dtype,
    readonly kind: RegionKind,
    readonly codec: CodecName,
    readonly blockBytes: number,
    lanes: number,
    /** Label value for metrics ("other" past the configured cap). */
    readonly metricLabel: string,
    calibration: Calibration,
    /** Restoring a persisted region: its id from the earlier run. */
    id?: number,
  ) {
    if (id !== undefined) nextRegionId = Math.max(nextRegionId, id + 1);
    this.id = id ?? nextRegionId++;
    this.end = base + size;
    this.laneOffset = Math.floor(base / blockBytes) % lanes;
    this.calibration = calibration;
  }

  /** One more request has block jobs in the lanes (call leave() once when they are all done). */
  enter(): void {
    this.busy++;
  }

  leave(): void {
    if (--this.busy === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** True while some request of this region has block jobs in the lanes. */
  get inLanes(): boolean {
    return this.busy > 0;
  }

  /** Resolves once no request of this region has block jobs in the lanes. */
  whenIdle(): Promise<void> {
    return this.busy === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * The block is now held as `payload` stored bytes (raw: held uncoded).
   * Returns the payload it held before (0 if none).
   */
  hold(index: number, blockLen: number, payload: number, raw: boolean): number {
    const before = this.held.get(index);
    if (before === undefined) {
      this.blocksHeld++;
      this.rawBytesStored += blockLen;
    } else if (before & 1) this.blocksRaw--;
    const heldPayload = before === undefined ? 0 : before >>> 1;
    this.storedBytes += payload - heldPayload;
    this.held.set(index, payload * 2 + (raw ? 1 : 0));
    if (raw) this.blocksRaw++;
    return heldPayload;
  }

  blockCount(): number {
    return Math.ceil(this.size / this.blockBytes);
  }

  blockLen(index: number): number {
    return Math.min(this.blockBytes, this.size - index * this.blockBytes);
  }

  stats(model: EnergyContext): RegionStats {
    const values = (this.codedBytes * 8) / dtypeBits(this.dtype);
    return {
      name: this.name,
      kind: this.kind,
      dtype: this.dtype,
      codec: this.codec,
      base: this.base,
      size: this.size,
      blockBytes: this.blockBytes,
      calibration: this.calibration,
      ...(this.stride === undefined ? {} : { stride: this.stride }),
      bytesWritten: this.bytesWritten,
      bytesRead: this.bytesRead,
      rawBytesStored: this.rawBytesStored,
      storedBytes: this.storedBytes,
      ratio: this.storedBytes > 0 ? this.rawBytesStored / this.storedBytes : 1,
      burstsRaw: this.burstsRaw,
      burstsStored: this.burstsStored,
      blocksHeld: this.blocksHeld,
      blocksRaw: this.blocksRaw,
      writes: this.writes,
      reads: this.reads,
      dramReadBursts: this.dramReadBursts,
      dramWriteBursts: this.dramWriteBursts,
      bufferHits: this.bufferHits,
      bufferMisses: this.bufferMisses,
      fills: this.fills,
      writeBacks: this.writeBacks,
      evictions: this.evictions,
      metadataAccesses: this.metadataAccesses,
      metadataMisses: this.metadataMisses,
      metadataBursts: this.metadataBursts,
      ...trafficEnergy(this.burstsRaw, this.burstsStored, model.burstBytes, model.memory),
      codecValues: values,
      codecTimeS: codecSeconds(this.codec, values, model.codecClockMhz),
      ...(this.shadow ? { shadow: this.shadow.stats(this.rawBytesStored) } : {}),
    };
  }
}

/** What stats need to turn counts into energy and time. */
export interface EnergyContext {
  readonly memory: MemoryModel;
  readonly burstBytes: number;
  readonly codecClockMhz: number;
}
