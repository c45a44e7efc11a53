// fpack block decoders: the loops of fpack/coder.ts, bit for bit, in
// AssemblyScript. The JS side (fpack/wasm.ts) parses the block header, fills
// the model slot (the tables of fpack/engine.ts) and lets the JS decoder
// name the error when a check here fails.
//
// Why faster than the JS loops: no bounds checks, no refill branch for the
// offsets (one 32-bit window per value holds both of its offsets), checks
// deferred to the end of the block (every check is on a monotone position or
// sticky, so "some check failed" is exact, as in apack.ts).
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
  IN,
  OUT,
} from '../layout';

const RANS_L: u32 = 1 << 23;

/** Fill the order code of 8-bit floats (sign-magnitude -> offset binary, engine.ts ORDER_CODE) and its inverse. */
export function fpackPrepare(): void {
  for (let b = 0; b < 256; b++) {
    const c = b & 0x80 ? 0x7f - (b & 0x7f) : 0x80 | b;
    store<u8>(FPACK_ORDER + b, <u8>c);
    store<u8>(FPACK_ORDER_DECODE + c, <u8>b);
  }
}

/** The 32 bits of the MSB-first stream at q from bit position `bit` (the caller leaves 4 readable bytes past any position). */
@inline
function window(q: i32, bit: u32): u32 {
  return bswap<u32>(load<u32>(q + <i32>(bit >> 3))) << (bit & 7);
}

/** The top ol bits of w (0 for ol = 0). */
@inline
function top(w: u32, ol: u32): u32 {
  return <u32>((<u64>w << ol) >> 32);
}

/**
 * The state after a step, renormalised without a branch (the number of bytes
 * is data-dependent, a branch on it mispredicts often): a step leaves
 * x >= 2^13, so at most 2 bytes; both are read (the caller leaves slack),
 * `pos` moves by the number that count.
 */
let pos: i32 = 0;
@inline
function renorm(x: u32): u32 {
  const two = (<u32>load<u8>(pos) << 8) | <u32>load<u8>(pos, 1);
  const k = <i32>(x < RANS_L) + <i32>(x < (1 << 15));
  pos += k;
  const x1 = (x << 8) | (two >> 8);
  const x2 = (x << 16) | two;
  return k == 0 ? x : k == 1 ? x1 : x2;
}

/** The end-of-block checks of coder.ts: rANS consumed exactly and back to L, the bit stream exactly ceil(bit / 8) bytes with zero padding. */
@inline
function finish(x: u32, p: i32, ransEnd: i32, q: i32, bit: u32, end: i32, bad: u32): i32 {
  const pad = (<u32>load<u8>(q + <i32>(bit >> 3)) << (bit & 7)) & 255;
  const ok = p == IN + ransEnd && x == RANS_L && q + <i32>((bit + 7) >> 3) == IN + end && bad == 0 && ((bit & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}

/**
 * Split mode: n values (16-bit when wide = 1) into OUT, from the rANS bytes
 * at IN + p (state x already read) up to IN + ransEnd and the bit stream
 * from there to IN + end. d1, d2: the neighbours' distances (0: none).
 * byGroup = 1: every A group lies in one B class, and A's step entries carry
 * that class (bits 25-28), so B's step follows A's without waiting for the
 * exponent (fit.ts makes such models). 0: exact; 1: some check failed. The
 * caller leaves 5n + 8 readable bytes after the block.
 */
export function fpackDecodeSplit(s: i32, n: i32, wide: i32, mant: i32, d1: i32, d2: i32, x: u32, p: i32, ransEnd: i32, end: i32, byGroup: i32): i32 {
  // exponents at FPACK_HIST + n + i after n zeros: a neighbour before the block start (or none) reads exponent 0
  memory.fill(FPACK_HIST, 0, n);
  const at = FPACK_HIST + n;
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : d1);
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : d2);
  const signAt: u32 = wide ? 15 : 7;
  const m = <u32>mant;
  const mMask: u32 = (1 << m) - 1;
  const expMask: u32 = (1 << (signAt - m)) - 1;
  const o = wide ? 1 : 0;
  p += IN;
  const q = IN + ransEnd;
  let bit: u32 = 0;
  let bad: u32 = 0;
  if (byGroup) {
    for (let i = 0; i < n; i++) {
      const row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS) + <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
      const sa = load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
      x = (sa & 2047) * (x >> 10) + ((sa >> 11) & 1023);
      pos = p;
      x = renorm(x);
      p = pos;
      const cb = <i32>(sa >> 25);
      const sb = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
      x = (sb & 2047) * (x >> 10) + ((sb >> 11) & 1023);
      pos = p;
      x = renorm(x);
      p = pos;
      // the offsets, off the state's dependency chain
      const ga = load<u32>(s + <i32>(((sa >> 21) & 15) << 2), FPACK_A_GI);
      const gb = load<u32>(s + (((cb << 4) | <i32>(sb >> 21)) << 2), FPACK_B_GI);
      const w = window(q, bit);
      const olA = (ga >> 11) & 15;
      const olB = (gb >> 11) & 15;
      const offA = top(w, olA);
      const offB = top(w << olA, olB);
      bit += olA + olB;
      bad |= <u32>(offA >= ga >> 15) | <u32>(offB >= gb >> 15);
      const a = ((ga & 2047) + offA) & expMask;
      store<u8>(at + i, <u8>a);
      const b = (gb & 2047) + offB;
      // b = sign | mantissa: the sign goes on top, above the exponent
      const v = ((b >> m) << signAt) | (a << m) | (b & mMask);
      if (wide) store<u16>(OUT + (i << o), <u16>v);
      else store<u8>(OUT + i, <u8>v);
    }
    return finish(x, p, ransEnd, q, bit, end, bad);
  }
  for (let i = 0; i < n; i++) {
    const row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS) + <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
    let st = load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    pos = p;
      x = renorm(x);
      p = pos;
    let g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
    const w = window(q, bit);
    const olA = (g >> 11) & 15;
    let off = top(w, olA);
    bad |= <u32>(off >= g >> 15);
    const a = ((g & 2047) + off) & expMask;
    store<u8>(at + i, <u8>a);
    const cb = <i32>load<u8>(s + <i32>a, FPACK_B_CLASS);
    st = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    pos = p;
      x = renorm(x);
      p = pos;
    g = load<u32>(s + (((cb << 4) | <i32>(st >> 21)) << 2), FPACK_B_GI);
    const olB = (g >> 11) & 15;
    off = top(w << olA, olB);
    bad |= <u32>(off >= g >> 15);
    bit += olA + olB;
    const b = (g & 2047) + off;
    const v = ((b >> m) << signAt) | (a << m) | (b & mMask);
    if (wide) store<u16>(OUT + (i << 1), <u16>v);
    else store<u8>(OUT + i, <u8>v);
  }
  return finish(x, p, ransEnd, q, bit, end, bad);
}

/**
 * Whole and delta modes (8-bit floats): n bytes into FPACK_HIST + n (the
 * caller copies them out), one symbol per value, the byte or (delta = 1) its
 * order-preserving difference to x[i - d1]. Arguments and result as
 * fpackDecodeSplit's.
 */
export function fpackDecodeWhole(s: i32, n: i32, delta: i32, d1: i32, d2: i32, x: u32, p: i32, ransEnd: i32, end: i32): i32 {
  // bytes at FPACK_HIST + n + i after n zeros: a neighbour before the block start reads +0
  memory.fill(FPACK_HIST, 0, n);
  const at = FPACK_HIST + n;
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : d1);
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : d2);
  p += IN;
  const q = IN + ransEnd;
  let bit: u32 = 0;
  let bad: u32 = 0;
  for (let i = 0; i < n; i++) {
    const n1 = <i32>load<u8>(b1 + i);
    const row = <i32>load<u8>(s + n1, FPACK_A_CLASS) + <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
    const st = load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    pos = p;
      x = renorm(x);
      p = pos;
    const g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
    const ol = (g >> 11) & 15;
    const off = top(window(q, bit), ol);
    bit += ol;
    bad |= <u32>(off >= g >> 15);
    const a = ((g & 2047) + off) & 255;
    const v = delta ? <u32>load<u8>(FPACK_ORDER_DECODE + <i32>((a + <u32>load<u8>(FPACK_ORDER + n1)) & 255)) : a;
    store<u8>(at + i, <u8>v);
  }
  return finish(x, p, ransEnd, q, bit, end, bad);
}
