import type { Unpackr } from 'msgpackr';
import { MAX_ADDRESS, validateRecord, type TraceRecord } from './format.ts';

/** Kind of record i of a TraceColumns: a write or read held in the columns, or any other record (in `others`). */
export const COL_OTHER = 0;
export const COL_WRITE = 1;
export const COL_READ = 2;

/** Column value of an optional field the record does not have (conn, crc). */
export const ABSENT = -1;

/**
 * Records of a trace chunk, column-wise: writes and reads (nearly every
 * record of a trace) as numbers in typed arrays, a write's bytes as an
 * offset into the chunk, and every other record (header, regions, fences,
 * frees, the end, and any op the column decoder leaves to msgpackr) as the
 * validated object in `others`. A replay reads millions of ops: an object
 * (and a Buffer view) per op cost it more than the rest of its work.
 */
export class TraceColumns {
  n = 0;
  kind: Uint8Array;
  t: Float64Array;
  conn: Float64Array;
  addr: Float64Array;
  len: Float64Array;
  crc: Float64Array;
  /** Where a write's bytes start in `src`. */
  dataAt: Float64Array;
  readonly others = new Map<number, TraceRecord>();

  constructor(
    /** The decoded bytes: a write's data is src[dataAt, dataAt + len). */
    public src: Buffer,
    capacity: number,
  ) {
    this.kind = new Uint8Array(capacity);
    this.t = new Float64Array(capacity);
    this.conn = new Float64Array(capacity);
    this.addr = new Float64Array(capacity);
    this.len = new Float64Array(capacity);
    this.crc = new Float64Array(capacity);
    this.dataAt = new Float64Array(capacity);
  }

  /** Empty again, for the records of `src` (the typed arrays are kept: a fresh set per chunk cost more than decoding it). */
  reset(src: Buffer): void {
    this.src = src;
    this.n = 0;
    this.others.clear();
  }

  /** The bytes of write i (a view of the chunk). */
  data(i: number): Buffer {
    return this.src.subarray(this.dataAt[i], this.dataAt[i] + this.len[i]);
  }

  /** Record i as the object msgpackr and validateRecord give for it (optional fields only when present). */
  record(i: number): TraceRecord {
    const k = this.kind[i];
    if (k === COL_OTHER) return this.others.get(i) as TraceRecord;
    const conn = this.conn[i] === ABSENT ? {} : { conn: this.conn[i] };
    if (k === COL_WRITE) return { type: 'op', op: 'write', t: this.t[i], ...conn, addr: this.addr[i], len: this.len[i], data: this.data(i) };
    return { type: 'op', op: 'read', t: this.t[i], ...conn, addr: this.addr[i], len: this.len[i], ...(this.crc[i] === ABSENT ? {} : { crc: this.crc[i] }) };
  }

  /** Append a write or read (the caller checked it as validateRecord would). */
  push(kind: number, t: number, conn: number, addr: number, len: number, crc: number, dataAt: number): void {
    if (this.n === this.kind.length) this.grow();
    const i = this.n++;
    this.kind[i] = kind;
    this.t[i] = t;
    this.conn[i] = conn;
    this.addr[i] = addr;
    this.len[i] = len;
    this.crc[i] = crc;
    this.dataAt[i] = dataAt;
  }

  pushOther(rec: TraceRecord): void {
    if (this.n === this.kind.length) this.grow();
    this.kind[this.n] = COL_OTHER;
    this.others.set(this.n++, rec);
  }

  private grow(): void {
    const cap = Math.max(16, this.kind.length * 2);
    const g = <T extends Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a as never);
      return b;
    };
    this.kind = g(this.kind, (n) => new Uint8Array(n));
    const f = (n: number): Float64Array => new Float64Array(n);
    this.t = g(this.t, f);
    this.conn = g(this.conn, f);
    this.addr = g(this.addr, f);
    this.len = g(this.len, f);
    this.crc = g(this.crc, f);
    this.dataAt = g(this.dataAt, f);
  }
}

// Keys of an op record, by the bit the decoder marks them with.
const K_TYPE = 1;
const K_OP = 2;
const K_T = 4;
const K_CONN = 8;
const K_ADDR = 16;
const K_LEN = 32;
const K_CRC = 64;
const K_DATA = 128;

/** Keys every op has, and those a write or a read may have (constants: an or computed late was new to V8, as above). */
const OP_KEYS = K_TYPE | K_OP | K_T | K_ADDR | K_LEN;
const WRITE_KEYS = OP_KEYS | K_CONN | K_DATA;
const READ_KEYS = OP_KEYS | K_CONN | K_CRC;

/** Returned by the column decoder: the record at `pos` runs past the chunk (more bytes needed). */
const INCOMPLETE = -1;
/** Returned by the column decoder: leave the record at `pos` to msgpackr. */
const SLOW = -2;

// The last unsigned integer read (readUint's value: the decoder allocates nothing per field).
let uintValue = 0;

/**
 * Read a msgpack unsigned integer at p (positive fixint, uint 8/16/32/64 up
 * to 2^53): the position after it, INCOMPLETE, or SLOW for anything else
 * (negative, float: msgpackr and validateRecord judge those). The widths
 * share one loop, so one byte load serves them all: a trace's times and
 * addresses grow from one width to the next as it goes, and a load V8 had
 * not seen yet undid the optimised decoder each time (three compiles of it
 * in a cold replay).
 */
function readUint(s: Buffer, p: number, end: number): number {
  if (p >= end) return INCOMPLETE;
  const b = s[p];
  if (b <= 0x7f) {
    uintValue = b;
    return p + 1;
  }
  // every width compared each time (as the keys in decodeOp): the first 4-byte value (an address over 64 KiB, a
  // read's CRC) must not be a comparison V8 first meets in optimised code
  const size = (b === 0xcc ? 1 : 0) + (b === 0xcd ? 2 : 0) + (b === 0xce ? 4 : 0) + (b === 0xcf ? 8 : 0);
  if (size === 0) return SLOW;
  if (p + 1 + size > end) return INCOMPLETE;
  // beyond 2^53 (uint 64 with any of its top 11 bits set): not a safe integer
  if (size === 8 && (s[p + 1] !== 0 || s[p + 2] >= 0x20)) return SLOW;
  // From -0, a double: V8 then does this sum in floating point from the start. From 0 it speculated on small
  // integers and undid the optimised decoder at the first value over 2^31 (a read's CRC-32). No value is -0
  // at the end (-0 + 0 is +0).
  let v = -0;
  for (let k = 1; k <= size; k++) v = v * 256 + s[p + k];
  uintValue = v;
  return p + 1 + size;
}

/** The bytes of a short ASCII string (up to 4) as a little-endian integer: the decoder matches keys and op names by these. */
function keyWord(text: string): number {
  let w = 0;
  for (let i = 0; i < text.length; i++) w |= text.charCodeAt(i) << (8 * i);
  return w;
}
const W_OP = keyWord('op');
const W_LEN = keyWord('len');
const W_CRC = keyWord('crc');
const W_TYPE = keyWord('type');
const W_ADDR = keyWord('addr');
const W_DATA = keyWord('data');
const W_CONN = keyWord('conn');
/** 'writ' (of "write") and "read", the op values. */
const W_WRIT = keyWord('writ');
const W_READ = keyWord('read');

/**
 * Decode one plain write or read record at `pos` into the columns: the
 * position after it, INCOMPLETE, or SLOW when the record is anything else
 * (another record type, an unknown or repeated key, a value of another
 * msgpack type, or a field validateRecord would refuse), which msgpackr
 * and validateRecord then decode and judge.
 */
function decodeOp(s: Buffer, pos: number, end: number, cols: TraceColumns): number {
  let p = pos;
  const b = s[p];
  let entries: number;
  if ((b & 0xf0) === 0x80) {
    entries = b & 0x0f;
    p += 1;
  } else if (b === 0xde) {
    if (p + 3 > end) return INCOMPLETE;
    entries = (s[p + 1] << 8) | s[p + 2];
    p += 3;
  } else return SLOW;
  if (entries > 8) return SLOW;
  let seen = 0;
  let op = 0;
  let t = 0;
  let conn = ABSENT;
  let addr = 0;
  let len = 0;
  let crc = ABSENT;
  let dataAt = 0;
  let dataLen = 0;
  for (let e = 0; e < entries; e++) {
    if (p >= end) return INCOMPLETE;
    const kb = s[p];
    if (kb < 0xa1 || kb > 0xa4) return SLOW;
    const kl = kb - 0xa0;
    if (p + 1 + kl > end) return INCOMPLETE;
    const k = p + 1;
    // The key's bytes as one little-endian integer, matched against the keys' (no call per key: most of a
    // cold replay's records are decoded before V8 has optimised this function).
    let word = s[k];
    if (kl >= 2) word |= s[k + 1] << 8;
    if (kl >= 3) word |= s[k + 2] << 16;
    if (kl === 4) word |= s[k + 3] << 24;
    // Every comparison made for every key, not only until one matches: a comparison first made late (crc at
    // the first read, after thousands of writes; conn in a trace that has it) was new to V8 and undid the
    // optimised decoder (a recompile of about 30 ms of a cold replay's CPU).
    const isT = word === 0x74;
    const isOp = word === W_OP;
    const isLen = word === W_LEN;
    const isCrc = word === W_CRC;
    const isType = word === W_TYPE;
    const isAddr = word === W_ADDR;
    const isData = word === W_DATA;
    const isConn = word === W_CONN;
    let key = 0;
    if (kl === 1) key = isT ? K_T : 0;
    else if (kl === 2) key = isOp ? K_OP : 0;
    else if (kl === 3) key = isLen ? K_LEN : isCrc ? K_CRC : 0;
    else key = isType ? K_TYPE : isAddr ? K_ADDR : isData ? K_DATA : isConn ? K_CONN : 0;
    if (key === 0 || (seen & key) !== 0) return SLOW;
    seen |= key;
    p = k + kl;
    if (p >= end) return INCOMPLETE;
    switch (key) {
      case K_TYPE:
        if (p + 3 > end) return INCOMPLETE;
        if (s[p] !== 0xa2 || (s[p + 1] | (s[p + 2] << 8)) !== W_OP) return SLOW;
        p += 3;
        break;
      case K_OP: {
        // "write" and "read" go through the same loads and comparisons: the first read of a trace comes after
        // thousands of writes, and a load or comparison of its own would be new to V8 there and undo the
        // optimised decoder (compiled anew, tens of ms of a cold replay's CPU).
        // Every comparison is made for both kinds (one V8 has not seen made would be new to it as well).
        const h = s[p];
        const isWrite = h === 0xa5;
        const isRead = h === 0xa4;
        if (!isWrite && !isRead) return SLOW;
        if (p + (isWrite ? 6 : 5) > end) return INCOMPLETE;
        const word = s[p + 1] | (s[p + 2] << 8) | (s[p + 3] << 16) | (s[p + 4] << 24);
        const writ = word === W_WRIT;
        const read = word === W_READ;
        const last = isWrite ? s[p + 5] : 0x65;
        const e = last === 0x65;
        if (!(isWrite ? writ && e : read)) return SLOW;
        op = isWrite ? COL_WRITE : COL_READ;
        p += isWrite ? 6 : 5;
        break;
      }
      case K_DATA: {
        const bt = s[p];
        let head: number;
        if (bt === 0xc4) {
          if (p + 2 > end) return INCOMPLETE;
          dataLen = s[p + 1];
          head = 2;
        } else if (bt === 0xc5) {
          if (p + 3 > end) return INCOMPLETE;
          dataLen = (s[p + 1] << 8) | s[p + 2];
          head = 3;
        } else if (bt === 0xc6) {
          if (p + 5 > end) return INCOMPLETE;
          dataLen = s.readUInt32BE(p + 1);
          head = 5;
        } else return SLOW;
        dataAt = p + head;
        p = dataAt + dataLen;
        if (p > end) return INCOMPLETE;
        break;
      }
      default: {
        const q = readUint(s, p, end);
        if (q < 0) return q;
        p = q;
        if (key === K_T) t = uintValue;
        else if (key === K_CONN) conn = uintValue;
        else if (key === K_ADDR) addr = uintValue;
        else if (key === K_LEN) len = uintValue;
        else crc = uintValue;
      }
    }
  }
  // What validateRecord asks of a write or read; anything short of it goes the slow way (and fails there).
  if ((seen & OP_KEYS) !== OP_KEYS || len === 0 || addr + len > MAX_ADDRESS) return SLOW;
  // Both kinds' checks made for every op (as for the op name above, so the first read is nothing new to V8).
  const allowed = op === COL_WRITE ? WRITE_KEYS : READ_KEYS;
  const extra = seen !== (seen & allowed);
  const noData = (seen & K_DATA) === 0 || dataLen !== len;
  const badCrc = crc > 0xffffffff;
  if (extra || (op === COL_WRITE ? noData : badCrc)) return SLOW;
  cols.push(op, t, conn, addr, len, crc, op === COL_WRITE ? dataAt : 0);
  return p;
}

/** Bytes handed to msgpackr for a record the columns do not take, before it gets the rest of the chunk. */
const SLOW_VIEW_BYTES = 4096;

/** What decodeChunk made of a chunk. */
export interface ChunkDecoded {
  /** The whole records, in order, up to `rest` (or up to a bad one). */
  readonly columns: TraceColumns;
  /** Start of a record cut off at the end of the chunk (src.length when none). */
  readonly rest: number;
  /** A bad record after those in `columns` (thrown once they are handed out). */
  readonly error?: unknown;
}

/**
 * One record at `pos` through msgpackr and validateRecord (and `check`):
 * the record and the position after it, or undefined when it runs past the
 * end of `src`. Throws for a bad record.
 */
export function decodeRecord(src: Buffer, pos: number, index: number, unpackr: Unpackr, check: (rec: TraceRecord, index: number) => void): { record: TraceRecord; end: number } | undefined {
  let value: unknown;
  let valueEnd = 0;
  const first = (v: unknown, _start?: number, e?: number): false => {
    value = v;
    valueEnd = e ?? 0;
    return false;
  };
  // msgpackr scans the strings of all it is given ahead: a short view first (such records are small), the rest only if needed.
  const end = src.length;
  const short = Math.min(end, pos + SLOW_VIEW_BYTES);
  try {
    unpackr.unpackMultiple(src.subarray(pos, short), first);
  } catch (e) {
    if (!(e as { incomplete?: boolean }).incomplete) throw e;
    if (short === end) return undefined;
    try {
      unpackr.unpackMultiple(src.subarray(pos), first);
    } catch (e2) {
      if ((e2 as { incomplete?: boolean }).incomplete) return undefined;
      throw e2;
    }
  }
  const record = validateRecord(value, index);
  check(record, index);
  return { record, end: pos + valueEnd };
}

/**
 * Decode the whole records of `src` (records `index`, `index + 1`, ... of
 * the trace) into columns; a record cut off at the end is left for the next
 * chunk (`rest`). Writes and reads go straight into the columns; any other
 * record is decoded by msgpackr and checked by validateRecord and `check`
 * (the header's place), which may throw: the error comes back beside the
 * records before it. Record 0 (the header) always goes the msgpackr way.
 * `reuse` (the previous chunk's columns, which the caller is done with) is
 * emptied and filled instead of a new set; `lead`, a record decoded before
 * `src` (the one the previous chunk cut off), comes first. Decoding starts
 * at `from` and stops after `maxRecords` records (`rest` is then where the
 * next one starts).
 */
export function decodeChunk(
  src: Buffer,
  index: number,
  unpackr: Unpackr,
  check: (rec: TraceRecord, index: number) => void,
  reuse?: TraceColumns,
  lead?: TraceRecord,
  from = 0,
  maxRecords = Infinity,
): ChunkDecoded {
  const end = src.length;
  let cols: TraceColumns;
  if (reuse) {
    cols = reuse;
    cols.reset(src);
  } else cols = new TraceColumns(src, Math.max(16, Math.min(maxRecords, Math.ceil((end - from) / 80))));
  if (lead) cols.pushOther(lead);
  return decodeRecords(src, index, unpackr, check, cols, from, maxRecords);
}

/**
 * decodeChunk's loop, from `from`. Its own function, and the record's index
 * summed each time round, not only for msgpackr's slow path: V8 optimises
 * the loop on stack in the first chunk, and code it had not seen run there
 * (the lead record before it, that sum) undid that in a later chunk, and
 * with it the decoder inlined into it (a recompile of about 30 ms of a cold
 * replay's CPU).
 */
function decodeRecords(src: Buffer, index: number, unpackr: Unpackr, check: (rec: TraceRecord, index: number) => void, cols: TraceColumns, from: number, maxRecords: number): ChunkDecoded {
  const end = src.length;
  let pos = from;
  try {
    while (pos < end && cols.n < maxRecords) {
      const at = index + cols.n;
      let next = at === 0 ? SLOW : decodeOp(src, pos, end, cols);
      if (next === INCOMPLETE) break;
      if (next === SLOW) {
        const one = decodeRecord(src, pos, at, unpackr, check);
        if (!one) break;
        cols.pushOther(one.record);
        next = one.end;
      }
      pos = next;
    }
  } catch (e) {
    return { columns: cols, rest: pos, error: e };
  }
  return { columns: cols, rest: pos };
}
