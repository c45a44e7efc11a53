/**
 * msgpack encoding of one `writev` / `readv` request (sections 4.8, 4.9),
 * written straight from the caller's arrays: the same map msgpackr would
 * write from plain arrays (`{op, id, addrs, lens[, data]}`), without the
 * two arrays copied out of typed arrays first and without a generic encoder
 * step per element. A vector carries thousands of bursts, so this is the
 * per-burst cost of a replay's requests. Any element that is not a whole
 * number in [0, 2^53) makes it return undefined, and the caller encodes the
 * request with msgpackr instead, so the daemon judges that value as ever.
 */
export function encodeVectorRequest(op: 'writev' | 'readv', id: number, addrs: ArrayLike<number>, lens: ArrayLike<number>, data?: Uint8Array, target?: Buffer): Uint8Array | undefined {
  const n = addrs.length;
  if (lens.length !== n || !Number.isSafeInteger(id) || id < 0) return undefined;
  const bound = vectorFrameBound(n, data ? data.length : 0);
  const out = target && target.length >= bound ? target : Buffer.allocUnsafe(bound);
  let p = 0;
  out[p++] = data ? 0x85 : 0x84;
  p = putStr(out, p, 'op');
  p = putStr(out, p, op);
  p = putStr(out, p, 'id');
  p = putUint(out, p, id);
  p = putStr(out, p, 'addrs');
  p = putUints(out, putArrayHead(out, p, n), addrs, n);
  if (p < 0) return undefined;
  p = putStr(out, p, 'lens');
  p = putUints(out, putArrayHead(out, p, n), lens, n);
  if (p < 0) return undefined;
  if (data) {
    p = putStr(out, p, 'data');
    const len = data.length;
    if (len < 0x100) {
      out[p++] = 0xc4;
      out[p++] = len;
    } else if (len < 0x10000) {
      out[p++] = 0xc5;
      out.writeUInt16BE(len, p);
      p += 2;
    } else {
      out[p++] = 0xc6;
      out.writeUInt32BE(len, p);
      p += 4;
    }
    out.set(data, p);
    p += len;
  }
  return out.subarray(0, p);
}

/**
 * Bytes a vector request of n elements and `dataBytes` of data takes at
 * most: a caller with a buffer that long (`target` above) gets its frame
 * there, as a view of its first bytes. Fixed part: map header, op, id
 * (<= 9 bytes), array headers (<= 5 each), data header (<= 5): 64 bytes
 * cover it; then at most 9 bytes per address and per length.
 */
export function vectorFrameBound(n: number, dataBytes: number): number {
  return 64 + 18 * n + dataBytes;
}

/**
 * values[0, n) as msgpack unsigned integers from p: the position after
 * them, or -1 at the first that is not a whole number in [0, 2^53). Its own
 * small function: the per-element loop is what V8 must optimise early in a
 * cold process, and a small function compiles in a fraction of the time
 * the whole encoder took (which ran on a core the daemon could have used).
 */
function putUints(out: Buffer, p: number, values: ArrayLike<number>, n: number): number {
  for (let i = 0; i < n && p >= 0; i++) p = putUint(out, p, values[i]);
  return p;
}

/** A short ASCII string (fixstr: the protocol's keys and op names). */
function putStr(out: Buffer, p: number, s: string): number {
  out[p++] = 0xa0 | s.length;
  for (let i = 0; i < s.length; i++) out[p++] = s.charCodeAt(i);
  return p;
}

/** The msgpack header of an array of n elements, alone (a batch frame's, before its encoded members). */
export function arrayHead(n: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  return out.subarray(0, putArrayHead(out, 0, n));
}

function putArrayHead(out: Buffer, p: number, n: number): number {
  if (n < 16) {
    out[p] = 0x90 | n;
    return p + 1;
  }
  if (n < 0x10000) {
    out[p] = 0xdc;
    out.writeUInt16BE(n, p + 1);
    return p + 3;
  }
  out[p] = 0xdd;
  out.writeUInt32BE(n, p + 1);
  return p + 5;
}

/** v as the shortest msgpack unsigned integer; -1 when v is not a whole number in [0, 2^53). */
function putUint(out: Buffer, p: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x80) {
      out[p] = v;
      return p + 1;
    }
    if (v < 0x100) {
      out[p] = 0xcc;
      out[p + 1] = v;
      return p + 2;
    }
    if (v < 0x10000) {
      out[p] = 0xcd;
      out[p + 1] = v >>> 8;
      out[p + 2] = v & 0xff;
      return p + 3;
    }
    out[p] = 0xce;
    out.writeUInt32BE(v, p + 1);
    return p + 5;
  }
  if (!Number.isSafeInteger(v) || v < 0) return -1;
  out[p] = 0xcf;
  out.writeUInt32BE(Math.floor(v / 0x100000000), p + 1);
  out.writeUInt32BE(v >>> 0, p + 5);
  return p + 9;
}
