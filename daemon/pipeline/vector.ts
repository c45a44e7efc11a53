import type { VectorFailure } from '../../protocol/types.ts';
import type { BlockJob, JobOutcome } from '../lanes/block-job.ts';
import { BufferedAccess } from './line-buffers.ts';
import type { Region } from './region.ts';
import { toProtocolError } from './wire-error.ts';

/**
 * Burst vectors (writev/readv, protocol/README.md 4.8-4.10) in the engine:
 * what one vector's elements share while they are served. The hot path
 * allocates per vector and per block touched, not per element: elements
 * served by the line buffers share one BufferedAccess, and elements of a
 * raw region share one lane job per covered run of each block.
 */

/** Hears once when every element of a writev/readv has settled. */
export interface VectorListener {
  vectorDone(failed: VectorFailure[], data: Uint8Array | undefined): void;
}

/** One writev/readv being served: per-element failures and the count of parts still out. */
export class VectorAccess {
  /** Parts not settled yet (+1 held by admission). */
  remaining = 1;
  private failIdx: number[] | undefined;
  private failErr: Error[] | undefined;
  /** Elements refused at admission (not recorded by serve --record). */
  refused: Uint8Array | undefined;
  constructor(
    readonly kind: 'write' | 'read',
    /** writev: the packed data; readv: the packed answer being filled. */
    readonly buf: Uint8Array,
    /** starts[i]: element i's offset in `buf`; starts[n]: the total. */
    readonly starts: Float64Array,
    readonly listener: VectorListener,
  ) {}

  get length(): number {
    return this.starts.length - 1;
  }

  /** Element i did not apply (several pieces may report it: the first counts). */
  fail(i: number, e: unknown): void {
    (this.failIdx ??= []).push(i);
    (this.failErr ??= []).push(e as Error);
  }

  /** Refused before anything started (out of region, wrong channel, memory full). */
  refuse(i: number, e: unknown): void {
    (this.refused ??= new Uint8Array(this.length))[i] = 1;
    this.fail(i, e);
  }

  /** The element whose bytes hold buffer position `at` (a failed piece's). */
  elementAt(at: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    // The last start at or below `at`: zero-length elements before it share its start and hold no bytes.
    return lo;
  }

  /** An element served as a single access (its own lane jobs) is done. */
  accessDone(error: Error | undefined, _data?: Uint8Array, tag?: number): void {
    if (error) this.fail(tag ?? 0, error);
    this.partDone();
  }

  partDone(): void {
    if (--this.remaining === 0) this.finish();
  }

  private finish(): void {
    const failed: VectorFailure[] = [];
    if (this.failIdx) {
      const idx = this.failIdx;
      const err = this.failErr as Error[];
      const order = idx.map((_, k) => k).sort((a, b) => idx[a] - idx[b] || a - b);
      for (const k of order) {
        const i = idx[k];
        if (failed.length && failed[failed.length - 1].index === i) continue;
        const p = toProtocolError(err[k]);
        failed.push({ index: i, code: p.code, message: clipMessage(p.message) });
        // A failed element reads as zeros, whatever pieces of it did read.
        if (this.kind === 'read') this.buf.fill(0, this.starts[i], this.starts[i + 1]);
      }
    }
    try {
      this.listener.vectorDone(failed, this.kind === 'read' ? this.buf : undefined);
    } catch (e) {
      process.stderr.write(`shimpack: internal error while answering a ${this.kind}v: ${(e as Error)?.stack ?? String(e)}\n`);
    }
  }
}

/** The vector's pieces in line-buffered regions: one access for all, a failed piece names its element by position. */
export class VectorBufferedAccess extends BufferedAccess {
  constructor(readonly vector: VectorAccess) {
    super(vector.kind, vector.buf, 1, noop);
  }

  override pieceDone(e?: Error, at?: number): void {
    if (e) this.vector.fail(at === undefined ? 0 : this.vector.elementAt(at), e);
    if (--this.remaining === 0) this.vector.partDone();
  }
}

const noop = (): void => undefined;

/**
 * The pieces of one vector in one block of a raw region (which the line
 * buffers pass through): served as one lane job per run of covered bytes
 * instead of one per element. Counted as the elements would be.
 */
export class BlockGroup {
  /** Per piece: offset in the block, length, position in the vector buffer, element (flat, in element order). */
  readonly pieces: number[] = [];
  lo = Infinity;
  hi = -Infinity;
  /** DRAM bursts the pieces count as single accesses, and their bytes. */
  rawBursts = 0;
  bytes = 0;
  /** Run jobs still out. */
  remaining = 0;
  failure: Error | undefined;
  last: JobOutcome | undefined;
  codecSec = 0;
  /** Written bytes assembled in element order (writes), or the runs' bytes read (reads): [lo, hi) of the block. */
  scratch: Uint8Array | undefined;
  constructor(
    readonly vector: VectorAccess,
    readonly region: Region,
    readonly index: number,
    readonly blockLen: number,
  ) {}

  add(offset: number, len: number, at: number, element: number, rawBursts: number): void {
    this.pieces.push(offset, len, at, element);
    if (offset < this.lo) this.lo = offset;
    if (offset + len > this.hi) this.hi = offset + len;
    this.rawBursts += rawBursts;
    this.bytes += len;
  }

  /** The covered runs [start, end) of the block, in address order (flat pairs). */
  runs(): number[] {
    const p = this.pieces;
    const n = p.length / 4;
    if (n === 1) return [p[0], p[0] + p[1]];
    const order = new Int32Array(n);
    for (let k = 0; k < n; k++) order[k] = k;
    order.sort((a, b) => p[a * 4] - p[b * 4]);
    const out: number[] = [];
    let s = p[order[0] * 4];
    let e = s + p[order[0] * 4 + 1];
    for (let k = 1; k < n; k++) {
      const o = p[order[k] * 4];
      const end = o + p[order[k] * 4 + 1];
      if (o > e) {
        out.push(s, e);
        s = o;
        e = end;
      } else if (end > e) e = end;
    }
    out.push(s, e);
    return out;
  }
}

/** One run of a BlockGroup handed to a lane. */
export class RunJob implements BlockJob {
  readonly region: number;
  readonly blockLen: number;
  readonly index: number;
  constructor(
    readonly group: BlockGroup,
    readonly kind: 'write' | 'read',
    readonly offset: number,
    readonly len: number,
    readonly data: Uint8Array | undefined,
    private readonly onDone: (job: RunJob, o: JobOutcome | Error) => void,
  ) {
    this.region = group.region.id;
    this.blockLen = group.blockLen;
    this.index = group.index;
  }

  done(outcome: JobOutcome | Error): void {
    this.onDone(this, outcome);
  }
}

/** UTF-8 bytes of a `failed` entry's message at most (protocol 4.9: each entry stays under 256 bytes, so a readv's answer has a known bound). */
export const MAX_FAILURE_MESSAGE_BYTES = 200;

/** The message, cut at a character boundary to MAX_FAILURE_MESSAGE_BYTES of UTF-8 ("..." at the end when cut). */
export function clipMessage(m: string): string {
  if (Buffer.byteLength(m) <= MAX_FAILURE_MESSAGE_BYTES) return m;
  let out = '';
  let bytes = 0;
  for (const ch of m) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > MAX_FAILURE_MESSAGE_BYTES - 3) break;
    out += ch;
    bytes += b;
  }
  return `${out}...`;
}
