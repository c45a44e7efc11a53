// fpack block decoders: the loops of fpack/coder.ts, bit for bit, in
// AssemblyScript. The JS side (fpack/wasm.ts) parses the block header, checks
// the initial rANS states, fills the model slot (the tables of
// fpack/engine.ts) and lets the JS decoder name the error when a check here
// fails.
//
// Why faster than the JS loops: no bounds checks, no refill branch for the
// offsets (one 32-bit window per value holds both of its offsets, read from a
// byte-reversed copy of the bit stream), branch-free renormalisation, checks
// deferred to the end of the block (every check is on a monotone position or
// sticky, so "some check failed" is exact, as in apack.ts), and loops
// compiled per constant shape of the model (taps, mantissa width or
// delta, table form, rANS states).
import {
  FPACK_A_CLASS,
  FPACK_A_CLASS2,
  FPACK_A_GI,
  FPACK_A_STEP,
  FPACK_B_CLASS,
  FPACK_B_GI,
  FPACK_B_STEP,
  FPACK_HIST,
  FPACK_ORDER,
  FPACK_ORDER_DECODE,
  FPACK_W_CLASS1,
  FPACK_W_CLASS2,
  FPACK_W_LIM,
  FPACK_W_MASK,
  FPACK_W_OL,
  FPACK_W_VMIN,
  IN,
  OUT,
  SCRATCH,
  SCRATCH_BYTES,
} from '../layout';
import { offsets16, olPrefix } from './offsets';

const RANS_L: u32 = 1 << 23;

/** Fill the order code of 8-bit floats (sign-magnitude -> offset binary, engine.ts ORDER_CODE) and its inverse. */
export function fpackPrepare(): void {
  for (let b = 0; b < 256; b++) {
    const c = b & 0x80 ? 0x7f - (b & 0x7f) : 0x80 | b;
    store<u8>(FPACK_ORDER + b, <u8>c);
    store<u8>(FPACK_ORDER_DECODE + c, <u8>b);
  }
}

// The bit stream is read from a byte-reversed copy that ends at REV (the top of SCRATCH, where
// EBPC's and APack's decoders put their reversed copies too: a module decodes one block at a
// time): a little-endian load there is a big-endian load of the stream, one load where the
// forward stream needs a byte swap (a dozen instructions in wasm).
const REV = SCRATCH + SCRATCH_BYTES;

/** Copy `bytes` bytes at src, reversed, to end just below end (16 at a time: a few bytes before that get overwritten too). */
function reverseInto(src: i32, bytes: i32, end: i32): void {
  const rev = v128(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (let k = 0; k < bytes; k += 16) v128.store(end - 16 - k, i8x16.swizzle(v128.load(src + k), rev));
}

/** The 32 bits of the stream from bit position `bit`, from its reversed copy ending at REV. */
@inline
function window(bit: u32): u32 {
  return load<u32>(REV - 4 - <i32>(bit >> 3)) << (bit & 7);
}

/** The top ol bits of w (0 for ol = 0). */
@inline
function top(w: u32, ol: u32): u32 {
  return <u32>((<u64>w << ol) >> 32);
}

/**
 * The bits a state x in [2^13, 2^31) (a decoder state after its step) is
 * shifted left by in renormalisation: 0 from 2^23 up, 8 from 2^15, 16 below
 * (clz 1..8, 9..16, 17..18), one byte per 8 bits (as apack.ts).
 */
@inline
function renormShift(x: u32): u32 {
  return (clz<u32>(x) - 1) & 24;
}

/** A's step entry f | (slot - cum) << 11 | group << 21 | B class << 25 for context `row` at state x. */
@inline
function aStep(s: i32, row: i32, x: u32): u32 {
  return load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
}

/**
 * Decoder state shared by the loops: the rANS states (x0 that of the next
 * value; the states a block does not use stay at L), rANS byte position, bit
 * position of the offsets, sticky check flag (its sign bit).
 */
let x0: u32 = RANS_L;
let x1: u32 = RANS_L;
let x2: u32 = RANS_L;
let x3: u32 = RANS_L;
let pos: i32 = 0;
let bitPos: u32 = 0;
let bad: u32 = 0;

/** The big-endian u32 at p. */
@inline
function be32(p: i32): u32 {
  return bswap<u32>(load<u32>(p));
}

/**
 * Starts a block: the k initial states at IN + p (the caller checked each is in [2^23,
 * 2^31)), the rANS bytes after them, the bit stream from IN + ransEnd to IN + end reversed
 * into REV, and n zeros of history at FPACK_HIST (a neighbour before the block start, or
 * none, reads exponent 0 / byte +0 there).
 */
function start(k: i32, n: i32, p: i32, ransEnd: i32, end: i32): void {
  memory.fill(FPACK_HIST, 0, n);
  p += IN;
  x0 = be32(p);
  x1 = k >= 2 ? be32(p + 4) : RANS_L;
  x2 = k == 4 ? be32(p + 8) : RANS_L;
  x3 = k == 4 ? be32(p + 12) : RANS_L;
  pos = p + (k << 2);
  reverseInto(IN + ransEnd, end - ransEnd, REV);
  bitPos = 0;
  bad = 0;
}

/**
 * After a rotating loop (value i on register 0, then the registers rotate),
 * register j holds state (n + j) mod k: rotate them back so that register j
 * holds state j, as the loops with a fixed register per state leave them.
 */
function unrotate(k: i32, n: i32): void {
  for (let r = (k - (n % k)) % k; r > 0; r--) {
    const x = x0;
    if (k == 2) {
      x0 = x1;
      x1 = x;
    } else if (k == 4) {
      x0 = x1;
      x1 = x2;
      x2 = x3;
      x3 = x;
    }
  }
}

/** State k (0 ... 3) of the block, register k once the loops are done (after unrotate). */
@inline
function stateAt(k: i32): u32 {
  return k == 0 ? x0 : k == 1 ? x1 : k == 2 ? x2 : x3;
}

/**
 * Version-2 blocks (coder.ts decodeTail): the last t values of w bits came
 * in the k initial states; state j must lie in [L, L + 2^c_j), c_j =
 * floor(t w / k) + (j < t w mod k), its bits the next c_j of the tail string
 * (values MSB-first). Writes value i of the tail to dst + (i << wide) (u16
 * when wide = 1, else u8). Returns true when every state is in range.
 */
function tail(k: i32, t: i32, w: i32, dst: i32, wide: i32): bool {
  const bits = t * w;
  // the string through a 64-bit accumulator: at most w - 1 + 24 bits wait in it
  let acc: u64 = 0;
  let nb = 0;
  let i = 0;
  let ok = true;
  for (let j = 0; j < k; j++) {
    const c = bits / k + (j < bits % k ? 1 : 0);
    const r = stateAt(j) - RANS_L;
    // x < L wraps r to above 2^31, out of range as well
    if (r >= <u32>1 << c) ok = false;
    acc = (acc << <u64>c) | <u64>r;
    nb += c;
    for (; nb >= w; i++) {
      nb -= w;
      const v = <u32>(acc >> <u64>nb);
      if (wide) store<u16>(dst + (i << 1), <u16>v);
      else store<u8>(dst + i, <u8>v);
    }
  }
  return ok;
}

/**
 * The end-of-block checks of coder.ts: rANS consumed exactly and every state back to L (or, with
 * a tail of t values, every state in range, the tail written to dst), the bit stream exactly
 * ceil(bit / 8) bytes with zero padding, no offset outside its group.
 */
function finish(ransEnd: i32, end: i32, k: i32, t: i32, w: i32, dst: i32, wide: i32): i32 {
  const q = IN + ransEnd;
  const bit = bitPos;
  const pad = (<u32>load<u8>(q + <i32>(bit >> 3)) << (bit & 7)) & 255;
  const states = t == 0 ? x0 == RANS_L && x1 == RANS_L && x2 == RANS_L && x3 == RANS_L : tail(k, t, w, dst, wide);
  const ok = pos == q && states && q + <i32>((bit + 7) >> 3) == IN + end && bad >> 31 == 0 && ((bit & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}

/**
 * The split loop of models whose B classes are unions of A's groups (what
 * fits make), inlined per constant (ctx, m, k) into the functions
 * below, so that unused loads, width branches and state rotations compile
 * away: ctx 0, a single A context (no history kept); 1, the first
 * neighbour's class; 2, both. m, the mantissa bits, fixes the dtype (7 bf16,
 * 10 fp16, 3 e4m3, 2 e5m2). k, 1 or 2 rANS states: value i on state i mod
 * k, two values per round (the last value of an odd block on state 0), so
 * the two chains are independent and the core overlaps them. B's class comes with
 * A's step entry (bits 25-28), so B's step follows A's without waiting for
 * the exponent. The group check is a sign bit: size - 1 - offset < 0 exactly
 * when the offset is outside its group.
 */
@inline
function split(ctx: i32, m: u32, k: i32, s: i32, n: i32, b1: i32, b2: i32): void {
  const at = FPACK_HIST + n;
  const wide = m >= 7;
  const signAt: u32 = wide ? 15 : 7;
  const mMask: u32 = (1 << m) - 1;
  const expMask: u32 = (1 << (signAt - m)) - 1;
  let p = pos;
  let bit = bitPos;
  let err: u32 = 0;
  let y0 = x0;
  let y1 = x1;
  let i = 0;
  if (k == 2) {
    // two values per round, value i on state 0 and i + 1 on state 1: no rotation
    for (; i + 1 < n; i += 2) {
      {
        let x = y0;
        let row = 0;
        if (ctx >= 1) row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS);
        if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
        const sa = aStep(s, row, x);
        x = (sa & 2047) * (x >> 10) + ((sa >> 11) & 1023);
        let sh = renormShift(x);
        x = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        const cb = <i32>(sa >> 25);
        const sb = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
        x = (sb & 2047) * (x >> 10) + ((sb >> 11) & 1023);
        sh = renormShift(x);
        y0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        // the offsets, off the states' dependency chains: both from one window
        const ga = load<u32>(s + <i32>(((sa >> 21) & 15) << 2), FPACK_A_GI);
        const gb = load<u32>(s + (((cb << 4) | <i32>((sb >> 21) & 15)) << 2), FPACK_B_GI);
        const w = window(bit);
        const olA = (ga >> 11) & 15;
        const olB = (gb >> 11) & 15;
        const offA = top(w, olA);
        const offB = top(w << olA, olB);
        bit += olA + olB;
        err |= ((ga >> 15) - 1 - offA) | ((gb >> 15) - 1 - offB);
        const a = ((ga & 2047) + offA) & expMask;
        if (ctx >= 1) store<u8>(at + i, <u8>a);
        const b = (gb & 2047) + offB;
        // b = sign | mantissa: the sign goes on top, above the exponent
        const v = ((b & (1 << m)) << (signAt - m)) | (a << m) | (b & mMask);
        if (wide) store<u16>(OUT + (i << 1), <u16>v);
        else store<u8>(OUT + i, <u8>v);
      }
      {
        let x = y1;
        let row = 0;
        if (ctx >= 1) row = <i32>load<u8>(s + <i32>load<u8>(b1 + i + 1), FPACK_A_CLASS);
        if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i + 1), FPACK_A_CLASS2);
        const sa = aStep(s, row, x);
        x = (sa & 2047) * (x >> 10) + ((sa >> 11) & 1023);
        let sh = renormShift(x);
        x = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        const cb = <i32>(sa >> 25);
        const sb = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
        x = (sb & 2047) * (x >> 10) + ((sb >> 11) & 1023);
        sh = renormShift(x);
        y1 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        // the offsets, off the states' dependency chains: both from one window
        const ga = load<u32>(s + <i32>(((sa >> 21) & 15) << 2), FPACK_A_GI);
        const gb = load<u32>(s + (((cb << 4) | <i32>((sb >> 21) & 15)) << 2), FPACK_B_GI);
        const w = window(bit);
        const olA = (ga >> 11) & 15;
        const olB = (gb >> 11) & 15;
        const offA = top(w, olA);
        const offB = top(w << olA, olB);
        bit += olA + olB;
        err |= ((ga >> 15) - 1 - offA) | ((gb >> 15) - 1 - offB);
        const a = ((ga & 2047) + offA) & expMask;
        if (ctx >= 1) store<u8>(at + i + 1, <u8>a);
        const b = (gb & 2047) + offB;
        // b = sign | mantissa: the sign goes on top, above the exponent
        const v = ((b & (1 << m)) << (signAt - m)) | (a << m) | (b & mMask);
        if (wide) store<u16>(OUT + ((i + 1) << 1), <u16>v);
        else store<u8>(OUT + i + 1, <u8>v);
      }
    }
  }
  for (; i < n; i++) {
    {
      let x = y0;
      let row = 0;
      if (ctx >= 1) row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS);
      if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
      const sa = aStep(s, row, x);
      x = (sa & 2047) * (x >> 10) + ((sa >> 11) & 1023);
      let sh = renormShift(x);
      x = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      const cb = <i32>(sa >> 25);
      const sb = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
      x = (sb & 2047) * (x >> 10) + ((sb >> 11) & 1023);
      sh = renormShift(x);
      y0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      // the offsets, off the states' dependency chains: both from one window
      const ga = load<u32>(s + <i32>(((sa >> 21) & 15) << 2), FPACK_A_GI);
      const gb = load<u32>(s + (((cb << 4) | <i32>((sb >> 21) & 15)) << 2), FPACK_B_GI);
      const w = window(bit);
      const olA = (ga >> 11) & 15;
      const olB = (gb >> 11) & 15;
      const offA = top(w, olA);
      const offB = top(w << olA, olB);
      bit += olA + olB;
      err |= ((ga >> 15) - 1 - offA) | ((gb >> 15) - 1 - offB);
      const a = ((ga & 2047) + offA) & expMask;
      if (ctx >= 1) store<u8>(at + i, <u8>a);
      const b = (gb & 2047) + offB;
      // b = sign | mantissa: the sign goes on top, above the exponent
      const v = ((b & (1 << m)) << (signAt - m)) | (a << m) | (b & mMask);
      if (wide) store<u16>(OUT + (i << 1), <u16>v);
      else store<u8>(OUT + i, <u8>v);
    }
  }
  x0 = y0;
  x1 = y1;
  pos = p;
  bitPos = bit;
  bad |= err;
}

/**
 * The split loop for everything else: models whose B classes cut A's groups
 * (older fits; B's class comes from the exponent, after A's offset) and 4
 * states (valid in the header, not made by fits). Both taps, the u32 A
 * table, the width and k at run time: correct for every model, not fast.
 */
function splitAny(k: i32, s: i32, n: i32, wide: i32, m: u32, b1: i32, b2: i32): void {
  const at = FPACK_HIST + n;
  const signAt: u32 = wide ? 15 : 7;
  const mMask: u32 = (1 << m) - 1;
  const expMask: u32 = (1 << (signAt - m)) - 1;
  let p = pos;
  let bit: u32 = bitPos;
  let err: u32 = 0;
  for (let i = 0; i < n; i++) {
    let x = x0;
    const row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS) + <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
    let st = load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    let sh = renormShift(x);
    x = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
    p += <i32>(sh >> 3);
    let g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
    const w = window(bit);
    const olA = (g >> 11) & 15;
    let off = top(w, olA);
    err |= (g >> 15) - 1 - off;
    const a = ((g & 2047) + off) & expMask;
    store<u8>(at + i, <u8>a);
    const cb = <i32>load<u8>(s + <i32>a, FPACK_B_CLASS);
    st = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    sh = renormShift(x);
    x = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
    p += <i32>(sh >> 3);
    if (k == 1) x0 = x;
    else if (k == 2) {
      x0 = x1;
      x1 = x;
    } else {
      x0 = x1;
      x1 = x2;
      x2 = x3;
      x3 = x;
    }
    g = load<u32>(s + (((cb << 4) | <i32>(st >> 21)) << 2), FPACK_B_GI);
    const olB = (g >> 11) & 15;
    off = top(w << olA, olB);
    err |= (g >> 15) - 1 - off;
    bit += olA + olB;
    const b = (g & 2047) + off;
    const v = ((b >> m) << signAt) | (a << m) | (b & mMask);
    if (wide) store<u16>(OUT + (i << 1), <u16>v);
    else store<u8>(OUT + i, <u8>v);
  }
  pos = p;
  bitPos = bit;
  bad |= err;
}

/**
 * The whole / delta loop, inlined per constant (ctx, delta, k) as split's:
 * 2 states two values per round, 4 states (the general case) by rotation.
 */
@inline
function whole(ctx: i32, delta: i32, k: i32, s: i32, n: i32, b1: i32, b2: i32): void {
  const at = FPACK_HIST + n;
  let p = pos;
  let bit = bitPos;
  let err: u32 = 0;
  let y0 = x0;
  let y1 = x1;
  let y2 = x2;
  let y3 = x3;
  let i = 0;
  if (k == 2) {
    for (; i + 1 < n; i += 2) {
      {
        let x = y0;
        const n1 = delta || ctx >= 1 ? <i32>load<u8>(b1 + i) : 0;
        let row = 0;
        if (ctx >= 1) row = <i32>load<u8>(s + n1, FPACK_A_CLASS);
        if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
        const st = aStep(s, row, x);
        x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
        const sh = renormShift(x);
        y0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        const g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
        const ol = (g >> 11) & 15;
        const off = top(window(bit), ol);
        bit += ol;
        err |= (g >> 15) - 1 - off;
        const a = ((g & 2047) + off) & 255;
        const v = delta ? <u32>load<u8>(FPACK_ORDER_DECODE + <i32>((a + <u32>load<u8>(FPACK_ORDER + n1)) & 255)) : a;
        store<u8>(at + i, <u8>v);
      }
      {
        let x = y1;
        const n1 = delta || ctx >= 1 ? <i32>load<u8>(b1 + i + 1) : 0;
        let row = 0;
        if (ctx >= 1) row = <i32>load<u8>(s + n1, FPACK_A_CLASS);
        if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i + 1), FPACK_A_CLASS2);
        const st = aStep(s, row, x);
        x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
        const sh = renormShift(x);
        y1 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        const g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
        const ol = (g >> 11) & 15;
        const off = top(window(bit), ol);
        bit += ol;
        err |= (g >> 15) - 1 - off;
        const a = ((g & 2047) + off) & 255;
        const v = delta ? <u32>load<u8>(FPACK_ORDER_DECODE + <i32>((a + <u32>load<u8>(FPACK_ORDER + n1)) & 255)) : a;
        store<u8>(at + i + 1, <u8>v);
      }
    }
  }
  for (; i < n; i++) {
    {
      let x = y0;
      const n1 = delta || ctx >= 1 ? <i32>load<u8>(b1 + i) : 0;
      let row = 0;
      if (ctx >= 1) row = <i32>load<u8>(s + n1, FPACK_A_CLASS);
      if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
      const st = aStep(s, row, x);
      x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
      const sh = renormShift(x);
      y0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      const g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
      const ol = (g >> 11) & 15;
      const off = top(window(bit), ol);
      bit += ol;
      err |= (g >> 15) - 1 - off;
      const a = ((g & 2047) + off) & 255;
      const v = delta ? <u32>load<u8>(FPACK_ORDER_DECODE + <i32>((a + <u32>load<u8>(FPACK_ORDER + n1)) & 255)) : a;
      store<u8>(at + i, <u8>v);
    }
    if (k == 4) {
      // rotate: y0 holds the state of the next value
      const y = y0;
      y0 = y1;
      y1 = y2;
      y2 = y3;
      y3 = y;
    }
  }
  x0 = y0;
  x1 = y1;
  x2 = y2;
  x3 = y3;
  pos = p;
  bitPos = bit;
  bad |= err;
}

// One function per constant shape of split and whole (38, one line each): inlined into one
// large function, the optimiser kept the width and mantissa as variables (seen in the machine
// code V8 made of it: shifts by a register and a width test per value).
function split1c0m7(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 7, 1, s, n, b1, b2);
}
function split1c0m10(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 10, 1, s, n, b1, b2);
}
function split1c0m3(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 3, 1, s, n, b1, b2);
}
function split1c0m2(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 2, 1, s, n, b1, b2);
}
function split1c1m7(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 7, 1, s, n, b1, b2);
}
function split1c1m10(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 10, 1, s, n, b1, b2);
}
function split1c1m3(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 3, 1, s, n, b1, b2);
}
function split1c1m2(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 2, 1, s, n, b1, b2);
}
function split1c2m7(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 7, 1, s, n, b1, b2);
}
function split1c2m10(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 10, 1, s, n, b1, b2);
}
function split1c2m3(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 3, 1, s, n, b1, b2);
}
function split1c2m2(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 2, 1, s, n, b1, b2);
}
function split2c0m7(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 7, 2, s, n, b1, b2);
}
function split2c0m10(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 10, 2, s, n, b1, b2);
}
function split2c0m3(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 3, 2, s, n, b1, b2);
}
function split2c0m2(s: i32, n: i32, b1: i32, b2: i32): void {
  split(0, 2, 2, s, n, b1, b2);
}
function split2c1m7(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 7, 2, s, n, b1, b2);
}
function split2c1m10(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 10, 2, s, n, b1, b2);
}
function split2c1m3(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 3, 2, s, n, b1, b2);
}
function split2c1m2(s: i32, n: i32, b1: i32, b2: i32): void {
  split(1, 2, 2, s, n, b1, b2);
}
function split2c2m7(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 7, 2, s, n, b1, b2);
}
function split2c2m10(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 10, 2, s, n, b1, b2);
}
function split2c2m3(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 3, 2, s, n, b1, b2);
}
function split2c2m2(s: i32, n: i32, b1: i32, b2: i32): void {
  split(2, 2, 2, s, n, b1, b2);
}
function whole1c0w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(0, 0, 1, s, n, b1, b2);
}
function whole1c0d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(0, 1, 1, s, n, b1, b2);
}
function whole1c1w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(1, 0, 1, s, n, b1, b2);
}
function whole1c1d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(1, 1, 1, s, n, b1, b2);
}
function whole1c2w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(2, 0, 1, s, n, b1, b2);
}
function whole1c2d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(2, 1, 1, s, n, b1, b2);
}
function whole2c0w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(0, 0, 2, s, n, b1, b2);
}
function whole2c0d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(0, 1, 2, s, n, b1, b2);
}
function whole2c1w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(1, 0, 2, s, n, b1, b2);
}
function whole2c1d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(1, 1, 2, s, n, b1, b2);
}
function whole2c2w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(2, 0, 2, s, n, b1, b2);
}
function whole2c2d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(2, 1, 2, s, n, b1, b2);
}
function whole4w(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(2, 0, 4, s, n, b1, b2);
}
function whole4d(s: i32, n: i32, b1: i32, b2: i32): void {
  whole(2, 1, 4, s, n, b1, b2);
}

/** The split function of a model's shape. */
function splitShape(ctx: i32, m: u32, k: i32, s: i32, n: i32, b1: i32, b2: i32): void {
  if (k == 1 && ctx == 0 && m == 7) split1c0m7(s, n, b1, b2);
  else if (k == 1 && ctx == 0 && m == 10) split1c0m10(s, n, b1, b2);
  else if (k == 1 && ctx == 0 && m == 3) split1c0m3(s, n, b1, b2);
  else if (k == 1 && ctx == 0 && m == 2) split1c0m2(s, n, b1, b2);
  else if (k == 1 && ctx == 1 && m == 7) split1c1m7(s, n, b1, b2);
  else if (k == 1 && ctx == 1 && m == 10) split1c1m10(s, n, b1, b2);
  else if (k == 1 && ctx == 1 && m == 3) split1c1m3(s, n, b1, b2);
  else if (k == 1 && ctx == 1 && m == 2) split1c1m2(s, n, b1, b2);
  else if (k == 1 && ctx == 2 && m == 7) split1c2m7(s, n, b1, b2);
  else if (k == 1 && ctx == 2 && m == 10) split1c2m10(s, n, b1, b2);
  else if (k == 1 && ctx == 2 && m == 3) split1c2m3(s, n, b1, b2);
  else if (k == 1 && ctx == 2 && m == 2) split1c2m2(s, n, b1, b2);
  else if (k == 2 && ctx == 0 && m == 7) split2c0m7(s, n, b1, b2);
  else if (k == 2 && ctx == 0 && m == 10) split2c0m10(s, n, b1, b2);
  else if (k == 2 && ctx == 0 && m == 3) split2c0m3(s, n, b1, b2);
  else if (k == 2 && ctx == 0 && m == 2) split2c0m2(s, n, b1, b2);
  else if (k == 2 && ctx == 1 && m == 7) split2c1m7(s, n, b1, b2);
  else if (k == 2 && ctx == 1 && m == 10) split2c1m10(s, n, b1, b2);
  else if (k == 2 && ctx == 1 && m == 3) split2c1m3(s, n, b1, b2);
  else if (k == 2 && ctx == 1 && m == 2) split2c1m2(s, n, b1, b2);
  else if (k == 2 && ctx == 2 && m == 7) split2c2m7(s, n, b1, b2);
  else if (k == 2 && ctx == 2 && m == 10) split2c2m10(s, n, b1, b2);
  else if (k == 2 && ctx == 2 && m == 3) split2c2m3(s, n, b1, b2);
  else if (k == 2 && ctx == 2 && m == 2) split2c2m2(s, n, b1, b2);
}

/** The whole / delta function of a model's shape. */
function wholeShape(ctx: i32, delta: i32, k: i32, s: i32, n: i32, b1: i32, b2: i32): void {
  if (k == 1 && ctx == 0 && delta == 0) whole1c0w(s, n, b1, b2);
  else if (k == 1 && ctx == 0 && delta == 1) whole1c0d(s, n, b1, b2);
  else if (k == 1 && ctx == 1 && delta == 0) whole1c1w(s, n, b1, b2);
  else if (k == 1 && ctx == 1 && delta == 1) whole1c1d(s, n, b1, b2);
  else if (k == 1 && ctx == 2 && delta == 0) whole1c2w(s, n, b1, b2);
  else if (k == 1 && ctx == 2 && delta == 1) whole1c2d(s, n, b1, b2);
  else if (k == 2 && ctx == 0 && delta == 0) whole2c0w(s, n, b1, b2);
  else if (k == 2 && ctx == 0 && delta == 1) whole2c0d(s, n, b1, b2);
  else if (k == 2 && ctx == 1 && delta == 0) whole2c1w(s, n, b1, b2);
  else if (k == 2 && ctx == 1 && delta == 1) whole2c1d(s, n, b1, b2);
  else if (k == 2 && ctx == 2 && delta == 0) whole2c2w(s, n, b1, b2);
  else if (k == 2 && ctx == 2 && delta == 1) whole2c2d(s, n, b1, b2);
}

/**
 * Split mode: n values (16-bit when wide = 1) into OUT, from the rANS bytes
 * at IN + p (k initial states first, each already checked to lie in
 * [2^23, 2^31)) up to IN + ransEnd and the bit stream from there to IN + end.
 * d1, d2: the neighbours' distances (0: none); ctx: how many neighbours the A
 * context uses (0, 1 or 2); k: rANS states (1, 2 or 4); byGroup = 1: every A
 * group lies in one B class, and A's step entries carry that class; t: the
 * block's last values carried in the initial states (version-2 headers,
 * min(n, the engine's tail); 0 for version 1): the loops decode n - t.
 * Returns 0: exact; 1: some check failed. The caller leaves 5n + 8 readable
 * bytes after the block.
 */
export function fpackDecodeSplit(s: i32, n: i32, wide: i32, mant: i32, d1: i32, d2: i32, k: i32, p: i32, ransEnd: i32, end: i32, byGroup: i32, ctx: i32, t: i32): i32 {
  // the loops decode the first n - t values; the last t come from the final states
  n -= t;
  start(k, n, p, ransEnd, end);
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : min(d1, n));
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : min(d2, n));
  if (byGroup && k <= 2) splitShape(ctx, <u32>mant, k, s, n, b1, b2);
  else {
    splitAny(k, s, n, wide, <u32>mant, b1, b2);
    unrotate(k, n);
  }
  return finish(ransEnd, end, k, t, wide ? 16 : 8, OUT + (n << wide), wide);
}

/**
 * Whole and delta modes (8-bit floats): n bytes into FPACK_HIST + n (the
 * caller copies them out), one symbol per value, the byte or (delta = 1) its
 * order-preserving difference to x[i - d1]. Arguments and result as
 * fpackDecodeSplit's; the bytes land at FPACK_HIST + n - t.
 */
export function fpackDecodeWhole(s: i32, n: i32, delta: i32, d1: i32, d2: i32, k: i32, p: i32, ransEnd: i32, end: i32, ctx: i32, t: i32): i32 {
  n -= t;
  start(k, n, p, ransEnd, end);
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : min(d1, n));
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : min(d2, n));
  if (k <= 2) wholeShape(ctx, delta, k, s, n, b1, b2);
  else {
    // 4 states: both taps and the u32 table serve every model
    if (delta) whole4d(s, n, b1, b2);
    else whole4w(s, n, b1, b2);
    unrotate(k, n);
  }
  // the tail bytes follow the decoded ones (raw bytes, also in delta mode)
  return finish(ransEnd, end, k, t, 8, FPACK_HIST + 2 * n, 0);
}

/**
 * Whole and delta modes with 2 states in two passes, as APack's decode4Split
 * (apack.ts), per chunk of `ch` values (a multiple of 16, at most each
 * neighbour distance the model reads, so a chunk's neighbours are decoded
 * before it starts): the A rows of its values from their neighbours'
 * exponents, 16 at a time (SIMD: shift, mask and a 32-entry lookup by two
 * swizzles); then their rANS steps, each writing its value's group index;
 * then their offsets and values, 16 at a time (SIMD, as APack's second
 * pass, and delta's order code by arithmetic: c = b ^ 0x80 ^ (sign(b) &
 * 0x7f), its inverse b = c ^ 0x80 ^ (~sign(c) & 0x7f)). The same blocks and
 * checks as whole(); a value no longer waits for the previous one's offset
 * and context, only its rANS state does.
 */
@inline
function wholeTwoPass(ctx: i32, delta: i32, s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  const at = FPACK_HIST + n;
  // per value its group index (and 16 of padding), then its A row
  const g = SCRATCH;
  const cb = SCRATCH + n + 32;
  let p = pos;
  let y0 = x0;
  let y1 = x1;
  const q = IN + ransEnd;
  let bits: u32 = 0;
  // nonzero in a lane where some offset exceeded its group's size - 1
  let badv = i32x4.splat(0);
  const vminOf = v128.load(s + FPACK_W_VMIN);
  const olOf = v128.load(s + FPACK_W_OL);
  const maskOf = v128.load(s + FPACK_W_MASK);
  const limOf = v128.load(s + FPACK_W_LIM);
  const c1lo = v128.load(s + FPACK_W_CLASS1);
  const c1hi = v128.load(s + FPACK_W_CLASS1 + 16);
  const c2lo = v128.load(s + FPACK_W_CLASS2);
  const c2hi = v128.load(s + FPACK_W_CLASS2 + 16);
  const em = i8x16.splat(<i8>expMask);
  const sixteen = i8x16.splat(16);
  for (let k0 = 0; k0 < n; k0 += ch) {
    const kEnd = min(n, k0 + ch);
    if (ctx >= 1) {
      // a lane's exponent: its byte >> mant within a u16 lane, masked (the neighbour byte's bits land above the mask)
      for (let j = k0; j < kEnd; j += 16) {
        const e1 = v128.and(i16x8.shr_u(v128.load(b1 + j), mant), em);
        let row = v128.or(i8x16.swizzle(c1lo, e1), i8x16.swizzle(c1hi, i8x16.sub(e1, sixteen)));
        if (ctx == 2) {
          const e2 = v128.and(i16x8.shr_u(v128.load(b2 + j), mant), em);
          row = i8x16.add(row, v128.or(i8x16.swizzle(c2lo, e2), i8x16.swizzle(c2hi, i8x16.sub(e2, sixteen))));
        }
        v128.store(cb + j, row);
      }
    }
    let i = k0;
    for (; i + 1 < kEnd; i += 2) {
      {
        const row = ctx >= 1 ? <i32>load<u8>(cb + i) : 0;
        const st = aStep(s, row, y0);
        const x = (st & 2047) * (y0 >> 10) + ((st >> 11) & 1023);
        const sh = renormShift(x);
        y0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        store<u8>(g + i, <u8>((st >> 21) & 15));
      }
      {
        const row = ctx >= 1 ? <i32>load<u8>(cb + i + 1) : 0;
        const st = aStep(s, row, y1);
        const x = (st & 2047) * (y1 >> 10) + ((st >> 11) & 1023);
        const sh = renormShift(x);
        y1 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
        p += <i32>(sh >> 3);
        store<u8>(g + i + 1, <u8>((st >> 21) & 15));
      }
    }
    // the last value of an odd block, on state 0
    if (i < kEnd) {
      const row = ctx >= 1 ? <i32>load<u8>(cb + i) : 0;
      const st = aStep(s, row, y0);
      const x = (st & 2047) * (y0 >> 10) + ((st >> 11) & 1023);
      const sh = renormShift(x);
      y0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      store<u8>(g + i, <u8>((st >> 21) & 15));
    }
    // padding, group index 255: the swizzles give it OL 0, vmin 0 and size - 1 0 (it lands past the values)
    if (kEnd == n) v128.store(g + n, i8x16.splat(-1));
    for (let k = k0; k < kEnd; k += 16) {
      const gi = v128.load(g + k);
      const vmin = i8x16.swizzle(vminOf, gi);
      const ol = i8x16.swizzle(olOf, gi);
      const mask = i8x16.swizzle(maskOf, gi);
      const lim = i8x16.swizzle(limOf, gi);
      const sum = olPrefix(ol);
      const off = offsets16(q, bits, ol, mask, sum);
      badv = v128.or(badv, i8x16.sub_sat_u(off, lim));
      let v = i8x16.add(vmin, off);
      if (delta) {
        const nb = v128.load(b1 + k);
        const code = v128.xor(v128.xor(nb, i8x16.splat(-128)), v128.and(i8x16.shr_s(nb, 7), i8x16.splat(0x7f)));
        const c = i8x16.add(v, code);
        v = v128.xor(v128.xor(c, i8x16.splat(-128)), v128.andnot(i8x16.splat(0x7f), i8x16.shr_s(c, 7)));
      }
      v128.store(at + k, v);
      bits += <u32>i8x16.extract_lane_u(sum, 15);
    }
  }
  x0 = y0;
  x1 = y1;
  pos = p;
  bitPos = bits;
  if (v128.any_true(badv)) bad |= 0x80000000;
}

function wholeTwoPass0w(s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  wholeTwoPass(0, 0, s, n, b1, b2, mant, expMask, ch, ransEnd);
}
function wholeTwoPass1w(s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  wholeTwoPass(1, 0, s, n, b1, b2, mant, expMask, ch, ransEnd);
}
function wholeTwoPass2w(s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  wholeTwoPass(2, 0, s, n, b1, b2, mant, expMask, ch, ransEnd);
}
function wholeTwoPass0d(s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  wholeTwoPass(0, 1, s, n, b1, b2, mant, expMask, ch, ransEnd);
}
function wholeTwoPass1d(s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  wholeTwoPass(1, 1, s, n, b1, b2, mant, expMask, ch, ransEnd);
}
function wholeTwoPass2d(s: i32, n: i32, b1: i32, b2: i32, mant: u32, expMask: i32, ch: i32, ransEnd: i32): void {
  wholeTwoPass(2, 1, s, n, b1, b2, mant, expMask, ch, ransEnd);
}

/**
 * fpackDecodeWhole for blocks of 2 states whose model the two-pass loop
 * takes (fpack/wasm.ts checks: 8-bit floats, context classes by exponent,
 * neighbours at least `ch` values back): the same arguments and result,
 * plus mant and expMask (the dtype's exponent field) and ch, the chunk (a
 * multiple of 16). The caller leaves 5n + 8 readable bytes after the block.
 */
export function fpackDecodeWholeTwoPass(s: i32, n: i32, delta: i32, d1: i32, d2: i32, p: i32, ransEnd: i32, end: i32, ctx: i32, t: i32, mant: i32, expMask: i32, ch: i32): i32 {
  n -= t;
  memory.fill(FPACK_HIST, 0, n);
  p += IN;
  x0 = be32(p);
  x1 = be32(p + 4);
  x2 = RANS_L;
  x3 = RANS_L;
  pos = p + 8;
  bitPos = 0;
  bad = 0;
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : min(d1, n));
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : min(d2, n));
  const m = <u32>mant;
  if (delta) {
    if (ctx == 0) wholeTwoPass0d(s, n, b1, b2, m, expMask, ch, ransEnd);
    else if (ctx == 1) wholeTwoPass1d(s, n, b1, b2, m, expMask, ch, ransEnd);
    else wholeTwoPass2d(s, n, b1, b2, m, expMask, ch, ransEnd);
  } else if (ctx == 0) wholeTwoPass0w(s, n, b1, b2, m, expMask, ch, ransEnd);
  else if (ctx == 1) wholeTwoPass1w(s, n, b1, b2, m, expMask, ch, ransEnd);
  else wholeTwoPass2w(s, n, b1, b2, m, expMask, ch, ransEnd);
  return finish(ransEnd, end, 2, t, 8, FPACK_HIST + 2 * n, 0);
}
