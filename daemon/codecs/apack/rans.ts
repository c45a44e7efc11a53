import { corrupt, truncated } from '../errors.ts';
import { COUNT_BITS, COUNT_TOTAL, type ApackStates, type ApackTable } from './table.ts';

/**
 * The APack block coder: group symbols through a static rANS coder (32-bit
 * state, byte-wise renormalisation, 10-bit counts), offsets as raw bits in a
 * separate MSB-first stream. See docs/apack.md for the choice and the layout:
 *
 *   [LEB128 varint R][R rANS bytes: K 4-byte final states (big-endian) + renorm bytes][offset bytes]
 *
 * K, the rANS states of a block, comes from the table (its block layout): 1,
 * the first layout, or 2 or 4 interleaved states (value i uses state i mod K,
 * all states renormalise into the one byte stream; the first state's bytes
 * come first), whose dependency chains a decoder can overlap. Each state
 * starts from RANS_L in the encoder, which runs backwards over the values, so
 * the decoder reads the rANS bytes forwards and must end with every state at
 * RANS_L having consumed exactly R bytes; the offset stream must end exactly
 * at the block end with zero padding bits. Those checks catch most corruption.
 */

/** Lower bound of the normalised state interval [L, 256 L). */
export const RANS_L = 1 << 23;
const STATE_BYTES = 4;
/** A symbol with count f renormalises while x >= f << RENORM_SHIFT (= ((L >> 10) << 8) * f). */
export const RENORM_SHIFT = 23 - COUNT_BITS + 8;

/**
 * Lookup tables derived once from an APack table (per model, not per block).
 * Fields used together are packed into one int32 so each value costs few loads.
 */
export interface CoderTables {
  readonly space: 256 | 16;
  /** rANS states per block (the table's block layout). */
  readonly states: ApackStates;
  /** Per value: count f | cum << 11. */
  readonly encStep: Int32Array;
  /** Per value: renormalise while x > (f << RENORM_SHIFT) - 1 (an int32 even for f = 1024). */
  readonly encXmax: Int32Array;
  /** Per value: offset | OL << 8. */
  readonly encOffset: Int32Array;
  /** Per rANS slot (x mod 1024): count f | (slot - cum) << 11, so x' = f * (x >> 10) + (slot - cum). */
  readonly slotStep: Int32Array;
  /** Per rANS slot: the slot's group as vmin | OL << 9 | size << 13. */
  readonly slotGroup: Int32Array;
  /** Worst prefix + offset bits of any value, for maxEncodedBytes. */
  readonly maxBitsPerValue: number;
}

export function buildCoderTables(t: ApackTable): CoderTables {
  const groups = t.counts.length;
  const space = t.space;
  const encStep = new Int32Array(space);
  const encXmax = new Int32Array(space);
  const encOffset = new Int32Array(space);
  const slotStep = new Int32Array(COUNT_TOTAL);
  const slotGroup = new Int32Array(COUNT_TOTAL);
  let cum = 0;
  let maxBits = 0;
  for (let s = 0; s < groups; s++) {
    const f = t.counts[s];
    const a = t.vmin[s];
    const b = t.vmin[s + 1];
    const ol = t.ol[s];
    for (let v = a; v < b; v++) {
      encStep[v] = f | (cum << 11);
      encXmax[v] = f * 2 ** RENORM_SHIFT - 1;
      encOffset[v] = (v - a) | (ol << 8);
    }
    for (let k = 0; k < f; k++) {
      slotStep[cum + k] = f | (k << 11);
      slotGroup[cum + k] = a | (ol << 9) | ((b - a) << 13);
    }
    if (b > a) maxBits = Math.max(maxBits, Math.log2(COUNT_TOTAL / f) + ol);
    cum += f;
  }
  return { space, states: t.states, encStep, encXmax, encOffset, slotStep, slotGroup, maxBitsPerValue: maxBits };
}

/**
 * True upper bound on an encoded block of `values` values. rANS output in bits
 * is at most sum(log2(1024/f)) + n * log2(1 + 2^-13) on top of the 32-bit
 * final state (after renormalisation x/f >= 2^13, so each step adds at most
 * that much beyond the ideal), offsets add sum(OL); plus varint and padding.
 */
export function maxBlockBytes(c: CoderTables, values: number): number {
  if (values === 0) return 0;
  return 5 + STATE_BYTES * c.states + Math.ceil((values * (c.maxBitsPerValue + 1e-3)) / 8) + 2;
}

// Module-level scratch for the backwards-written rANS bytes: one per worker
// thread, reused across blocks so the hot path allocates nothing.
let scratch = new Uint8Array(0);
function scratchFor(values: number): Uint8Array {
  // Each symbol renormalises out at most 2 bytes (x < 2^31 down to x < 2^21 f).
  const need = 2 * values + 4 * STATE_BYTES;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, 2 * scratch.length));
  return scratch;
}

/** Write x as LEB128 at out[pos]; returns the new position. */
function writeVarint(out: Uint8Array, pos: number, x: number): number {
  while (x >= 0x80) {
    out[pos++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  out[pos++] = x;
  return pos;
}

/** Encode `src` (values of the table's space) into `out`; returns the bytes written. */
export function encodeBlock(c: CoderTables, src: Uint8Array, out: Uint8Array): number {
  const nibbles = c.space === 16;
  const n = nibbles ? src.length * 2 : src.length;
  if (n === 0) return 0;
  return encodeStates(c, src, n, out);
}

/**
 * encodeBlock's loop for K = 1, 2 or 4 states: value i with state i mod K,
 * backwards (rANS runs backwards so that the decoder runs forwards). Each
 * value is coded with x0, then with interleaved states they rotate, (x0, x1)
 * = (x1, x0') or (x0, x1, x2, x3) = (x1, x2, x3, x0'), so x0 always holds the
 * next value's state; all start at RANS_L, so which local holds which state
 * only matters once one was used. After the value 0, the last local of the
 * rotation holds state 0, the one before it state 1, and so on.
 */
function encodeStates(c: CoderTables, src: Uint8Array, n: number, out: Uint8Array): number {
  const buf = scratchFor(n);
  const { encStep, encXmax } = c;
  const nibbles = c.space === 16;
  const one = c.states === 1;
  const four = c.states === 4;
  let x0 = RANS_L;
  let x1 = RANS_L;
  let x2 = RANS_L;
  let x3 = RANS_L;
  let p = buf.length;
  for (let i = n - 1; i >= 0; i--) {
    const v = nibbles ? (src[i >>> 1] >>> ((i & 1) << 2)) & 15 : src[i];
    let x = x0;
    const xm = encXmax[v];
    while (x > xm) {
      buf[--p] = x;
      x >>= 8;
    }
    const step = encStep[v];
    const f = step & 2047;
    const q = (x / f) | 0;
    x = (q << COUNT_BITS) + (x - q * f) + (step >> 11);
    if (one) x0 = x;
    else {
      x0 = x1;
      if (four) {
        x1 = x2;
        x2 = x3;
        x3 = x;
      } else x1 = x;
    }
  }
  // the final states, state 0 first: backwards, the last state first
  p = pushState(buf, p, x0);
  if (!one) p = pushState(buf, p, x1);
  if (four) {
    p = pushState(buf, p, x2);
    p = pushState(buf, p, x3);
  }
  const ransLen = buf.length - p;
  let w = writeVarint(out, 0, ransLen);
  out.set(buf.subarray(p), w);
  w += ransLen;
  return writeOffsets(c, src, n, out, w);
}

/** Write state x big-endian in front of buf[p] (backwards); returns the new position. */
function pushState(buf: Uint8Array, p: number, x: number): number {
  for (let k = 0; k < STATE_BYTES; k++) {
    buf[--p] = x;
    x >>= 8;
  }
  return p;
}

/** Offsets, forwards, MSB-first, zero-padded to a byte. */
function writeOffsets(c: CoderTables, src: Uint8Array, n: number, out: Uint8Array, w: number): number {
  const { encOffset } = c;
  // Only the low 15 bits of acc matter; higher bits may overflow harmlessly.
  let acc = 0;
  let nb = 0;
  if (c.space === 256) {
    for (let i = 0; i < n; i++) {
      const v = src[i];
      const o = encOffset[v];
      const ol = o >> 8;
      acc = (acc << ol) | (o & 255);
      nb += ol;
      if (nb >= 8) {
        nb -= 8;
        out[w++] = acc >>> nb;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = (src[i >>> 1] >>> ((i & 1) << 2)) & 15;
      const o = encOffset[v];
      const ol = o >> 8;
      acc = (acc << ol) | (o & 255);
      nb += ol;
      if (nb >= 8) {
        nb -= 8;
        out[w++] = acc >>> nb;
      }
    }
  }
  if (nb > 0) out[w++] = acc << (8 - nb);
  return w;
}

/** Decode exactly out.length bytes of values from `src`; strict about every length. */
export function decodeBlock(c: CoderTables, src: Uint8Array, out: Uint8Array): void {
  const nibbles = c.space === 16;
  const n = nibbles ? out.length * 2 : out.length;
  if (n === 0) {
    if (src.length !== 0) throw corrupt(`APack block for 0 values holds ${src.length} bytes`);
    return;
  }
  // varint rANS length, minimal form, at most 5 bytes
  let ransLen = 0;
  let p = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= src.length) throw truncated('APack block ends inside its length header');
    if (shift > 28) throw corrupt('APack block length header is too long');
    const b = src[p++];
    ransLen += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (b === 0 && shift > 0) throw corrupt('APack block length header is not minimal');
      break;
    }
  }
  const ransEnd = p + ransLen;
  if (ransLen < STATE_BYTES * c.states) throw corrupt(`APack rANS stream of ${ransLen} bytes is shorter than its ${c.states === 1 ? 'state' : `${c.states} states`}`);
  if (ransEnd > src.length) throw truncated(`APack block announces ${ransLen} rANS bytes, only ${src.length - p} follow`);
  decodeStates(c, src, out, n, p, ransEnd);
}

/** A block's initial state at src[p]: big-endian, in [RANS_L, 2^31). */
function initialState(src: Uint8Array, p: number): number {
  // x < 2^31 (top byte < 0x80) keeps all state arithmetic in int32
  if (src[p] >= 0x80) throw corrupt('APack rANS initial state is out of range');
  const x = (src[p] << 24) | (src[p + 1] << 16) | (src[p + 2] << 8) | src[p + 3];
  if (x < RANS_L) throw corrupt('APack rANS initial state is out of range');
  return x;
}

/**
 * decodeBlock's loops for K = 1, 2 or 4 states (value i with state i mod K),
 * the initial states and then the rANS bytes from p. The states live in
 * locals, rotated (an array indexed by i mod K cost the JS decoder about a
 * tenth of its speed).
 */
function decodeStates(c: CoderTables, src: Uint8Array, out: Uint8Array, n: number, p: number, ransEnd: number): void {
  const { slotStep, slotGroup } = c;
  // x0 holds the state of value i; after each value the states rotate: (x0, x1) = (x1, x0'), or (x0, x1, x2, x3) = (x1, x2, x3, x0')
  const one = c.states === 1;
  const four = c.states === 4;
  let x0 = initialState(src, p);
  let x1 = one ? RANS_L : initialState(src, p + STATE_BYTES);
  let x2 = four ? initialState(src, p + 2 * STATE_BYTES) : RANS_L;
  let x3 = four ? initialState(src, p + 3 * STATE_BYTES) : RANS_L;
  p += c.states * STATE_BYTES;
  let q = ransEnd; // offset stream read position
  const end = src.length;
  let acc = 0;
  let nb = 0;
  if (c.space === 256) {
    for (let i = 0; i < n; i++) {
      const slot = x0 & (COUNT_TOTAL - 1);
      const step = slotStep[slot];
      const g = slotGroup[slot];
      let x = (step & 2047) * (x0 >> COUNT_BITS) + (step >> 11);
      while (x < RANS_L) {
        if (p >= ransEnd) throw corrupt('APack rANS stream ends before its last symbol');
        x = (x << 8) | src[p++];
      }
      if (one) x0 = x;
      else {
        x0 = x1;
        if (four) {
          x1 = x2;
          x2 = x3;
          x3 = x;
        } else x1 = x;
      }
      const ol = (g >> 9) & 15;
      if (ol === 0) {
        out[i] = g;
        continue;
      }
      if (nb < ol) {
        if (q >= end) throw truncated('APack offset stream ends early');
        acc = (acc << 8) | src[q++];
        nb += 8;
      }
      nb -= ol;
      const off = (acc >> nb) & ((1 << ol) - 1);
      if (off >= g >> 13) throw corrupt('APack offset is outside its group');
      out[i] = (g & 511) + off;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const slot = x0 & (COUNT_TOTAL - 1);
      const step = slotStep[slot];
      const g = slotGroup[slot];
      let x = (step & 2047) * (x0 >> COUNT_BITS) + (step >> 11);
      while (x < RANS_L) {
        if (p >= ransEnd) throw corrupt('APack rANS stream ends before its last symbol');
        x = (x << 8) | src[p++];
      }
      if (one) x0 = x;
      else {
        x0 = x1;
        if (four) {
          x1 = x2;
          x2 = x3;
          x3 = x;
        } else x1 = x;
      }
      const ol = (g >> 9) & 15;
      let v = g & 511;
      if (ol !== 0) {
        if (nb < ol) {
          if (q >= end) throw truncated('APack offset stream ends early');
          acc = (acc << 8) | src[q++];
          nb += 8;
        }
        nb -= ol;
        const off = (acc >> nb) & ((1 << ol) - 1);
        if (off >= g >> 13) throw corrupt('APack offset is outside its group');
        v += off;
      }
      if (i & 1) out[i >> 1] |= v << 4;
      else out[i >> 1] = v;
    }
  }
  if (p !== ransEnd) throw corrupt(`APack rANS stream has ${ransEnd - p} bytes left after the last symbol`);
  if (x0 !== RANS_L || x1 !== RANS_L || x2 !== RANS_L || x3 !== RANS_L) {
    throw corrupt(`APack rANS final ${one ? 'state does' : 'states do'} not match the encoder start: corrupt block`);
  }
  if (q !== end) throw corrupt(`APack block has ${end - q} bytes after its offset stream`);
  if ((acc & ((1 << nb) - 1)) !== 0) throw corrupt('APack offset padding bits are not zero');
}
