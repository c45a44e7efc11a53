import { MODE_CODED, MODE_RAW, STORED_HEADER_BYTES } from '../lanes/batch-format.ts';
import type { BlockJob, JobOutcome } from '../lanes/block-job.ts';
import type { LaneScheduler } from '../lanes/lane-scheduler.ts';
import { EV_EVICTION, EV_FILL, EV_HIT, EV_METADATA_ACCESS, EV_METADATA_MISS, EV_MISS, EV_WRITEBACK, OP_READ, OP_WRITE } from '../metrics/series-accumulator.ts';
import { DRAM_FILL, DRAM_METADATA, DRAM_WRITEBACK, metadataLineAddress, type DramObserver } from './dram-observer.ts';
import { MetadataCache } from './metadata-cache.ts';
import { toProtocolError } from './wire-error.ts';
import type { Region } from './region.ts';

/**
 * The per-lane on-chip buffers of the shim, between the request path and
 * the lanes' codecs: 64-byte bursts collect in a buffered block (one slot
 * per block, LRU per lane), a block is coded and written back once, and a
 * compressed block is fetched and decoded once for the run of bursts that
 * reads it. The buffered bytes live on the main thread, so a lane worker
 * that dies takes none of them along.
 *
 * The same slots count the DRAM-side traffic (docs/daemon.md, "Line
 * buffers"): fills and write-backs of compressed blocks in bursts, raw-held
 * blocks burst by burst, and metadata lookups through a metadata cache.
 */

export interface LineBufferOptions {
  /** Buffer bytes per lane (0: no buffers; the engine then keeps the per-access read-modify-write). */
  readonly lineBufferBytes: number;
  readonly burstBytes: number;
  readonly metadataCacheBytes: number;
  /** `--sync always`: every write is also written through (and acknowledged once stored); the buffers then only count. */
  readonly writeThrough: boolean;
  /** Dirty blocks are written back after this long without any access (0: never). */
  readonly idleFlushMs: number;
}

/**
 * The requests' shares of a block waiting for its fill, in arrival order:
 * flat arrays, not an object per piece (a read of a missed block queues
 * every one of its bursts here).
 */
class WaitQueue {
  readonly accesses: BufferedAccess[] = [];
  /** Per piece: offset in the block, length, position in the access buffer. */
  readonly nums: number[] = [];
  get length(): number {
    return this.accesses.length;
  }
  push(access: BufferedAccess, offset: number, len: number, at: number): void {
    this.accesses.push(access);
    this.nums.push(offset, len, at);
  }
}

/** A read or write served by the buffers: settles its listener after its last piece. */
export class BufferedAccess {
  failure: Error | undefined;
  constructor(
    readonly kind: 'write' | 'read',
    readonly buf: Uint8Array,
    public remaining: number,
    readonly done: (error: Error | undefined, data?: Uint8Array) => void,
  ) {}

  /** `at`: the failed piece's position in the access buffer (a vector maps it to its element). */
  pieceDone(e?: Error, _at?: number): void {
    if (e) this.failure ??= e;
    if (--this.remaining === 0) this.done(this.failure, this.failure || this.kind !== 'read' ? undefined : this.buf);
  }
}

/**
 * Typed arrays pooled by length, so slots, write-backs and masks do not
 * allocate per block; keep(len) is how many of a length it holds. A taken
 * array holds what it held (callers that need zeros fill it).
 */
class ArrayPool<T extends Uint8Array | Uint16Array> {
  private readonly free = new Map<number, T[]>();
  constructor(
    private readonly make: (len: number) => T,
    private readonly keep: (len: number) => number,
  ) {}
  take(len: number): T {
    return this.free.get(len)?.pop() ?? this.make(len);
  }
  give(a: T): void {
    let list = this.free.get(a.length);
    if (!list) this.free.set(a.length, (list = []));
    if (list.length < this.keep(a.length)) list.push(a);
  }
}

/**
 * Byte masks of blocks written out of order, and their per-burst counts,
 * reused: scattered bursts give every block one, and a fresh 4 KiB array per
 * block written back was a steady stream of garbage. Only cleaned() gives one
 * back (nothing else holds it); taken ones are zeroed.
 */
const masks = new ArrayPool<Uint8Array>((len) => new Uint8Array(len), () => 64);
const maskCounts = new ArrayPool<Uint16Array>((len) => new Uint16Array(len), () => 64);

/** A buffered block. */
export class Slot {
  /** The block's raw bytes (absent in write-through mode, where the slot only counts). */
  data: Uint8Array | undefined;
  /** Accesses waiting for the block's fill, in arrival order; undefined once the slot holds the block. */
  waiting: WaitQueue | undefined;
  /** Written since allocated or last written back. */
  dirty = false;
  /** A fill failed after writes went in: the bytes no write covered are missing (fetched again when needed). */
  unfilled = false;
  /** Written bytes since the last write-back: one range while writes are contiguous, a byte mask otherwise. */
  lo = 0;
  hi = 0;
  mask: Uint8Array | undefined;
  maskCount = 0;
  /** How the block is held in DRAM: MODE_CODED, MODE_RAW, or -1 (never stored). */
  storedMode = -1;
  /** Raw-held block: which bursts were moved from DRAM (raw data is addressable burst by burst). */
  validBursts: Uint8Array | undefined;
  /** With the mask: bytes of each burst marked in it, so a write of a whole burst marks it without a loop over its bytes. */
  maskBursts: Uint16Array | undefined;
  /** Bursts written since the last write-back (a raw-held block writes back only these). */
  readonly dirtyBursts: Uint8Array;
  /** The lane's LRU list (intrusive: a hit moves the slot to the tail without allocating). */
  prev: Slot | undefined;
  next: Slot | undefined;
  /** In its lane's LRU list. */
  listed = false;

  constructor(
    readonly region: Region,
    readonly index: number,
    readonly lane: number,
    readonly len: number,
    bursts: number,
    /** Bytes per burst (the mask's per-burst counts). */
    readonly burst: number,
  ) {
    this.dirtyBursts = new Uint8Array(bursts);
  }

  /** Were all of [off, end) written since the slot was allocated (or last written back)? */
  covers(off: number, end: number): boolean {
    if (!this.mask) return off >= this.lo && end <= this.hi;
    const m = this.mask;
    for (let i = off; i < end; i++) if (m[i] === 0) return false;
    return true;
  }

  get complete(): boolean {
    return this.mask ? this.maskCount === this.len : this.lo === 0 && this.hi === this.len;
  }

  /** Note bytes [off, end) as written. */
  wrote(off: number, end: number): void {
    this.dirty = true;
    if (!this.mask) {
      if (this.hi === this.lo) {
        this.lo = off;
        this.hi = end;
        return;
      }
      // Contiguous or overlapping streams stay a range; anything else needs the mask.
      if (off <= this.hi && end >= this.lo) {
        if (off < this.lo) this.lo = off;
        if (end > this.hi) this.hi = end;
        return;
      }
      this.mask = masks.take(this.len).fill(0);
      this.maskBursts = maskCounts.take(this.dirtyBursts.length).fill(0);
      this.maskCount = 0;
      this.mark(this.lo, this.hi);
    }
    this.mark(off, end);
  }

  /** Mark [off, end) in the mask: whole bursts by their counts, partial ones byte by byte. */
  private mark(off: number, end: number): void {
    const m = this.mask as Uint8Array;
    const counts = this.maskBursts as Uint16Array;
    const burst = this.burst;
    let i = off;
    while (i < end) {
      const b = Math.floor(i / burst);
      const bStart = b * burst;
      const bEnd = Math.min(bStart + burst, this.len);
      const to = Math.min(end, bEnd);
      const have = counts[b];
      if (have === bEnd - bStart) {
        // Marked whole already.
      } else if (have === 0 && i === bStart && to === bEnd) {
        m.fill(1, bStart, bEnd);
        counts[b] = bEnd - bStart;
        this.maskCount += bEnd - bStart;
      } else {
        let n = 0;
        for (let k = i; k < to; k++) {
          if (m[k] === 0) {
            m[k] = 1;
            n++;
          }
        }
        counts[b] = have + n;
        this.maskCount += n;
      }
      i = to;
    }
  }

  /** A fill arrived: `old`'s bytes go into `data` where the mask says no write covered them (burst by burst where it can). */
  keepWritten(data: Uint8Array, old: Uint8Array): void {
    const m = this.mask as Uint8Array;
    const counts = this.maskBursts as Uint16Array;
    const burst = this.burst;
    for (let b = 0, start = 0; start < this.len; b++, start += burst) {
      const end = Math.min(start + burst, this.len);
      const have = counts[b];
      if (have === end - start) continue;
      if (have === 0) data.set(old.subarray(start, end), start);
      else for (let i = start; i < end; i++) if (m[i] === 0) data[i] = old[i];
    }
  }

  /** Written back: nothing is dirty any more. */
  cleaned(): void {
    this.dirty = false;
    this.lo = this.hi = 0;
    if (this.mask) masks.give(this.mask);
    if (this.maskBursts) maskCounts.give(this.maskBursts);
    this.mask = undefined;
    this.maskBursts = undefined;
    this.maskCount = 0;
    this.dirtyBursts.fill(0);
  }
}

/** A dirty block on its way to the backend (or back from a failed attempt): reads find it here until it is stored. */
export interface WriteBack {
  readonly data: Uint8Array;
  /** The attempt failed: the bytes wait here for the next flush. */
  failed: boolean;
  readonly settled: Promise<void>;
}

class Lane {
  /** Buffered slots, least recently used first (a list through Slot.prev/next: a Set's delete and add per hit cost more than the rest of a burst). */
  head: Slot | undefined;
  tail: Slot | undefined;
  bytes = 0;
  /** The most recently used slot (skips the LRU update on runs of bursts to one block). */
  mru: Slot | undefined;

  /** Append as most recently used. */
  add(s: Slot): void {
    s.prev = this.tail;
    s.next = undefined;
    if (this.tail) this.tail.next = s;
    else this.head = s;
    this.tail = s;
    s.listed = true;
  }

  /** Unlink; false if not listed. */
  delete(s: Slot): boolean {
    if (!s.listed) return false;
    if (s.prev) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = s.next = undefined;
    s.listed = false;
    return true;
  }
}

/**
 * The block pool's size: blocks out at once (slots plus write-backs queued in
 * the lanes) swing by hundreds under vectors, so it keeps up to POOL_BYTES of
 * each length (64 arrays: 25 % of the takes allocated a fresh, zeroed block in
 * an engine-level run of 256-burst vectors with backpressure; 4 MiB: 4 %).
 */
const POOL_BYTES = 4 * 1024 * 1024;

/** Count a buffer event for the region's metric series. */
const event = (region: Region, ev: number): void => {
  if (region.series) region.series.bufferEvents[ev]++;
};

const popcount = (flags: Uint8Array, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) n += flags[i];
  return n;
};

export class LineBuffers {
  private readonly lanes: Lane[];
  readonly metadata: MetadataCache;
  private readonly pool = new ArrayPool<Uint8Array>((len) => new Uint8Array(len), (len) => Math.max(64, POOL_BYTES / len));
  private outgoingBytes = 0;
  /** Raw bytes of dirty slots. */
  private dirtyBytes = 0;
  /** Accesses since the idle timer last looked. */
  private activity = 0;
  private readonly idleTimer: NodeJS.Timeout | undefined;
  /** Sees every DRAM burst counted, with its address (the DRAM trace export); unset in normal runs. */
  observer: DramObserver | undefined;
  /** With an observer: regions by id, to place the metadata lines the cache evicts. */
  private readonly observed = new Map<number, Region>();

  constructor(
    readonly opts: LineBufferOptions,
    lanes: number,
    private readonly scheduler: LaneScheduler,
    /** Called when nothing was accessed for idleFlushMs: the engine writes the buffered blocks back. */
    onIdle: () => void,
  ) {
    this.lanes = Array.from({ length: lanes }, () => new Lane());
    this.metadata = new MetadataCache(opts.metadataCacheBytes, opts.burstBytes);
    if (opts.idleFlushMs > 0) {
      let seen = -1;
      this.idleTimer = setInterval(() => {
        if (this.activity === seen) onIdle();
        seen = this.activity;
      }, opts.idleFlushMs);
      this.idleTimer.unref();
    }
  }

  get enabled(): boolean {
    return this.opts.lineBufferBytes > 0;
  }

  /** Does this region's traffic go through the buffers? Raw data is addressable burst by burst and needs none. */
  buffers(region: Region): boolean {
    return this.opts.lineBufferBytes > 0 && region.codec !== 'raw';
  }

  /**
   * Serve one block's share of an access through its slot. `done` is called
   * when the piece is applied (at once, or after the block's fill).
   */
  piece(region: Region, access: BufferedAccess, index: number, offset: number, len: number, at: number): void {
    this.activity++;
    const slot = this.slotFor(region, index, access.kind === 'write' && offset === 0 && len === region.blockLen(index));
    // Queued only when it has to wait: a burst served at once (the usual case) allocates nothing here.
    if (slot.waiting || slot.unfilled) {
      // The block's old bytes are not here yet. With nothing queued ahead (order holds), a write goes
      // into the slot at once and the fill later fills only the bytes no write covered; so does a read
      // of bytes written since. Anything else waits for the fill.
      const first = !slot.waiting || slot.waiting.length === 0;
      if (first && slot.data && (access.kind === 'write' || slot.covers(offset, offset + len))) {
        this.apply(slot, access, offset, len, at);
        this.streamOut(slot);
        return;
      }
      if (!slot.waiting) this.fill(region, slot);
      (slot.waiting as WaitQueue).push(access, offset, len, at);
      return;
    }
    this.apply(slot, access, offset, len, at);
    this.streamOut(slot);
  }

  /**
   * A completed block has nothing left to gather: it is written back now and
   * its slot freed for the next stream ("streaming write"). A region waiting
   * for its table keeps its blocks. Called after the pieces at hand are all
   * applied, never between them.
   */
  private streamOut(s: Slot): void {
    if (s.dirty && s.complete && !s.region.pending) this.writeBack(s, true);
  }

  /** The block's slot: a hit, or a new slot (filled from DRAM when the access needs the old bytes). */
  private slotFor(region: Region, index: number, wholeWrite: boolean): Slot {
    let s = region.slots.get(index);
    const lane = this.lanes[(region.laneOffset + index) % this.lanes.length];
    if (s) {
      region.bufferHits++; event(region, EV_HIT);
      if (lane.mru !== s) {
        if (lane.tail !== s) {
          lane.delete(s);
          lane.add(s);
        }
        lane.mru = s;
      }
      return s;
    }
    region.bufferMisses++; event(region, EV_MISS);
    const burst = this.opts.burstBytes;
    const len = region.blockLen(index);
    s = new Slot(region, index, (region.laneOffset + index) % this.lanes.length, len, Math.ceil(len / burst), burst);
    region.slots.set(index, s);
    lane.add(s);
    lane.mru = s;
    lane.bytes += len;
    this.evictOver(lane, s);
    // The controller looks the block up before anything else: its size, mode, or "never written".
    this.countMetadata(region, index, false);
    const mark = this.observer ? this.observer.mark() : 0;
    const wb = region.outgoing.get(index);
    if (!this.opts.writeThrough) s.data = this.pool.take(len);
    if (wb) {
      // Its bytes are still on chip, in the write-back queue: the slot takes them. A failed write-back
      // stays there until a flush tries again; one under way is waited for, so that the miss is counted
      // against the block as stored, as it would be had the write-back been faster (counts must not
      // depend on how busy the lanes are).
      s.data?.set(wb.data);
      if (wb.failed) return s;
      s.waiting = new WaitQueue();
      void wb.settled.then(() => {
        if (region.slots.get(index) !== s) return;
        this.countMiss(region, s, wholeWrite, mark);
        this.release(s);
      });
      return s;
    }
    const stored = this.countMiss(region, s, wholeWrite, mark);
    if (stored === undefined) s.data?.fill(0);
    else if (!wholeWrite && s.data) this.fill(region, s);
    return s;
  }

  /**
   * Count a miss against the block as stored: a compressed block is fetched
   * whole (unless the access overwrites all of it), a raw-held one burst by
   * burst as it is read. Returns the held entry (undefined: never stored).
   */
  private countMiss(region: Region, s: Slot, wholeWrite: boolean, mark: number): number | undefined {
    const held = region.held.get(s.index);
    if (held === undefined) return undefined;
    s.storedMode = held & 1 ? MODE_RAW : MODE_CODED;
    // Bursts written already (while a write-back was waited for) are on chip.
    if (s.storedMode === MODE_RAW) s.validBursts = s.dirtyBursts.slice();
    else if (!wholeWrite) {
      region.fills++;
      event(region, EV_FILL);
      const n = Math.ceil((held >>> 1) / this.opts.burstBytes);
      this.countDram(region, OP_READ, n);
      this.observer?.bursts(mark, DRAM_FILL, false, region.base + s.index * region.blockBytes, n);
    }
    return held;
  }

  /** The slot holds its block now: apply what waited, in order, then maybe stream it out. */
  private release(s: Slot): void {
    const waiting = s.waiting;
    s.waiting = undefined;
    if (waiting) {
      const a = waiting.accesses;
      const n = waiting.nums;
      for (let k = 0; k < a.length; k++) this.apply(s, a[k], n[k * 3], n[k * 3 + 1], n[k * 3 + 2]);
    }
    this.streamOut(s);
  }

  /** Fetch and decode the stored block into the slot; accesses wait for it. */
  private fill(region: Region, s: Slot): void {
    s.waiting = new WaitQueue();
    region.enter();
    this.scheduler.submit(s.lane, new FillJob(this, s));
  }

  /**
   * A fill the lanes were spared (FillJob.moot): its DRAM bursts were counted
   * at the miss, as the controller fetches before it knows the block will be
   * overwritten; the codec work it would have done is counted too (as
   * engine.codecWork counts a committed fill of a coded block), so no figure
   * depends on whether the lane got to it first.
   */
  fillDropped(s: Slot): void {
    const region = s.region;
    region.leave();
    if (region.live && region.codec !== 'raw' && s.storedMode === MODE_CODED) region.codedBytes += s.len;
  }

  filled(s: Slot, o: JobOutcome | Error): void {
    const region = s.region;
    region.leave();
    // Written whole meanwhile and streamed out: the old bytes are not needed any more.
    if (region.slots.get(s.index) !== s) return;
    if (o instanceof Error) {
      const waiting = s.waiting;
      s.waiting = undefined;
      // Acknowledged writes went in: the slot stays, without the old bytes, until a fill succeeds.
      if (s.dirty) s.unfilled = true;
      else this.forget(s);
      const e = toProtocolError(o);
      if (waiting) for (let k = 0; k < waiting.length; k++) waiting.accesses[k].pieceDone(e, waiting.nums[k * 3 + 2]);
      return;
    }
    const data = s.data;
    const old = o.bytes;
    if (data && old) {
      // Only the bytes no write covered come from the stored block.
      if (s.mask) s.keepWritten(data, old);
      else if (s.hi > s.lo) {
        data.set(old.subarray(0, s.lo), 0);
        data.set(old.subarray(s.hi), s.hi);
      } else data.set(old);
    }
    s.unfilled = false;
    if (region.series && o.oldLen > 0) region.series.storedBytes[OP_READ] += o.oldLen - STORED_HEADER_BYTES;
    if (region.codecTime) region.codecTime.seconds[o.lane * 2 + OP_READ] += o.codecSec;
    this.release(s);
  }

  private apply(s: Slot, access: BufferedAccess, offset: number, len: number, at: number): void {
    const burst = this.opts.burstBytes;
    const region = s.region;
    const end = offset + len;
    const b0 = Math.floor(offset / burst);
    const b1 = Math.ceil(end / burst);
    if (access.kind === 'read') {
      if (s.data) access.buf.set(s.data.subarray(offset, end), at);
      if (s.validBursts) {
        // Raw-held: only the bursts not yet moved cost DRAM reads.
        const v = s.validBursts;
        const mark = this.observer ? this.observer.mark() : 0;
        let n = 0;
        for (let b = b0; b < b1; b++) {
          if (v[b] === 0) {
            v[b] = 1;
            n++;
            this.observer?.bursts(mark, DRAM_FILL, false, region.base + s.index * region.blockBytes + b * burst, 1);
          }
        }
        if (n) this.countDram(region, OP_READ, n);
      }
      access.pieceDone();
      return;
    }
    if (s.data) s.data.set(access.buf.subarray(at, at + len), offset);
    if (!s.dirty) this.dirtyBytes += s.len;
    s.wrote(offset, end);
    if (b1 - b0 === 1) {
      s.dirtyBursts[b0] = 1;
      // Bursts written are on chip now: coding the block later need not read them.
      if (s.validBursts) s.validBursts[b0] = 1;
    } else {
      s.dirtyBursts.fill(1, b0, b1);
      s.validBursts?.fill(1, b0, b1);
    }
    access.pieceDone();
  }

  /** Make room in a lane: least recently used slots out (not the one being added, nor one being filled). */
  private evictOver(lane: Lane, keep: Slot): void {
    if (lane.bytes <= this.opts.lineBufferBytes) return;
    for (let s = lane.head, next: Slot | undefined; s; s = next) {
      // Taken first: writing back or forgetting unlinks s.
      next = s.next;
      if (lane.bytes <= this.opts.lineBufferBytes) break;
      if (s === keep || s.waiting || s.unfilled) continue;
      s.region.evictions++;
      event(s.region, EV_EVICTION);
      if (s.dirty) this.writeBack(s, true);
      else this.forget(s);
    }
  }

  private forget(s: Slot): void {
    const lane = this.lanes[s.lane];
    if (!lane.delete(s)) return;
    if (s.dirty) {
      this.dirtyBytes -= s.len;
      s.dirty = false;
    }
    lane.bytes -= s.len;
    if (lane.mru === s) lane.mru = undefined;
    if (s.region.slots.get(s.index) === s) s.region.slots.delete(s.index);
    if (s.data) this.pool.give(s.data);
    s.data = undefined;
  }

  /**
   * Code and store a dirty block (release: and free its slot). The bytes go
   * into the region's write-back table first, where misses find them until
   * the backend has them: an acknowledged write is in exactly one of slot,
   * write-back table or backend at any time.
   */
  writeBack(s: Slot, release: boolean): Promise<void> {
    const region = s.region;
    if (s.dirty) this.dirtyBytes -= s.len;
    if (this.opts.writeThrough) {
      // Stored by the write-through already (or about to be): counted as the buffer would have written
      // it, at the size of the next write-through of the block that commits (wroteThrough).
      if (s.dirty) {
        const was = { storedMode: s.storedMode, validBursts: s.validBursts, dirtyBursts: s.dirtyBursts.slice() };
        const held = region.held.get(s.index);
        if (held !== undefined && !region.inLanes) this.countWriteBack(region, s.index, s.len, was, held & 1 ? MODE_RAW : MODE_CODED, held >>> 1, this.observer ? this.observer.mark() : 0);
        else region.owedWriteBacks.set(s.index, was);
      }
      s.cleaned();
      if (release) this.forget(s);
      return Promise.resolve();
    }
    const snapshot = { storedMode: s.storedMode, validBursts: s.validBursts, dirtyBursts: s.dirtyBursts.slice() };
    const mark = this.observer ? this.observer.mark() : 0;
    s.cleaned();
    let data: Uint8Array;
    if (release) {
      data = s.data as Uint8Array;
      s.data = undefined;
      this.forget(s);
    } else {
      data = this.pool.take(s.len);
      data.set(s.data as Uint8Array);
    }
    return this.submitWriteBack(region, s.index, s.lane, data, snapshot, release ? undefined : s, mark);
  }

  /** `mark`: the observer's mark when the write-back was decided (its bursts are counted once it is coded). */
  private submitWriteBack(region: Region, index: number, lane: number, data: Uint8Array, was: SlotSnapshot, kept: Slot | undefined, mark: number): Promise<void> {
    region.enter();
    let settle!: () => void;
    const wb: WriteBack = { data, failed: false, settled: new Promise<void>((r) => (settle = r)) };
    const old = region.outgoing.get(index);
    if (old) this.outgoingBytes -= old.data.length;
    region.outgoing.set(index, wb);
    this.outgoingBytes += data.length;
    this.scheduler.submit(lane, new WriteBackJob(region, index, data, (o) => {
      region.leave();
      if (o instanceof Error) {
        wb.failed = true;
        region.writeBackFailure = o;
        // The bytes stay on chip: in the table (read by misses), written back again by the next flush.
        const slot = region.slots.get(index);
        if (slot && !slot.waiting && slot.data) {
          if (!slot.dirty) this.dirtyBytes += slot.len;
          slot.dirty = true;
          slot.dirtyBursts.fill(1);
          if (region.outgoing.get(index) === wb) this.unqueue(region, index);
          this.pool.give(data);
        }
        settle();
        return;
      }
      if (region.live) {
        const payload = o.storedLen - STORED_HEADER_BYTES;
        region.hold(index, data.length, payload, o.mode === MODE_RAW);
        const acc = region.series;
        if (acc) {
          acc.storedBytes[OP_WRITE] += payload;
          acc.blockWrites++;
          if (o.mode === MODE_RAW) acc.rawFallbackBlocks++;
        }
        if (region.codecTime) region.codecTime.seconds[o.lane * 2 + OP_WRITE] += o.codecSec;
        this.countWriteBack(region, index, data.length, was, o.mode, payload, mark);
      }
      if (kept && kept.region.slots.get(index) === kept) {
        kept.storedMode = o.mode;
        kept.validBursts = o.mode === MODE_RAW ? new Uint8Array(kept.dirtyBursts.length).fill(1) : undefined;
      }
      if (region.outgoing.get(index) === wb) {
        this.unqueue(region, index);
        this.pool.give(data);
      }
      settle();
    }));
    return wb.settled;
  }

  /** Write-through mode: a write of the block committed; count the write-back the buffer owes for it, if any. */
  wroteThrough(region: Region, index: number, len: number, mode: number, payload: number): void {
    const owed = region.owedWriteBacks.get(index);
    if (!owed) return;
    region.owedWriteBacks.delete(index);
    this.countWriteBack(region, index, len, owed, mode, payload, this.observer ? this.observer.mark() : 0);
  }

  /** DRAM bursts of one write-back, by how the block was held before and how it is now. */
  private countWriteBack(region: Region, index: number, len: number, s: SlotSnapshot, mode: number, payload: number, mark: number): void {
    const burst = this.opts.burstBytes;
    let bursts: number;
    let reads = 0;
    if (mode === MODE_CODED) {
      bursts = Math.ceil(payload / burst);
      // Coding a raw-held block needs all of it: the bursts never moved are read first.
      if (s.validBursts) reads = s.validBursts.length - popcount(s.validBursts, 0, s.validBursts.length);
    } else if (s.storedMode === MODE_RAW) bursts = popcount(s.dirtyBursts, 0, s.dirtyBursts.length);
    else bursts = Math.ceil(len / burst);
    region.writeBacks++; event(region, EV_WRITEBACK);
    if (reads) this.countDram(region, OP_READ, reads);
    this.countDram(region, OP_WRITE, bursts);
    if (this.observer) this.observeWriteBack(region, index, len, s, mode, bursts, mark);
    this.countMetadata(region, index, true, mark);
  }

  /** The addresses of countWriteBack's bursts (docs/dram.md, "Address layout"). */
  private observeWriteBack(region: Region, index: number, len: number, s: SlotSnapshot, mode: number, bursts: number, mark: number): void {
    const o = this.observer as DramObserver;
    const burst = this.opts.burstBytes;
    const at = region.base + index * region.blockBytes;
    if (mode === MODE_CODED) {
      const v = s.validBursts;
      if (v) for (let b = 0; b < v.length; b++) if (v[b] === 0) o.bursts(mark, DRAM_WRITEBACK, false, at + b * burst, 1);
      if (bursts) o.bursts(mark, DRAM_WRITEBACK, true, at, bursts);
    } else if (s.storedMode === MODE_RAW) {
      const d = s.dirtyBursts;
      for (let b = 0; b < d.length; b++) if (d[b] === 1) o.bursts(mark, DRAM_WRITEBACK, true, at + b * burst, 1);
    } else o.bursts(mark, DRAM_WRITEBACK, true, at, Math.ceil(len / burst));
  }

  /** DRAM address of metadata line `line` of a region. */
  private metadataAddress(region: Region, line: number): number {
    const perLine = this.metadata.entriesPerLine;
    return metadataLineAddress(region.base + line * perLine * region.blockBytes, this.opts.burstBytes, perLine);
  }

  private countMetadata(region: Region, index: number, write: boolean, mark = this.observer ? this.observer.mark() : 0): void {
    const c = this.metadata.access(region.id, index, write);
    if (this.observer) {
      this.observed.set(region.id, region);
      if (c.readBursts) this.observer.bursts(mark, DRAM_METADATA, false, this.metadataAddress(region, Math.floor(index / this.metadata.entriesPerLine)), c.readBursts);
      if (c.writeBursts) {
        const owner = this.observed.get(c.evictedRegion);
        if (owner) this.observer.bursts(mark, DRAM_METADATA, true, this.metadataAddress(owner, c.evictedLine), c.writeBursts);
      }
    }
    region.metadataAccesses++;
    event(region, EV_METADATA_ACCESS);
    if (c.miss) {
      region.metadataMisses++;
      event(region, EV_METADATA_MISS);
    }
    if (c.readBursts) {
      region.metadataBursts += c.readBursts;
      this.countDram(region, OP_READ, c.readBursts);
    }
    if (c.writeBursts) {
      region.metadataBursts += c.writeBursts;
      this.countDram(region, OP_WRITE, c.writeBursts);
    }
  }

  /** DRAM bursts in one direction (op: OP_READ or OP_WRITE). */
  countDram(region: Region, op: number, bursts: number): void {
    region.burstsStored += bursts;
    if (op === OP_READ) region.dramReadBursts += bursts;
    else region.dramWriteBursts += bursts;
    if (region.series) region.series.storedBursts[op] += bursts;
  }

  /**
   * Write back every dirty block of a region (and its failed write-backs)
   * and the region's dirty metadata lines; resolves once all of it is
   * stored, or rejects with the first failure. `release` also frees the
   * slots (free, shutdown).
   */
  async flushRegion(region: Region, release: boolean): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const s of [...region.slots.values()]) {
      if (s.waiting || s.unfilled) {
        // Being filled (or to be filled again): its pieces are applied first, then it is flushed like the rest.
        if (!s.waiting) this.fill(region, s);
        const filled = new Promise<void>((resolve, reject) => {
          s.waiting!.push(new BufferedAccess('read', new Uint8Array(0), 1, (e) => (e ? reject(e) : resolve())), 0, 0, 0);
        });
        waits.push(filled.then(() => this.flushSlot(s, release)));
        continue;
      }
      waits.push(this.flushSlot(s, release));
    }
    for (const [index, wb] of region.outgoing) {
      if (wb.failed) {
        waits.push(this.submitWriteBack(region, index, (region.laneOffset + index) % this.lanes.length, wb.data, { storedMode: MODE_CODED, validBursts: undefined, dirtyBursts: new Uint8Array(0) }, undefined, this.observer ? this.observer.mark() : 0));
      } else waits.push(wb.settled);
    }
    region.writeBackFailure = undefined;
    await Promise.all(waits);
    const mark = this.observer ? this.observer.mark() : 0;
    this.metadata.clean((r, line) => {
      if (r === region.id) {
        region.metadataBursts++;
        this.countDram(region, OP_WRITE, 1);
        this.observer?.bursts(mark, DRAM_METADATA, true, this.metadataAddress(region, line), 1);
      }
    }, region.id);
    const failure = region.writeBackFailure as Error | undefined;
    if (failure) throw toProtocolError(failure);
  }

  private flushSlot(s: Slot, release: boolean): Promise<void> {
    if (s.region.slots.get(s.index) !== s) return Promise.resolve();
    if (s.dirty) return this.writeBack(s, release);
    if (release) this.forget(s);
    return Promise.resolve();
  }

  /** A region calibrated: its completed blocks, held back while it waited for its table, go out now. */
  calibrated(region: Region): void {
    for (const s of [...region.slots.values()]) if (!s.waiting && s.dirty && s.complete) this.writeBack(s, true);
  }

  /** A freed region: its slots and metadata lines are dead (write back first, with flushRegion, to count them). */
  drop(region: Region): void {
    for (const s of [...region.slots.values()]) this.forget(s);
    for (const [index, wb] of region.outgoing) {
      if (wb.failed) this.pool.give(wb.data);
      this.unqueue(region, index);
    }
    this.metadata.drop(region.id);
    this.observed.delete(region.id);
  }

  private unqueue(region: Region, index: number): void {
    const wb = region.outgoing.get(index);
    if (!wb) return;
    region.outgoing.delete(index);
    this.outgoingBytes -= wb.data.length;
  }

  /** Raw bytes of buffered blocks not in the backend yet: dirty, on their way, or waiting to be tried again (counted against --max-memory). */
  get pendingBytes(): number {
    return this.dirtyBytes + this.outgoingBytes;
  }

  close(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
  }
}

export type SlotSnapshot = Pick<Slot, 'storedMode' | 'validBursts' | 'dirtyBursts'>;

/** Fetch a stored block whole (a read of all its bytes) into its slot. */
class FillJob implements BlockJob {
  readonly kind = 'read' as const;
  readonly region: number;
  readonly index: number;
  readonly blockLen: number;
  readonly offset = 0;
  readonly len: number;
  constructor(
    private readonly buffers: LineBuffers,
    private readonly slot: Slot,
  ) {
    this.region = slot.region.id;
    this.index = slot.index;
    this.blockLen = this.len = slot.len;
  }
  done(o: JobOutcome | Error): void {
    this.buffers.filled(this.slot, o);
  }
  /** The slot was written whole and let go (or dropped) before the fill left: nothing would take its bytes. */
  moot(): boolean {
    return this.slot.region.slots.get(this.slot.index) !== this.slot;
  }
  dropped(): void {
    this.buffers.fillDropped(this.slot);
  }
}

/** Code and store a whole block. */
class WriteBackJob implements BlockJob {
  readonly kind = 'write' as const;
  readonly region: number;
  readonly blockLen: number;
  readonly offset = 0;
  readonly len: number;
  constructor(
    region: Region,
    readonly index: number,
    readonly data: Uint8Array,
    private readonly onDone: (o: JobOutcome | Error) => void,
  ) {
    this.region = region.id;
    this.blockLen = this.len = data.length;
  }
  done(o: JobOutcome | Error): void {
    this.onDone(o);
  }
}
