// SCC block coders. `sccDecode` (adaptive blocks) and `sccDecodeStatic`
// (rANS blocks) do exactly what range.ts decodeAdaptiveJs and rans.ts
// decodeStatic do, and `sccEncode` what range.ts encodeAdaptiveJs does: the
// same arithmetic, the same checks in the same order, bit for bit.
//
// Why wasm: per value the dual-rate update moves 2 x 16 estimators of the
// coded table; as two u16x8 vectors per estimator that is a handful of SIMD
// ops instead of a serial JS loop. The range coder stays 32-bit unsigned:
// code < range <= 2^32 - 1 holds before every division (the table check
// rejects anything else), so u32 division is the exact floor of range.ts.
//
// Memory: ../layout.ts. The block at IN (zeros after it: the decoders may
// read 2 bytes per value past it), the values at OUT (decoders) or IN
// (encoder), the coded block at OUT (encoder), the engine's tables in its slot.
//
// The table totals stay far below 2^16 (the estimators of a table sum to
// about 2^15 each and the decay only shrinks an excess; scc/wasm/instance.ts
// checks the initial sums), so u16 prefix sums are exact.
//
// Decoder results: 0 ok; 1 value outside its table; 2 offset stream ends
// early; 3 offset outside its group; 4 padding bits not zero; 5 streams do
// not meet; 6 a table total of 8192 or more (never for a checked engine: the
// caller then decodes with the JS reference); static: 10 rANS stream runs
// into the offset stream; 12 final state is not 2^23; 13 bytes left between
// the two streams (their number at SCC_DETAIL).
import {
  IN,
  OUT,
  SCRATCH,
  SCC_CC,
  SCC_DETAIL,
  SCC_ENG_CTX,
  SCC_ENG_CUM,
  SCC_ENG_FREQ,
  SCC_ENG_GROUP_BASE,
  SCC_ENG_GROUP_OL,
  SCC_ENG_GROUP_SIZE,
  SCC_ENG_INIT,
  SCC_ENG_MAP,
  SCC_ENG_OFF,
  SCC_ENG_OL,
  SCC_ENG_SLOT,
  SCC_ENG_SYM,
  SCC_RECORDS,
  SCC_REC_A,
  SCC_REC_B,
  SCC_REC_P,
  SCC_ZERO,
} from '../layout';

/** The table of position p: tap A (CC or a value tap), tap B, 16 = before the block start; `vals` holds the block's values. */
@inline
function tableAt(p: i32, eng: i32, tapA: i32, dA: i32, dB: i32, nB: i32, vals: i32): i32 {
  let a = 0;
  if (tapA == 3) a = <i32>load<u8>(SCC_CC + p);
  else if (dA > 0) a = p >= dA ? <i32>load<u8>(eng + SCC_ENG_CTX + <i32>load<u8>(vals + p - dA)) : 16;
  let b = 0;
  if (dB > 0) b = p >= dB ? <i32>load<u8>(eng + SCC_ENG_CTX + <i32>load<u8>(vals + p - dB)) : 16;
  return <i32>load<u8>(eng + SCC_ENG_MAP + a * nB + b);
}

/**
 * Dual-rate update of the table record at rec after coding group s: every
 * lane decays, v - (v >> shift), and the coded lane adds the difference to
 * its increment, v + ((2^15 - v) >> shift) (a decayed group with A < 32 and
 * B < 256 is a fixed point, so decaying all 16 lanes equals range.ts's active
 * list); then the prefix sums P of Q = (A + B) >> 4.
 */
@inline
function update(rec: i32, s: i32): void {
  const sv = i16x8.splat(<i16>s);
  const mask0 = i16x8.eq(sv, i16x8(0, 1, 2, 3, 4, 5, 6, 7));
  const mask1 = i16x8.eq(sv, i16x8(8, 9, 10, 11, 12, 13, 14, 15));
  const top = i16x8.splat(-32768);
  let a0 = v128.load(rec, SCC_REC_A);
  let a1 = v128.load(rec, SCC_REC_A + 16);
  let b0 = v128.load(rec, SCC_REC_B);
  let b1 = v128.load(rec, SCC_REC_B + 16);
  a0 = i16x8.add(i16x8.sub(a0, i16x8.shr_u(a0, 5)), v128.and(mask0, i16x8.add(i16x8.shr_u(i16x8.sub(top, a0), 5), i16x8.shr_u(a0, 5))));
  a1 = i16x8.add(i16x8.sub(a1, i16x8.shr_u(a1, 5)), v128.and(mask1, i16x8.add(i16x8.shr_u(i16x8.sub(top, a1), 5), i16x8.shr_u(a1, 5))));
  b0 = i16x8.add(i16x8.sub(b0, i16x8.shr_u(b0, 8)), v128.and(mask0, i16x8.add(i16x8.shr_u(i16x8.sub(top, b0), 8), i16x8.shr_u(b0, 8))));
  b1 = i16x8.add(i16x8.sub(b1, i16x8.shr_u(b1, 8)), v128.and(mask1, i16x8.add(i16x8.shr_u(i16x8.sub(top, b1), 8), i16x8.shr_u(b1, 8))));
  v128.store(rec, a0, SCC_REC_A);
  v128.store(rec, a1, SCC_REC_A + 16);
  v128.store(rec, b0, SCC_REC_B);
  v128.store(rec, b1, SCC_REC_B + 16);
  // Q = (A + B) >> 4 without u16 overflow (A + B may reach 2^16):
  // floor((A + B) / 2) = avgr_u(A, B) - ((A ^ B) & 1), then >> 3. The
  // reference floors Q at 1 for a non-empty group; that never binds (A, B
  // start >= 8, and decay stops at 31 and 255), and an empty group stays at
  // A = B = Q = 0
  const one = i16x8.splat(1);
  let q0 = i16x8.shr_u(i16x8.sub(i16x8.avgr_u(a0, b0), v128.and(v128.xor(a0, b0), one)), 3);
  let q1 = i16x8.shr_u(i16x8.sub(i16x8.avgr_u(a1, b1), v128.and(v128.xor(a1, b1), one)), 3);
  // inclusive prefix sums: within each 4-lane half by two 64-bit shifts,
  // then the lower half's last lane into the upper half, then P1 += P0[7]
  q0 = i16x8.add(q0, i64x2.shl(q0, 16));
  q1 = i16x8.add(q1, i64x2.shl(q1, 16));
  q0 = i16x8.add(q0, i64x2.shl(q0, 32));
  q1 = i16x8.add(q1, i64x2.shl(q1, 32));
  const zero = i32x4.splat(0);
  q0 = i16x8.add(q0, i8x16.shuffle(q0, zero, 16, 17, 16, 17, 16, 17, 16, 17, 6, 7, 6, 7, 6, 7, 6, 7));
  q1 = i16x8.add(q1, i8x16.shuffle(q1, zero, 16, 17, 16, 17, 16, 17, 16, 17, 6, 7, 6, 7, 6, 7, 6, 7));
  q1 = i16x8.add(q1, i8x16.shuffle(q0, q0, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15));
  v128.store(rec, q0, SCC_REC_P);
  v128.store(rec, q1, SCC_REC_P + 16);
}

/** Adaptive block: decode n >= 1 values from the len-byte block at IN into OUT. */
export function sccDecode(n: i32, len: i32, eng: i32, tapA: i32, dA: i32, dB: i32, nB: i32, S: i32, tables: i32, sel: i32): i32 {
  // block start: every table back to its initial estimators
  memory.copy(SCC_RECORDS, eng + SCC_ENG_INIT, tables << 7);
  // the first four bytes, big-endian (the caller zeroes bytes past the block)
  let code: u32 = bswap<u32>(load<u32>(IN));
  let range: u32 = 0xffffffff;
  let p4 = 4;
  if (sel >= 0) {
    code -= <u32>sel << 31;
    range = 0x80000000;
  }
  let q = len;
  let acc = 0;
  let nb = 0;
  for (let p = 0; p < n; p++) {
    const rec = SCC_RECORDS + (tableAt(p, eng, tapA, dA, dB, nB, OUT) << 7);
    // range decoder: r = floor(range / total), t = floor(code / r); the
    // group is the first s with P[s] > t, i.e. the number of P[j] <= t
    const p0 = v128.load(rec, SCC_REC_P);
    const p1 = v128.load(rec, SCC_REC_P + 16);
    const tot = <u32>i16x8.extract_lane_u(p1, 7);
    if (tot == 0) return 1;
    if (tot >= 8192) return 6;
    const r = range / tot;
    const t = code / r;
    if (t >= tot) return 1;
    // (P and t are below 2^15, so the signed compare is exact: s = 16 - #{P > t})
    const tv = i16x8.splat(<i16>t);
    const s = 16 - popcnt(i8x16.bitmask(i8x16.narrow_i16x8_s(i16x8.gt_s(p0, tv), i16x8.gt_s(p1, tv))));
    const c = <u32>load<u16>(rec + (s << 1), SCC_REC_P - 2);
    const f = <u32>load<u16>(rec + (s << 1), SCC_REC_P) - c;
    code -= r * c;
    range = r * f;
    update(rec, s);
    // renormalise without branches (a mispredicted branch per value costs
    // more than the work): range >= r >= 2^24 / 8191 needs at most two
    // bytes, as many as clz(range) / 8; reads past the block end give 0
    const sh = (clz<u32>(range) >> 3) << 3;
    const w = (<u32>load<u8>(IN + p4) << 8) | <u32>load<u8>(IN + p4, 1);
    range <<= sh;
    code = (code << sh) | (w >> (16 - sh));
    p4 += <i32>(sh >> 3);
    // offset bits, read backwards from the block end, also without
    // branches: a group of offset length 0 reads nothing and gives offset 0
    let u = load<i32>(eng + SCC_ENG_GROUP_BASE + (s << 2));
    const ol = load<i32>(eng + SCC_ENG_GROUP_OL + (s << 2));
    const refill = <i32>(nb < ol);
    if (refill & <i32>(q <= 0)) return 2;
    q -= refill;
    acc = select<i32>((acc << 8) | <i32>load<u8>(select<i32>(IN + q, SCC_ZERO, refill)), acc, refill);
    nb = nb + (refill << 3) - ol;
    const off = (acc >> nb) & ((1 << ol) - 1);
    // (a coded group is never empty, so offset 0 always passes)
    if (<u32>off >= load<u32>(eng + SCC_ENG_GROUP_SIZE + (s << 2))) return 3;
    u += off;
    // predictor: x[i] = u + x[i - S] (mod 256)
    if (S > 0 && p >= S) u += <i32>load<u8>(OUT + p - S);
    store<u8>(OUT + p, <u8>u);
  }
  if (acc & ((1 << nb) - 1)) return 4;
  // the encoder's range-coder bytes end 2 or 3 bytes before the decoder's reads
  if (q < p4 - 3 || q > p4 - 2) return 5;
  return 0;
}

/**
 * Static block (rans.ts decodeStatic is the reference): rANS with 10-bit
 * counts. The caller has checked the block length, the select bit and the
 * initial state x (in [2^23, 2^31)). Counts sum to 1024 (checked per
 * engine), so x stays below 2^31.
 */
export function sccDecodeStatic(n: i32, len: i32, eng: i32, tapA: i32, dA: i32, dB: i32, nB: i32, S: i32, x0: i32): i32 {
  let x = <u32>x0;
  let p4 = 4;
  let q = len;
  let acc = 0;
  let nb = 0;
  for (let p = 0; p < n; p++) {
    const k = tableAt(p, eng, tapA, dA, dB, nB, OUT);
    // s = slot[k][x mod 1024]; x = freq * (x >> 10) + t - cum
    const t = x & 1023;
    const s = <i32>load<u8>(eng + SCC_ENG_SLOT + (k << 10) + <i32>t);
    const i2 = eng + (((k << 4) + s) << 1);
    x = <u32>load<u16>(i2 + SCC_ENG_FREQ) * (x >> 10) + t - <u32>load<u16>(i2 + SCC_ENG_CUM);
    // renormalise without branches: x >= 2^13 here, so at most two bytes
    const nbytes = <i32>(x < 0x800000) + <i32>(x < 0x8000);
    if (p4 + nbytes > q) return 10;
    const sh = <u32>(nbytes << 3);
    const w = (<u32>load<u8>(IN + p4) << 8) | <u32>load<u8>(IN + p4, 1);
    x = (x << sh) | (w >> (16 - sh));
    p4 += nbytes;
    // offset bits, read backwards from the block end (as in sccDecode)
    let u = load<i32>(eng + SCC_ENG_GROUP_BASE + (s << 2));
    const ol = load<i32>(eng + SCC_ENG_GROUP_OL + (s << 2));
    const refill = <i32>(nb < ol);
    if (refill & <i32>(q <= p4)) return 2;
    q -= refill;
    acc = select<i32>((acc << 8) | <i32>load<u8>(select<i32>(IN + q, SCC_ZERO, refill)), acc, refill);
    nb = nb + (refill << 3) - ol;
    const off = (acc >> nb) & ((1 << ol) - 1);
    if (<u32>off >= load<u32>(eng + SCC_ENG_GROUP_SIZE + (s << 2))) return 3;
    u += off;
    if (S > 0 && p >= S) u += <i32>load<u8>(OUT + p - S);
    store<u8>(OUT + p, <u8>u);
  }
  if (acc & ((1 << nb) - 1)) return 4;
  if (x != 0x800000) return 12;
  if (p4 != q) {
    store<i32>(SCC_DETAIL, q - p4);
    return 13;
  }
  return 0;
}

// The encoder's range-coder output state (LZMA-style carry handling).
let low: u64 = 0;
let cache: i32 = 0;
let pending: i32 = 0;
let w: i32 = 0;

/** Shift out the top byte of low, propagating a carry into pending 0xFF bytes. */
function shiftLow(): void {
  if (low < 0xff000000 || low >= 0x100000000) {
    const carry = <i32>(low >> 32);
    if (w >= 0) store<u8>(OUT + w, <u8>(cache + carry));
    w++;
    for (; pending != 0; pending--) store<u8>(OUT + w++, <u8>(255 + carry));
    cache = <i32>(low >> 24) & 255;
  } else pending++;
  low = (low & 0xffffff) << 8;
}

/**
 * Adaptive block encoder (range.ts encodeAdaptiveJs is the reference, byte
 * for byte): the n >= 1 values at IN (channel classes at SCC_CC); writes the
 * block at OUT, the offset bits forwards at SCRATCH first; returns its
 * length. low is u64 (it may carry into bit 32), as the reference's double.
 */
export function sccEncode(n: i32, eng: i32, tapA: i32, dA: i32, dB: i32, nB: i32, S: i32, tables: i32, sel: i32): i32 {
  memory.copy(SCC_RECORDS, eng + SCC_ENG_INIT, tables << 7);
  low = 0;
  cache = 0;
  pending = 0;
  w = -1; // the first byte LZMA-style coders emit is always 0: skipped
  let range: u32 = 0xffffffff;
  if (sel >= 0) {
    low = <u64>sel << 31;
    range = 0x80000000;
  }
  let acc: u32 = 0;
  let nb = 0;
  let m = 0;
  for (let p = 0; p < n; p++) {
    const x = <i32>load<u8>(IN + p);
    const rec = SCC_RECORDS + (tableAt(p, eng, tapA, dA, dB, nB, IN) << 7);
    // the coded symbol: u = x - x[i - S] (mod 256) with the predictor
    let u = x;
    if (S > 0 && p >= S) u = (x - <i32>load<u8>(IN + p - S)) & 255;
    const s = <i32>load<u8>(eng + SCC_ENG_SYM + u);
    const ol = <i32>load<u8>(eng + SCC_ENG_OL + u);
    if (ol > 0) {
      acc = (acc << ol) | <u32>load<u8>(eng + SCC_ENG_OFF + u);
      nb += ol;
      if (nb >= 8) {
        nb -= 8;
        store<u8>(SCRATCH + m++, <u8>(acc >> nb));
      }
    }
    // low += r * P[s-1]; range = r * Q[s]
    const tot = <u32>load<u16>(rec, SCC_REC_P + 30);
    const c = <u32>load<u16>(rec + (s << 1), SCC_REC_P - 2);
    const f = <u32>load<u16>(rec + (s << 1), SCC_REC_P) - c;
    const r = range / tot;
    low += <u64>r * <u64>c;
    range = r * f;
    update(rec, s);
    while (range < 0x1000000) {
      range <<= 8;
      shiftLow();
    }
  }
  if (nb > 0) store<u8>(SCRATCH + m++, <u8>(acc << (8 - nb)));
  // flush: the value with the most don't-care low bits inside [low, low + range)
  let flush = 2;
  let v: u64 = ((low + 0xffffff) >> 24) << 24;
  if (v + 0x1000000 > low + <u64>range) {
    flush = 3;
    v = ((low + 0xffff) >> 16) << 16;
  }
  low = v;
  for (; flush != 0; flush--) shiftLow();
  // the offset bytes, reversed, at the end
  for (let j = 0; j < m; j++) store<u8>(OUT + w + j, load<u8>(SCRATCH + m - 1 - j));
  return w + m;
}
