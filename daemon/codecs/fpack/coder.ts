import { corrupt, truncated } from '../errors.ts';
import { NO_PREDICTION, ORDER_CODE, ORDER_DECODE, type Engine } from './engine.ts';

/**
 * The fpack block coder. One rANS stream carries, per value, symbol A's
 * group and (split mode) symbol B's group — APack's coder: 32-bit state,
 * byte-wise renormalisation, 10-bit counts, a division-free decoder. A
 * separate MSB-first bit stream carries, per value, A's offset, B's offset
 * and the raw low mantissa bits. Layout (as APack's, docs/apack.md):
 *
 *   [LEB128 varint R][R rANS bytes: K 4-byte final states (big-endian, state 0 first) + renorm bytes][bit stream]
 *
 * K (the model's `states`: 1, 2 or 4) rANS states are interleaved value by
 * value: value i (its A and B) is coded with state i mod K, and all states
 * renormalise into the one byte stream, in the order the decoder reads it.
 * K independent chains let a core (or a hardware lane's pipeline) overlap
 * the steps of K values; K = 1 is the first layout, byte for byte.
 * The encoder runs backwards from state L in every state; the decoder must
 * end in state L in every state having read exactly R bytes, the bit stream
 * must end at the block end with zero padding.
 *
 * Version-2 headers (engine.ts `tail` > 0): the block's last t = min(n,
 * tail) values are not rANS-coded. Their bits (tailWidth each, value by
 * value, MSB-first) are cut into K chunks, state k taking the next
 * floor(tW / K) bits, one more for k < tW mod K; the encoder starts state k
 * at L + that chunk, so the decoder, once the first n - t values are done,
 * finds each state k in [L, L + 2^c_k) and reads the values from them.
 * Starting a state at L + r costs the encoder about log2((L + r) / L) bits
 * of output, at most log2(3) per state for r < 2^24 (far less for a
 * shorter tail), less than the >= W bits per value that
 * maxBlockBytes allows the t values no longer coded: its bound still holds.
 *
 * Hot loops keep every table in a local (an imported binding is a getter
 * call per use under tsx) and allocate nothing.
 */

const RANS_L = 1 << 23;
/** A symbol with count f renormalises while x >= f << 21 (= ((L >> 10) << 8) * f). */
const RENORM_SCALE = 1 << 21;

// Per-thread scratch, grown on demand and reused across blocks.
let ransScratch = new Uint8Array(16384);
let values = new Uint16Array(4096);
let exps = new Uint8Array(4096);

function scratchFor(n: number): void {
  if (values.length < n) {
    values = new Uint16Array(n);
    exps = new Uint8Array(n);
  }
  if (ransScratch.length < 4 * n + 8) ransScratch = new Uint8Array(4 * n + 8);
}

/** Bits of the tail string that state k of K carries (t values of w bits). */
export function tailChunk(bits: number, K: number, k: number): number {
  return Math.floor(bits / K) + (k < bits % K ? 1 : 0);
}

/** The K chunks of the tail string: the last t of the block's values (16-bit little-endian when w = 16), from value `from`. */
function tailChunks(src: Uint8Array, from: number, t: number, w: number, K: number, r: Int32Array): void {
  const bits = t * w;
  let b = 0;
  for (let k = 0; k < K; k++) {
    let x = 0;
    for (let c = tailChunk(bits, K, k); c > 0; c--, b++) {
      const i = from + Math.floor(b / w);
      const v = w === 16 ? src[2 * i] | (src[2 * i + 1] << 8) : src[i];
      x = (x << 1) | ((v >> (w - 1 - (b % w))) & 1);
    }
    r[k] = x;
  }
}

const tailR = new Int32Array(4);

/** Upper bound of a coded block of `values` values. */
export function maxBlockBytes(e: Engine, n: number): number {
  if (n === 0) return 0;
  return 5 + 4 * e.states + Math.ceil((n * (e.maxBitsPerValue + 2e-3)) / 8) + 2;
}

/**
 * Codes a block. `tailOffsets` (tests only: blocks whose final states are
 * out of range) replaces the K tail chunks the initial states carry.
 */
export function encodeBlock(e: Engine, src: Uint8Array, out: Uint8Array, tailOffsets?: readonly number[]): number {
  const wide = e.plan.bits === 16;
  const all = wide ? src.length >> 1 : src.length;
  if (all === 0) return 0;
  // the last t values ride in the initial states; the loops below code the n before them
  const t = Math.min(all, e.tail);
  const n = all - t;
  scratchFor(n);
  const vals = values;
  const ex = exps;
  const M = e.plan.mant;
  const expMask = e.plan.expSpace - 1;
  const top = e.plan.bits - 1;
  const mMask = (1 << M) - 1;
  const SA = e.plan.aSpace;
  const SB = e.plan.bSpace;
  const whole = e.whole;
  const D = e.distance;
  const D2 = e.distance2;
  const { aClassOf, aClassOf2, bClassOf, aEnc, bEnc, aOff, bOff } = e;
  if (wide) {
    for (let i = 0; i < n; i++) {
      const v = src[2 * i] | (src[2 * i + 1] << 8);
      vals[i] = v;
      ex[i] = (v >> M) & expMask;
    }
  } else if (!e.delta) {
    for (let i = 0; i < n; i++) {
      const v = src[i];
      vals[i] = v;
      ex[i] = (v >> M) & expMask;
    }
  } else {
    // Delta mode: code the order-preserving difference to x[i-D] in place of the byte.
    const R = ORDER_CODE;
    for (let i = 0; i < n; i++) {
      const v = src[i];
      vals[i] = (R[v] - (i >= D ? R[src[i - D]] : NO_PREDICTION)) & 255;
      ex[i] = (v >> M) & expMask;
    }
  }
  const buf = ransScratch;
  let p = buf.length;
  const K = e.states;
  // Value i with state i mod K: each value is coded with x0, then (x0 .. x[K-1]) rotate left with
  // the new state last, so x0 holds the state of value i - 1. All start at L, so which register
  // holds which state only matters once used; after value 0, x[K-1-k] holds state k.
  // Register j starts with the state of value n - 1 - j (state (n - 1 - j) mod K): L + its tail chunk.
  const r = tailR;
  r.fill(0);
  if (t > 0) tailChunks(src, n, t, e.tailWidth, K, r);
  if (tailOffsets) for (let k = 0; k < K; k++) r[k] = tailOffsets[k];
  const init = (j: number): number => (j < K ? RANS_L + r[(((n - 1 - j) % K) + K) % K] : RANS_L);
  let x0 = init(0);
  let x1 = init(1);
  let x2 = init(2);
  let x3 = init(3);
  // Backwards, B before A, so the decoder reads A then B for each value, forwards.
  for (let i = n - 1; i >= 0; i--) {
    let x = x0;
    const v = vals[i];
    if (!whole) {
      const step = bEnc[bClassOf[ex[i]] * SB + (((v >> top) << M) | (v & mMask))];
      const f = step & 2047;
      const xm = f * RENORM_SCALE - 1;
      while (x > xm) {
        buf[--p] = x;
        x >>>= 8;
      }
      const q = (x / f) | 0;
      x = (q << 10) + (x - q * f) + (step >> 11);
    }
    const ctx = aClassOf[D > 0 && i >= D ? ex[i - D] : 0] + aClassOf2[D2 > 0 && i >= D2 ? ex[i - D2] : 0];
    const step = aEnc[ctx * SA + (whole ? v : ex[i])];
    const f = step & 2047;
    const xm = f * RENORM_SCALE - 1;
    while (x > xm) {
      buf[--p] = x;
      x >>>= 8;
    }
    const q = (x / f) | 0;
    x = (q << 10) + (x - q * f) + (step >> 11);
    if (K === 1) x0 = x;
    else if (K === 2) {
      x0 = x1;
      x1 = x;
    } else {
      x0 = x1;
      x1 = x2;
      x2 = x3;
      x3 = x;
    }
  }
  // the final states, state 0 first in the stream: written backwards, x0 (state K-1) first
  for (let s = 0; s < K; s++) {
    let x = s === 0 ? x0 : s === 1 ? x1 : s === 2 ? x2 : x3;
    for (let k = 0; k < 4; k++) {
      buf[--p] = x;
      x >>>= 8;
    }
  }
  const ransLen = buf.length - p;
  let w = 0;
  for (let r = ransLen; ; ) {
    if (r < 0x80) {
      out[w++] = r;
      break;
    }
    out[w++] = (r & 0x7f) | 0x80;
    r >>>= 7;
  }
  out.set(buf.subarray(p), w);
  w += ransLen;
  // Offsets, forwards, MSB-first (at most 11 bits each); only the low bits of acc matter.
  let acc = 0;
  let nb = 0;
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    let o = aOff[whole ? v : ex[i]];
    let ol = o >> 12;
    acc = (acc << ol) | (o & 4095);
    nb += ol;
    while (nb >= 8) {
      nb -= 8;
      out[w++] = acc >>> nb;
    }
    if (!whole) {
      o = bOff[bClassOf[ex[i]] * SB + (((v >> top) << M) | (v & mMask))];
      ol = o >> 12;
      acc = (acc << ol) | (o & 4095);
      nb += ol;
      while (nb >= 8) {
        nb -= 8;
        out[w++] = acc >>> nb;
      }
    }
  }
  if (nb > 0) out[w++] = acc << (8 - nb);
  return w;
}

export function decodeBlock(e: Engine, src: Uint8Array, out: Uint8Array): void {
  const wide = e.plan.bits === 16;
  if (wide && (out.length & 1) !== 0) throw corrupt(`fpack block of ${out.length} bytes is not a whole number of 16-bit values`);
  const all = wide ? out.length >> 1 : out.length;
  // the loops decode the first n values; the last t come from the final states
  const t = Math.min(all, e.tail);
  const n = all - t;
  if (all === 0) {
    if (src.length !== 0) throw corrupt(`fpack block for 0 values holds ${src.length} bytes`);
    return;
  }
  let ransLen = 0;
  let p = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= src.length) throw truncated('fpack block ends inside its length header');
    if (shift > 28) throw corrupt('fpack block length header is too long');
    const b = src[p++];
    ransLen += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (b === 0 && shift > 0) throw corrupt('fpack block length header is not minimal');
      break;
    }
  }
  const ransEnd = p + ransLen;
  const K = e.states;
  if (ransLen < 4 * K) throw corrupt(`fpack rANS stream of ${ransLen} bytes is shorter than its ${K === 1 ? 'state' : `${K} states`}`);
  if (ransEnd > src.length) throw truncated(`fpack block announces ${ransLen} rANS bytes, only ${src.length - p} follow`);
  const st: DecodeState = { x0: RANS_L, x1: RANS_L, x2: RANS_L, x3: RANS_L, k: K, p, q: ransEnd, acc: 0, nb: 0 };
  for (let s = 0; s < K; s++, p += 4) {
    // x < 2^31 (top byte < 0x80) keeps all state arithmetic in int32
    if (src[p] >= 0x80) throw corrupt('fpack rANS initial state is out of range');
    const x = (src[p] << 24) | (src[p + 1] << 16) | (src[p + 2] << 8) | src[p + 3];
    if (x < RANS_L) throw corrupt('fpack rANS initial state is out of range');
    if (s === 0) st.x0 = x;
    else if (s === 1) st.x1 = x;
    else if (s === 2) st.x2 = x;
    else st.x3 = x;
  }
  st.p = p;
  // Exponents (and 8-bit values) decoded so far sit at [n + i] of zeroed scratch: a neighbour
  // before the block start (or distance 0: none) reads a zero there, exponent 0 / value +0,
  // as the encoder assumes. No branch per value.
  if (padded.length < 2 * n) {
    padded = new Uint8Array(2 * n);
    paddedBytes = new Uint8Array(2 * n);
  }
  padded.fill(0, 0, n);
  if (e.whole) decodeWhole(e, src, out, n, ransEnd, st);
  else decodeSplit(e, src, out, n, ransEnd, st);
  if (st.p !== ransEnd) throw corrupt(`fpack rANS stream has ${ransEnd - st.p} bytes left after the last symbol`);
  if (e.tail === 0) {
    if (st.x0 !== RANS_L || st.x1 !== RANS_L || st.x2 !== RANS_L || st.x3 !== RANS_L) {
      throw corrupt(`fpack rANS final ${K === 1 ? 'state does' : 'states do'} not match the encoder start: corrupt block`);
    }
  } else decodeTail(st, K, n, t, e.tailWidth, out);
  if (st.q !== src.length) throw corrupt(`fpack block has ${src.length - st.q} bytes after its bit stream`);
  if ((st.acc & ((1 << st.nb) - 1)) !== 0) throw corrupt('fpack padding bits are not zero');
}

/**
 * The tail of a version-2 block: after n values the loops leave state
 * (n + j) mod K in register j; state k must lie in [L, L + 2^c_k), its c_k
 * bits the next of the tail string (values n ... n + t - 1, w bits each,
 * MSB-first).
 */
function decodeTail(st: DecodeState, K: number, n: number, t: number, w: number, out: Uint8Array): void {
  const bits = t * w;
  // the string through an accumulator of at most w - 1 + 24 bits (exact in a double)
  let acc = 0;
  let nb = 0;
  let i = n;
  for (let k = 0; k < K; k++) {
    const j = (((k - n) % K) + K) % K;
    const x = j === 0 ? st.x0 : j === 1 ? st.x1 : j === 2 ? st.x2 : st.x3;
    const c = tailChunk(bits, K, k);
    if (x < RANS_L) throw corrupt(`fpack rANS final state ${k} is below the encoder start: corrupt block`);
    if (x - RANS_L >= 2 ** c) throw corrupt(`fpack rANS final state ${k} holds more than its ${c} tail bits: corrupt block`);
    acc = acc * 2 ** c + (x - RANS_L);
    nb += c;
    for (; nb >= w; i++) {
      nb -= w;
      const v = Math.floor(acc / 2 ** nb);
      acc -= v * 2 ** nb;
      if (w === 16) {
        out[2 * i] = v;
        out[2 * i + 1] = v >> 8;
      } else out[i] = v;
    }
  }
}

/**
 * Coder state handed between the block header checks and a decode loop: the
 * K rANS states (x0 that of the next value; unused ones stay at L), the rANS
 * byte position, the bit stream's position and accumulator.
 */
interface DecodeState {
  x0: number;
  x1: number;
  x2: number;
  x3: number;
  k: number;
  p: number;
  q: number;
  acc: number;
  nb: number;
}

let padded = new Uint8Array(8192);
let paddedBytes = new Uint8Array(8192);
let wideOut = new Uint16Array(4096);
/** 16-bit values go out through a Uint16Array and one copy where the host is little-endian (the wire order). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Split mode: per value, exponent (A) then sign + mantissa (B), for 16- and 8-bit floats. */
function decodeSplit(e: Engine, src: Uint8Array, out: Uint8Array, n: number, ransEnd: number, st: DecodeState): void {
  const wide = e.plan.bits === 16;
  const ex = padded;
  const M = e.plan.mant;
  const signAt = e.plan.bits - 1;
  const mMask = (1 << M) - 1;
  // Where the neighbours' exponents are read: index base + i (distance 0 reads the zeroed half).
  // a distance of 0 (none) or of n or more (a block shorter than it) reads the zeroed half only
  const b1 = n - (e.distance === 0 ? n : Math.min(n, e.distance));
  const b2 = n - (e.distance2 === 0 ? n : Math.min(n, e.distance2));
  const { aClassOf, aClassOf2, bClassOf, aSlot, aFC, aGI, bSlot, bFC, bGI } = e;
  const end = src.length;
  if (wideOut.length < n) wideOut = new Uint16Array(n);
  const w16 = wideOut;
  const viaU16 = wide && LITTLE_ENDIAN;
  let { x0, x1, x2, x3, p, q, acc, nb } = st;
  const K = st.k;
  {
    for (let i = 0; i < n; i++) {
      let x = x0;
      const row = aClassOf[ex[b1 + i]] + aClassOf2[ex[b2 + i]];
      let t = x & 1023;
      let s = aSlot[(row << 10) | t];
      let fc = aFC[(row << 4) | s];
      x = (fc & 2047) * (x >> 10) + t - (fc >> 11);
      let g = aGI[s];
      while (x < RANS_L) {
        if (p >= ransEnd) throw corrupt('fpack rANS stream ends before its last symbol');
        x = (x << 8) | src[p++];
      }
      let a = g & 2047;
      let ol = (g >> 11) & 15;
      if (ol !== 0) {
        while (nb < ol) {
          if (q >= end) throw truncated('fpack bit stream ends early');
          acc = (acc << 8) | src[q++];
          nb += 8;
        }
        nb -= ol;
        const off = (acc >> nb) & ((1 << ol) - 1);
        if (off >= g >> 15) throw corrupt('fpack offset is outside its group');
        a += off;
      }
      ex[n + i] = a;
      const cb = bClassOf[a];
      t = x & 1023;
      s = bSlot[(cb << 10) | t];
      fc = bFC[(cb << 4) | s];
      x = (fc & 2047) * (x >> 10) + t - (fc >> 11);
      g = bGI[(cb << 4) | s];
      while (x < RANS_L) {
        if (p >= ransEnd) throw corrupt('fpack rANS stream ends before its last symbol');
        x = (x << 8) | src[p++];
      }
      let b = g & 2047;
      ol = (g >> 11) & 15;
      if (ol !== 0) {
        while (nb < ol) {
          if (q >= end) throw truncated('fpack bit stream ends early');
          acc = (acc << 8) | src[q++];
          nb += 8;
        }
        nb -= ol;
        const off = (acc >> nb) & ((1 << ol) - 1);
        if (off >= g >> 15) throw corrupt('fpack offset is outside its group');
        b += off;
      }
      // b = sign | mantissa: the sign goes on top, above the exponent
      const v = ((b >> M) << signAt) | (a << M) | (b & mMask);
      if (K === 1) x0 = x;
      else if (K === 2) {
        x0 = x1;
        x1 = x;
      } else {
        x0 = x1;
        x1 = x2;
        x2 = x3;
        x3 = x;
      }
      if (viaU16) w16[i] = v;
      else if (wide) {
        out[2 * i] = v;
        out[2 * i + 1] = v >> 8;
      } else out[i] = v;
    }
  }
  if (viaU16) out.set(new Uint8Array(w16.buffer, 0, 2 * n));
  {
    st.x0 = x0;
    st.x1 = x1;
    st.x2 = x2;
    st.x3 = x3;
    st.p = p;
    st.q = q;
    st.acc = acc;
    st.nb = nb;
  }
}

/** Whole and delta modes (8-bit floats): per value one symbol, the byte or its order-preserving difference to x[i-D]. */
function decodeWhole(e: Engine, src: Uint8Array, out: Uint8Array, n: number, ransEnd: number, st: DecodeState): void {
  const vb = paddedBytes;
  vb.fill(0, 0, n);
  const delta = e.delta;
  const OC = ORDER_CODE;
  const OD = ORDER_DECODE;
  // a distance of 0 (none) or of n or more (a block shorter than it) reads the zeroed half only
  const b1 = n - (e.distance === 0 ? n : Math.min(n, e.distance));
  const b2 = n - (e.distance2 === 0 ? n : Math.min(n, e.distance2));
  const { byteClass1, byteClass2, aSlot, aFC, aGI } = e;
  const end = src.length;
  let { x0, x1, x2, x3, p, q, acc, nb } = st;
  const K = st.k;
  {
    for (let i = 0; i < n; i++) {
      let x = x0;
      const n1 = vb[b1 + i];
      const row = byteClass1[n1] + byteClass2[vb[b2 + i]];
      const t = x & 1023;
      const s = aSlot[(row << 10) | t];
      const fc = aFC[(row << 4) | s];
      x = (fc & 2047) * (x >> 10) + t - (fc >> 11);
      const g = aGI[s];
      while (x < RANS_L) {
        if (p >= ransEnd) throw corrupt('fpack rANS stream ends before its last symbol');
        x = (x << 8) | src[p++];
      }
      let a = g & 2047;
      const ol = (g >> 11) & 15;
      if (ol !== 0) {
        while (nb < ol) {
          if (q >= end) throw truncated('fpack bit stream ends early');
          acc = (acc << 8) | src[q++];
          nb += 8;
        }
        nb -= ol;
        const off = (acc >> nb) & ((1 << ol) - 1);
        if (off >= g >> 15) throw corrupt('fpack offset is outside its group');
        a += off;
      }
      // Delta: the previous value at distance D is +0 (order code 0x80) before the block start.
      vb[n + i] = delta ? OD[(a + OC[n1]) & 255] : a;
      if (K === 1) x0 = x;
      else if (K === 2) {
        x0 = x1;
        x1 = x;
      } else {
        x0 = x1;
        x1 = x2;
        x2 = x3;
        x3 = x;
      }
    }
  }
  out.set(vb.subarray(n, 2 * n));
  {
    st.x0 = x0;
    st.x1 = x1;
    st.x2 = x2;
    st.x3 = x3;
    st.p = p;
    st.q = q;
    st.acc = acc;
    st.nb = nb;
  }
}
