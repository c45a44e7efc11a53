import { performance } from 'node:perf_hooks';
import type { CodecModel } from '../codecs/codec.ts';
import { isDtype } from '../codecs/dtype.ts';
import { codecByName } from '../codecs/index.ts';
import {
  JOB_BLOCK_LEN,
  JOB_DATA_OFF,
  JOB_FIELDS,
  JOB_INDEX,
  JOB_KIND,
  JOB_LEN,
  JOB_OFFSET,
  JOB_REGION,
  JOB_STORED_LEN,
  JOB_STORED_OFF,
  JOB_WRITE,
  MODE_CODED,
  MODE_RAW,
  RES_CODEC_SEC,
  RES_ERROR,
  RES_FIELDS,
  RES_MODE,
  RES_OLD_LEN,
  RES_OLD_MODE,
  RES_OUT_LEN,
  RES_OUT_OFF,
  SHADOW_FIELDS,
  STORED_HEADER_BYTES,
  type LaneBatch,
  type LaneMessage,
  type LaneResult,
} from './batch-format.ts';
import { BufferPool } from './buffer-pool.ts';

/**
 * A block this lane wrote in a batch the main thread may not have committed
 * yet. Later batches read it from here instead of the (possibly stale)
 * stored copy they were given: that is what lets a lane hold several batches
 * while a read after a write still sees the write.
 */
interface RecentBlock {
  seq: number;
  region: number;
  index: number;
  /** The lane's own copy (from `blocks`): the batch buffer it came from goes back to the main thread. */
  raw: Uint8Array;
  storedLen: number;
  mode: number;
}

/** Block-sized scratch arrays, by length, so cached and decoded blocks do not allocate per job. */
class BlockPool {
  private readonly free = new Map<number, Uint8Array[]>();
  constructor(private readonly perSize = 256) {}
  take(len: number): Uint8Array {
    return this.free.get(len)?.pop() ?? new Uint8Array(len);
  }
  give(b: Uint8Array): void {
    let list = this.free.get(b.length);
    if (!list) this.free.set(b.length, (list = []));
    if (list.length < this.perSize) list.push(b);
  }
}

/**
 * The codec work of one lane, independent of how it is run (worker thread or
 * in-process). Jobs run strictly in the order received, so per-block order
 * holds by construction.
 */
export class LaneProcessor {
  private readonly models = new Map<number, CodecModel>();
  /** Recently written blocks by region, then block index (numbers: no key strings per job). */
  private readonly recent = new Map<number, Map<number, RecentBlock>>();
  /** Every entry ever put in `recent`, oldest first (seq only grows): eviction pops from the front. */
  private order: RecentBlock[] = [];
  private orderHead = 0;
  private readonly blocks = new BlockPool();
  /** out/results buffers handed back by the main thread. */
  private readonly buffers = new BufferPool(8);
  /** Shadow codecs by region: sampled blocks are coded with these too, and only their sizes reported. */
  private readonly shadows = new Map<number, { sample: number; models: { slot: number; model: CodecModel }[] }>();
  /** Shadow records of the batch being run (SHADOW_FIELDS numbers each). */
  private shadowOut: number[] = [];
  private shadowScratch = new Uint8Array(0);

  handle(msg: LaneMessage): LaneResult | undefined {
    if (msg.type === 'model') {
      if (!isDtype(msg.dtype)) throw new Error(`lane: unknown dtype ${msg.dtype}`);
      this.models.set(msg.region, codecByName(msg.codec).load(msg.params, msg.dtype));
      const dtype = msg.dtype;
      if (msg.shadow && msg.shadow.models.length) {
        this.shadows.set(msg.region, { sample: msg.shadow.sample, models: msg.shadow.models.map((m) => ({ slot: m.slot, model: codecByName(m.codec).load(m.params, dtype) })) });
      } else this.shadows.delete(msg.region);
      return undefined;
    }
    if (msg.type === 'drop') {
      this.models.delete(msg.region);
      this.shadows.delete(msg.region);
      // Its entries in `order` are skipped at eviction (no longer in the map).
      this.recent.delete(msg.region);
      return undefined;
    }
    return this.runBatch(msg);
  }

  private runBatch(b: LaneBatch): LaneResult {
    const t0 = performance.now();
    for (const buf of b.spare) this.buffers.give(buf);
    this.evict(b.builtAfter);

    const jobs = b.jobs;
    const n = jobs.length / JOB_FIELDS;
    const data = new Uint8Array(b.data);
    // Size the output: a stored block per write (worst case), the bytes per read.
    let outBytes = 0;
    for (let j = 0; j < n; j++) {
      const o = j * JOB_FIELDS;
      if (jobs[o + JOB_KIND] === JOB_WRITE) {
        const model = this.models.get(jobs[o + JOB_REGION]);
        const bl = jobs[o + JOB_BLOCK_LEN];
        outBytes += STORED_HEADER_BYTES + Math.max(bl, model ? model.maxEncodedBytes(bl) : bl);
      } else outBytes += jobs[o + JOB_LEN];
    }
    const out = new Uint8Array(this.buffers.take(outBytes), 0, outBytes);
    const results = new Float64Array(this.buffers.take(n * RES_FIELDS * 8), 0, n * RES_FIELDS);
    const errors: Record<number, string> = {};
    let w = 0;
    for (let j = 0; j < n; j++) {
      const o = j * JOB_FIELDS;
      const r = j * RES_FIELDS;
      try {
        w = this.runJob(b, jobs, o, data, out, w, results, r);
      } catch (e) {
        results[r + RES_MODE] = RES_ERROR;
        errors[j] = (e as Error).message;
      }
    }
    const res: LaneResult = { seq: b.seq, results, out: out.buffer, errors, batchSec: (performance.now() - t0) / 1000, jobs: b.jobs, data: b.data };
    if (this.shadowOut.length === 0) return res;
    const shadow = Float64Array.from(this.shadowOut);
    this.shadowOut.length = 0;
    return { ...res, shadow };
  }

  /**
   * Code a sampled block with the region's shadow codecs and note what each
   * would store (payload; raw size when it does not shrink, as the real path
   * holds such blocks raw). Nothing of it is stored, and its time is not
   * codec time of the region.
   */
  private shadowCode(region: number, index: number, raw: Uint8Array): void {
    const sh = this.shadows.get(region);
    if (!sh || index % sh.sample !== 0) return;
    for (const { slot, model } of sh.models) {
      const room = Math.max(raw.length, model.maxEncodedBytes(raw.length));
      if (this.shadowScratch.length < room) this.shadowScratch = new Uint8Array(room);
      const coded = model.encodeBlock(raw, this.shadowScratch.subarray(0, room));
      this.shadowOut.push(region, index, raw.length, slot, Math.min(coded, raw.length));
    }
  }

  /** Committed batches are in the backend now: their cached blocks are no longer needed. */
  private evict(builtAfter: number): void {
    const order = this.order;
    let h = this.orderHead;
    while (h < order.length && order[h].seq <= builtAfter) {
      const e = order[h++];
      const m = this.recent.get(e.region);
      // Replaced by a newer write of the block (or the region dropped): not this entry's to free.
      if (m?.get(e.index) !== e) continue;
      m.delete(e.index);
      this.blocks.give(e.raw);
    }
    if (h === order.length) {
      order.length = 0;
      h = 0;
    } else if (h > 4096 && h * 2 > order.length) {
      this.order = order.slice(h);
      h = 0;
    }
    this.orderHead = h;
  }

  private remember(seq: number, region: number, index: number, raw: Uint8Array, storedLen: number, mode: number): void {
    let m = this.recent.get(region);
    if (!m) this.recent.set(region, (m = new Map()));
    const old = m.get(index);
    // A partial write edits the cached copy in place; a whole one replaces it.
    if (old && old.raw !== raw) this.blocks.give(old.raw);
    const e: RecentBlock = { seq, region, index, raw, storedLen, mode };
    m.set(index, e);
    this.order.push(e);
  }

  private runJob(b: LaneBatch, jobs: Float64Array, o: number, data: Uint8Array, out: Uint8Array, w: number, res: Float64Array, r: number): number {
    const region = jobs[o + JOB_REGION];
    const index = jobs[o + JOB_INDEX];
    const blockLen = jobs[o + JOB_BLOCK_LEN];
    const offset = jobs[o + JOB_OFFSET];
    const len = jobs[o + JOB_LEN];
    const isWrite = jobs[o + JOB_KIND] === JOB_WRITE;
    const model = this.models.get(region);
    let codecSec = 0;

    // The block's current raw bytes, when the job needs them.
    let cached = this.recent.get(region)?.get(index);
    if (cached && cached.seq <= b.builtAfter) cached = undefined;
    const storedOff = jobs[o + JOB_STORED_OFF];
    const storedLen = jobs[o + JOB_STORED_LEN];
    const oldLen = cached ? cached.storedLen : storedOff >= 0 ? storedLen : -1;
    const oldMode = cached ? cached.mode : storedOff >= 0 ? data[storedOff] : -1;
    const whole = isWrite && offset === 0 && len === blockLen;
    let current: Uint8Array | undefined;
    /** `current` is scratch from the pool (not the cached copy): give it back unless it is kept. */
    let scratch = false;
    if (!whole) {
      if (cached) current = cached.raw;
      else if (storedOff >= 0) {
        current = this.blocks.take(blockLen);
        scratch = true;
        const payload = data.subarray(storedOff + STORED_HEADER_BYTES, storedOff + storedLen);
        if (data[storedOff] === MODE_RAW) current.set(payload);
        else {
          if (!model) {
            this.blocks.give(current);
            throw new Error(`lane: no model for region ${region}`);
          }
          const t = performance.now();
          model.decodeBlock(payload, current);
          codecSec += (performance.now() - t) / 1000;
        }
      }
    }

    res[r + RES_OLD_LEN] = oldLen;
    res[r + RES_OLD_MODE] = oldMode;
    res[r + RES_OUT_OFF] = w;
    if (!isWrite) {
      // Never written reads as zero. Fill explicitly: an encoder may have used
      // the free tail of `out` as scratch (rANS codes from the end backwards).
      if (current) out.set(current.subarray(offset, offset + len), w);
      else out.fill(0, w, w + len);
      if (scratch && current) this.blocks.give(current);
      res[r + RES_OUT_LEN] = len;
      res[r + RES_MODE] = oldMode < 0 ? MODE_RAW : oldMode;
      res[r + RES_CODEC_SEC] = codecSec;
      return w + len;
    }

    if (!model) {
      if (scratch && current) this.blocks.give(current);
      throw new Error(`lane: no model for region ${region}`);
    }
    const patch = data.subarray(jobs[o + JOB_DATA_OFF], jobs[o + JOB_DATA_OFF] + len);
    let raw: Uint8Array;
    if (current) raw = current;
    else {
      raw = this.blocks.take(blockLen);
      // A never-written block is zero around the patch (a pooled array holds old bytes).
      if (!whole) raw.fill(0);
    }
    raw.set(patch, offset);
    const t = performance.now();
    // Bound the encoder to its own slot: room for maxEncodedBytes, nothing more.
    const slot = out.subarray(w + STORED_HEADER_BYTES, w + STORED_HEADER_BYTES + Math.max(blockLen, model.maxEncodedBytes(blockLen)));
    const coded = model.encodeBlock(raw, slot);
    codecSec += (performance.now() - t) / 1000;
    let mode = MODE_CODED;
    let size = coded;
    if (coded >= blockLen) {
      // Did not compress: hold it raw (the caller counts these).
      mode = MODE_RAW;
      out.set(raw, w + STORED_HEADER_BYTES);
      size = blockLen;
    }
    out[w] = mode;
    const stored = STORED_HEADER_BYTES + size;
    this.remember(b.seq, region, index, raw, stored, mode);
    if (this.shadows.size) this.shadowCode(region, index, raw);
    res[r + RES_OUT_LEN] = stored;
    res[r + RES_MODE] = mode;
    res[r + RES_CODEC_SEC] = codecSec;
    return w + stored;
  }
}
