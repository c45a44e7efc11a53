import type { ChannelClient } from '../../clients/ts/index.ts';
import type { FenceOp, FreeOp } from './format.ts';
import { ABSENT, COL_READ, COL_WRITE, type TraceColumns } from './trace-columns.ts';

/** What a CRC-less read must return, where the replay itself wrote the bytes (WriteOverlay.snapshot). */
export interface ExpectedBytes {
  readonly data: Uint8Array;
  readonly known: Uint8Array;
}

/** Writes up to this long are copied into their window byte by byte (a view per write cost more: GC). */
export const SMALL_WRITE = 256;

/** No CRC for this read (crcs[] holds CRC-32s, which are never negative): the trace columns' ABSENT, so a run's CRCs copy as they are. */
export const NO_CRC = ABSENT;

/**
 * One pacing window of one trace connection: a run of consecutive writes, or
 * of consecutive reads, in trace order, sent as one `writev` / `readv` per
 * copy (protocol/README.md sections 4.8, 4.9); or one fence or free. A run
 * never mixes reads and writes, and windows go out in trace order on the
 * connection, so a read after a write to the same bytes sees it: the daemon
 * applies a connection's requests, and a vector's elements, in order.
 *
 * Windows are pooled (ReplayWindowPool): their typed arrays are filled in
 * place, so the replay allocates nothing per burst while it assembles them.
 */
export class ReplayWindow {
  kind: 'write' | 'read' | 'fence' | 'free' = 'write';
  conn = 0;
  /** Bursts (trace ops) held. */
  n = 0;
  /** Bytes the bursts move: sum of lens (a write window's data sits packed in data[0, bytes)). */
  bytes = 0;
  /** The highest trace time the last gather took (0 when it took none). */
  lastT = 0;
  /** Bytes of the run the last runEnd found. */
  private runBytes = 0;
  /** Trace addresses (before a copy's shift). */
  readonly addrs: Float64Array;
  readonly lens: Float64Array;
  /** Trace times, for messages. */
  readonly ts: Float64Array;
  /** CRC-32 each read must have, NO_CRC where the trace gives none. */
  readonly crcs: Float64Array;
  /** Per copy: the addresses shifted into the copy's slice (only when a shift applies). */
  readonly shifted: Float64Array[] = [];
  data: Uint8Array;
  /** Per copy, per read: the bytes a CRC-less read must return (only for traces without read CRCs). */
  expects: (ExpectedBytes | undefined)[][] | undefined;
  /** The fence or free this window carries. */
  single: FenceOp | FreeOp | undefined;
  /** The client of each copy for this window's connection. */
  readonly clients: ChannelClient[] = [];

  constructor(readonly capacity: number, dataBytes: number) {
    this.addrs = new Float64Array(capacity);
    this.lens = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.crcs = new Float64Array(capacity);
    this.data = new Uint8Array(dataBytes);
  }

  reset(): void {
    this.n = 0;
    this.bytes = 0;
    this.expects = undefined;
    this.single = undefined;
    this.clients.length = 0;
  }

  /** Room for `len` more bytes of write data: a write longer than the buffer gets a larger one. */
  ensureData(len: number): void {
    if (this.bytes + len <= this.data.length) return;
    const grown = new Uint8Array(Math.max(this.data.length * 2, this.bytes + len));
    grown.set(this.data.subarray(0, this.bytes));
    this.data = grown;
  }

  /**
   * Append the column ops c[from, ...) that continue this window: ops of the
   * window's kind on its connection, while it holds fewer than `maxN` bursts
   * and `maxBytes` bytes and, when paced (`speed` > 0), while an op is due,
   * (`offsetNs` + t) / 1e6 / speed ms, less than `paceMs` after
   * `firstDueMs`: the rule the replay's general loop applies op by op.
   * Returns the index of the first op not taken; the highest trace time
   * taken is left in `lastT`. Most of a replay's ops pass here: one small
   * loop finds where the run ends (runEnd), then the columns are copied
   * whole. V8 optimises these at once and for good, where the replay's
   * large window loop was compiled again and again while a cold replay ran
   * (each type of op met late undid the code made before it).
   */
  gatherWrites(c: TraceColumns, from: number, maxN: number, maxBytes: number, speed: number, offsetNs: number, firstDueMs: number, paceMs: number): number {
    const end = this.runEnd(c, from, COL_WRITE, maxN, maxBytes, speed, offsetNs, firstDueMs, paceMs);
    this.ensureData(this.runBytes);
    copyWrites(this.data, this.bytes, c.src, c.len, c.dataAt, from, end);
    this.take(c, from, end);
    return end;
  }

  /** gatherWrites for a window of reads: each read's CRC-32 (NO_CRC where the trace gives none) instead of data. */
  gatherReads(c: TraceColumns, from: number, maxN: number, maxBytes: number, speed: number, offsetNs: number, firstDueMs: number, paceMs: number): number {
    const end = this.runEnd(c, from, COL_READ, maxN, maxBytes, speed, offsetNs, firstDueMs, paceMs);
    // A column's absent CRC is the window's NO_CRC already: copied as they are.
    this.crcs.set(c.crc.subarray(from, end), this.n);
    this.take(c, from, end);
    return end;
  }

  /** Where the run of `col` ops from `from` ends (gatherWrites' rule); its bytes go to runBytes, its highest time to lastT. */
  private runEnd(c: TraceColumns, from: number, col: number, maxN: number, maxBytes: number, speed: number, offsetNs: number, firstDueMs: number, paceMs: number): number {
    const { kind: kinds, conn: conns, t: ts, len: lens } = c;
    const last = Math.min(c.n, from + maxN - this.n);
    const conn = this.conn;
    let bytes = this.bytes;
    let top = 0;
    let i = from;
    for (; i < last; i++) {
      if (kinds[i] !== col) break;
      const cn = conns[i];
      if ((cn === ABSENT ? 0 : cn) !== conn) break;
      const len = lens[i];
      if (bytes + len > maxBytes) break;
      const t = ts[i];
      if (speed > 0 && (offsetNs + t) / 1e6 / speed - firstDueMs >= paceMs) break;
      if (t > top) top = t;
      bytes += len;
    }
    this.runBytes = bytes - this.bytes;
    this.lastT = top;
    return i;
  }

  /** Ops [from, end) of the columns become the window's next bursts (addresses, lengths, times, bytes). */
  private take(c: TraceColumns, from: number, end: number): void {
    this.addrs.set(c.addr.subarray(from, end), this.n);
    this.lens.set(c.len.subarray(from, end), this.n);
    this.ts.set(c.t.subarray(from, end), this.n);
    this.n += end - from;
    this.bytes += this.runBytes;
  }

  /** The addresses of copy `copy`, shifted by `shift` (the same array for every window of that copy). */
  addrsFor(copy: number, shift: number): Float64Array {
    if (shift === 0) return this.addrs.subarray(0, this.n);
    let s = this.shifted[copy];
    if (!s) s = this.shifted[copy] = new Float64Array(this.capacity);
    for (let i = 0; i < this.n; i++) s[i] = this.addrs[i] + shift;
    return s.subarray(0, this.n);
  }
}

/**
 * The data of column writes [from, end) packed into d from `at`. Its own
 * function, so that V8 optimises it (on stack, in its first run) with
 * nothing after the loop it has not seen run: inside gatherWrites, the
 * code after the loop undid that optimised code in each of the first calls.
 */
function copyWrites(d: Uint8Array, at: number, src: Uint8Array, lens: Float64Array, dataAt: Float64Array, from: number, end: number): void {
  let bytes = at;
  for (let i = from; i < end; i++) {
    const len = lens[i];
    const p = dataAt[i];
    if (len <= SMALL_WRITE) for (let k = 0; k < len; k++) d[bytes + k] = src[p + k];
    else d.set(src.subarray(p, p + len), bytes);
    bytes += len;
  }
}

/** A free list of windows: at most `inFlight + 1` exist at once (those sent plus the one being filled). */
export class ReplayWindowPool {
  private readonly free: ReplayWindow[] = [];

  constructor(
    private readonly capacity: number,
    private readonly dataBytes: number,
  ) {}

  take(): ReplayWindow {
    const w = this.free.pop() ?? new ReplayWindow(this.capacity, this.dataBytes);
    w.reset();
    return w;
  }

  give(w: ReplayWindow): void {
    this.free.push(w);
  }
}
