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
  STORED_HEADER_BYTES,
  type LaneBatch,
  type LaneMessage,
  type LaneResult,
} from './batch-format.ts';

/**
 * A block this lane wrote in a batch the main thread may not have committed
 * yet. Later batches read it from here instead of the (possibly stale)
 * stored copy they were given: that is what lets a lane hold several batches
 * while a read after a write still sees the write.
 */
interface RecentBlock {
  seq: number;
  raw: Uint8Array;
  storedLen: number;
  mode: number;
}

/**
 * The codec work of one lane, independent of how it is run (worker thread or
 * in-process). Jobs run strictly in the order received, so per-block order
 * holds by construction.
 */
export class LaneProcessor {
  private readonly models = new Map<number, CodecModel>();
  private readonly recent = new Map<string, RecentBlock>();

  handle(msg: LaneMessage): LaneResult | undefined {
    if (msg.type === 'model') {
      if (!isDtype(msg.dtype)) throw new Error(`lane: unknown dtype ${msg.dtype}`);
      this.models.set(msg.region, codecByName(msg.codec).load(msg.params, msg.dtype));
      return undefined;
    }
    if (msg.type === 'drop') {
      this.models.delete(msg.region);
      const prefix = `${msg.region}:`;
      for (const k of this.recent.keys()) if (k.startsWith(prefix)) this.recent.delete(k);
      return undefined;
    }
    return this.runBatch(msg);
  }

  private runBatch(b: LaneBatch): LaneResult {
    const t0 = performance.now();
    // Committed batches are in the backend now: their cached blocks are no longer needed.
    for (const [k, e] of this.recent) if (e.seq <= b.builtAfter) this.recent.delete(k);

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
    const out = new Uint8Array(outBytes);
    const results = new Float64Array(n * RES_FIELDS);
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
    return { seq: b.seq, results, out: out.buffer, errors, batchSec: (performance.now() - t0) / 1000 };
  }

  private runJob(b: LaneBatch, jobs: Float64Array, o: number, data: Uint8Array, out: Uint8Array, w: number, res: Float64Array, r: number): number {
    const region = jobs[o + JOB_REGION];
    const index = jobs[o + JOB_INDEX];
    const blockLen = jobs[o + JOB_BLOCK_LEN];
    const offset = jobs[o + JOB_OFFSET];
    const len = jobs[o + JOB_LEN];
    const isWrite = jobs[o + JOB_KIND] === JOB_WRITE;
    const key = `${region}:${index}`;
    const model = this.models.get(region);
    let codecSec = 0;

    // The block's current raw bytes, when the job needs them.
    let cached = this.recent.get(key);
    if (cached && cached.seq <= b.builtAfter) cached = undefined;
    const storedOff = jobs[o + JOB_STORED_OFF];
    const storedLen = jobs[o + JOB_STORED_LEN];
    const oldLen = cached ? cached.storedLen : storedOff >= 0 ? storedLen : -1;
    const oldMode = cached ? cached.mode : storedOff >= 0 ? data[storedOff] : -1;
    const whole = isWrite && offset === 0 && len === blockLen;
    let current: Uint8Array | undefined;
    if (!whole) {
      if (cached) current = cached.raw;
      else if (storedOff >= 0) {
        current = new Uint8Array(blockLen);
        const payload = data.subarray(storedOff + STORED_HEADER_BYTES, storedOff + storedLen);
        if (data[storedOff] === MODE_RAW) current.set(payload);
        else {
          if (!model) throw new Error(`lane: no model for region ${region}`);
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
      res[r + RES_OUT_LEN] = len;
      res[r + RES_MODE] = oldMode < 0 ? MODE_RAW : oldMode;
      res[r + RES_CODEC_SEC] = codecSec;
      return w + len;
    }

    if (!model) throw new Error(`lane: no model for region ${region}`);
    const patch = data.subarray(jobs[o + JOB_DATA_OFF], jobs[o + JOB_DATA_OFF] + len);
    let raw: Uint8Array;
    if (whole) raw = patch; // a view into this batch's buffer, which stays alive while cached
    else {
      raw = current ?? new Uint8Array(blockLen);
      raw.set(patch, offset);
    }
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
    this.recent.set(key, { seq: b.seq, raw, storedLen: stored, mode });
    res[r + RES_OUT_LEN] = stored;
    res[r + RES_MODE] = mode;
    res[r + RES_CODEC_SEC] = codecSec;
    return w + stored;
  }
}
