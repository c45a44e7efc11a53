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
  FPACK_A_FC,
  FPACK_A_GI,
  FPACK_A_SLOT8,
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

/** The state after a step, renormalised (the general loops; splitByGroup does it without a branch). */
@inline
function renorm(x: u32): u32 {
  while (x < RANS_L) x = (x << 8) | <u32>load<u8>(pos++);
  return x;
}

/** The end-of-block checks of coder.ts: rANS consumed exactly and back to L, the bit stream exactly ceil(bit / 8) bytes with zero padding. */
@inline
function finish(x: u32, p: i32, ransEnd: i32, q: i32, bit: u32, end: i32, bad: u32): i32 {
  const pad = (<u32>load<u8>(q + <i32>(bit >> 3)) << (bit & 7)) & 255;
  const ok = p == IN + ransEnd && x == RANS_L && q + <i32>((bit + 7) >> 3) == IN + end && bad == 0 && ((bit & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}

/**
 * A's step entry for context `row` at state x: from the u32 table, or (compact = 1) from the
 * u8 slot table and the per-group entry, whose "cum" becomes "slot - cum" here.
 */
@inline
function aStep(compact: i32, s: i32, row: i32, x: u32): u32 {
  if (!compact) return load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
  const t = x & 1023;
  const e = load<u32>(s + (((row << 4) | <i32>load<u8>(s + ((row << 10) | <i32>t), FPACK_A_SLOT8)) << 2), FPACK_A_FC);
  return (e & 0xffe007ff) | ((t - ((e >> 11) & 1023)) << 11);
}

/** Decoder state shared by the loops: rANS byte position, bit position of the offsets, sticky check flag. */
let pos: i32 = 0;
let bitPos: u32 = 0;
let bad: u32 = 0;

/**
 * The by-group split loop, inlined per constant (ctx, wide) so that the
 * unused context loads and width branches compile away: ctx 0, a single A
 * context (no history kept); 1, the first neighbour's class; 2, both.
 */
@inline
function splitByGroup(ctx: i32, wide: i32, compact: i32, s: i32, n: i32, m: u32, b1: i32, b2: i32, x: u32, q: i32): u32 {
  const at = FPACK_HIST + n;
  const signAt: u32 = wide ? 15 : 7;
  const mMask: u32 = (1 << m) - 1;
  const expMask: u32 = (1 << (signAt - m)) - 1;
  let p = pos;
  let bit = bitPos;
  let err: u32 = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    if (ctx >= 1) row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS);
    if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
    const sa = aStep(compact, s, row, x);
    x = (sa & 2047) * (x >> 10) + ((sa >> 11) & 1023);
    // renormalise without a branch: a step leaves x >= 2^13, so at most 2 bytes, both read, p moves by those that count
    let two = (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
    let k = <i32>(x < RANS_L) + <i32>(x < (1 << 15));
    p += k;
    x = k == 0 ? x : k == 1 ? (x << 8) | (two >> 8) : (x << 16) | two;
    const cb = <i32>(sa >> 25);
    const sb = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
    x = (sb & 2047) * (x >> 10) + ((sb >> 11) & 1023);
    two = (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
    k = <i32>(x < RANS_L) + <i32>(x < (1 << 15));
    p += k;
    x = k == 0 ? x : k == 1 ? (x << 8) | (two >> 8) : (x << 16) | two;
    // the offsets, off the state's dependency chain
    const ga = load<u32>(s + <i32>(((sa >> 21) & 15) << 2), FPACK_A_GI);
    const gb = load<u32>(s + (((cb << 4) | <i32>((sb >> 21) & 15)) << 2), FPACK_B_GI);
    const w = window(q, bit);
    const olA = (ga >> 11) & 15;
    const olB = (gb >> 11) & 15;
    const offA = top(w, olA);
    const offB = top(w << olA, olB);
    bit += olA + olB;
    err |= <u32>(offA >= ga >> 15) | <u32>(offB >= gb >> 15);
    const a = ((ga & 2047) + offA) & expMask;
    if (ctx >= 1) store<u8>(at + i, <u8>a);
    const b = (gb & 2047) + offB;
    // b = sign | mantissa: the sign goes on top, above the exponent
    const v = ((b >> m) << signAt) | (a << m) | (b & mMask);
    if (wide) store<u16>(OUT + (i << 1), <u16>v);
    else store<u8>(OUT + i, <u8>v);
  }
  pos = p;
  bitPos = bit;
  bad |= err;
  return x;
}

/**
 * Split mode: n values (16-bit when wide = 1) into OUT, from the rANS bytes
 * at IN + p (state x already read) up to IN + ransEnd and the bit stream
 * from there to IN + end. d1, d2: the neighbours' distances (0: none);
 * ctx: how many neighbours the A context uses (0, 1 or 2).
 * byGroup = 1: every A group lies in one B class, and A's step entries carry
 * that class (bits 25-28), so B's step follows A's without waiting for the
 * exponent (fit.ts makes such models). 0: exact; 1: some check failed. The
 * caller leaves 5n + 8 readable bytes after the block.
 */
export function fpackDecodeSplit(s: i32, n: i32, wide: i32, mant: i32, d1: i32, d2: i32, x: u32, p: i32, ransEnd: i32, end: i32, byGroup: i32, ctx: i32, compact: i32): i32 {
  // exponents at FPACK_HIST + n + i after n zeros: a neighbour before the block start (or none) reads exponent 0
  memory.fill(FPACK_HIST, 0, n);
  const at = FPACK_HIST + n;
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : d1);
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : d2);
  const m = <u32>mant;
  p += IN;
  const q = IN + ransEnd;
  pos = p;
  if (byGroup) {
    bitPos = 0;
    bad = 0;
    if (compact) {
      if (wide) {
        if (ctx == 1) x = splitByGroup(1, 1, 1, s, n, m, b1, b2, x, q);
        else x = splitByGroup(2, 1, 1, s, n, m, b1, b2, x, q);
      } else {
        if (ctx == 1) x = splitByGroup(1, 0, 1, s, n, m, b1, b2, x, q);
        else x = splitByGroup(2, 0, 1, s, n, m, b1, b2, x, q);
      }
    } else if (wide) {
      if (ctx == 0) x = splitByGroup(0, 1, 0, s, n, m, b1, b2, x, q);
      else if (ctx == 1) x = splitByGroup(1, 1, 0, s, n, m, b1, b2, x, q);
      else x = splitByGroup(2, 1, 0, s, n, m, b1, b2, x, q);
    } else {
      if (ctx == 0) x = splitByGroup(0, 0, 0, s, n, m, b1, b2, x, q);
      else if (ctx == 1) x = splitByGroup(1, 0, 0, s, n, m, b1, b2, x, q);
      else x = splitByGroup(2, 0, 0, s, n, m, b1, b2, x, q);
    }
    return finish(x, pos, ransEnd, q, bitPos, end, bad);
  }
  const signAt: u32 = wide ? 15 : 7;
  const mMask: u32 = (1 << m) - 1;
  const expMask: u32 = (1 << (signAt - m)) - 1;
  let bit: u32 = 0;
  let err: u32 = 0;
  for (let i = 0; i < n; i++) {
    const row = <i32>load<u8>(s + <i32>load<u8>(b1 + i), FPACK_A_CLASS) + <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
    let st = load<u32>(s + (((row << 10) | <i32>(x & 1023)) << 2), FPACK_A_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    x = renorm(x);
    let g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
    const w = window(q, bit);
    const olA = (g >> 11) & 15;
    let off = top(w, olA);
    err |= <u32>(off >= g >> 15);
    const a = ((g & 2047) + off) & expMask;
    store<u8>(at + i, <u8>a);
    const cb = <i32>load<u8>(s + <i32>a, FPACK_B_CLASS);
    st = load<u32>(s + (((cb << 10) | <i32>(x & 1023)) << 2), FPACK_B_STEP);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    x = renorm(x);
    g = load<u32>(s + (((cb << 4) | <i32>(st >> 21)) << 2), FPACK_B_GI);
    const olB = (g >> 11) & 15;
    off = top(w << olA, olB);
    err |= <u32>(off >= g >> 15);
    bit += olA + olB;
    const b = (g & 2047) + off;
    const v = ((b >> m) << signAt) | (a << m) | (b & mMask);
    if (wide) store<u16>(OUT + (i << 1), <u16>v);
    else store<u8>(OUT + i, <u8>v);
  }
  return finish(x, pos, ransEnd, q, bit, end, err);
}

/** The whole / delta loop, inlined per constant (ctx, delta) as splitByGroup. */
@inline
function whole(ctx: i32, delta: i32, compact: i32, s: i32, n: i32, b1: i32, b2: i32, x: u32, q: i32): u32 {
  const at = FPACK_HIST + n;
  let p = pos;
  let bit = bitPos;
  let err: u32 = 0;
  for (let i = 0; i < n; i++) {
    const n1 = delta || ctx >= 1 ? <i32>load<u8>(b1 + i) : 0;
    let row = 0;
    if (ctx >= 1) row = <i32>load<u8>(s + n1, FPACK_A_CLASS);
    if (ctx == 2) row += <i32>load<u8>(s + <i32>load<u8>(b2 + i), FPACK_A_CLASS2);
    const st = aStep(compact, s, row, x);
    x = (st & 2047) * (x >> 10) + ((st >> 11) & 1023);
    const two = (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
    const k = <i32>(x < RANS_L) + <i32>(x < (1 << 15));
    p += k;
    x = k == 0 ? x : k == 1 ? (x << 8) | (two >> 8) : (x << 16) | two;
    const g = load<u32>(s + <i32>(((st >> 21) & 15) << 2), FPACK_A_GI);
    const ol = (g >> 11) & 15;
    const off = top(window(q, bit), ol);
    bit += ol;
    err |= <u32>(off >= g >> 15);
    const a = ((g & 2047) + off) & 255;
    const v = delta ? <u32>load<u8>(FPACK_ORDER_DECODE + <i32>((a + <u32>load<u8>(FPACK_ORDER + n1)) & 255)) : a;
    store<u8>(at + i, <u8>v);
  }
  pos = p;
  bitPos = bit;
  bad |= err;
  return x;
}

/**
 * Whole and delta modes (8-bit floats): n bytes into FPACK_HIST + n (the
 * caller copies them out), one symbol per value, the byte or (delta = 1) its
 * order-preserving difference to x[i - d1]. Arguments and result as
 * fpackDecodeSplit's.
 */
export function fpackDecodeWhole(s: i32, n: i32, delta: i32, d1: i32, d2: i32, x: u32, p: i32, ransEnd: i32, end: i32, ctx: i32, compact: i32): i32 {
  // bytes at FPACK_HIST + n + i after n zeros: a neighbour before the block start reads +0
  memory.fill(FPACK_HIST, 0, n);
  const b1 = FPACK_HIST + n - (d1 == 0 ? n : d1);
  const b2 = FPACK_HIST + n - (d2 == 0 ? n : d2);
  const q = IN + ransEnd;
  pos = p + IN;
  bitPos = 0;
  bad = 0;
  if (compact) {
    if (delta) {
      if (ctx == 1) x = whole(1, 1, 1, s, n, b1, b2, x, q);
      else x = whole(2, 1, 1, s, n, b1, b2, x, q);
    } else {
      if (ctx == 1) x = whole(1, 0, 1, s, n, b1, b2, x, q);
      else x = whole(2, 0, 1, s, n, b1, b2, x, q);
    }
  } else if (delta) {
    if (ctx == 0) x = whole(0, 1, 0, s, n, b1, b2, x, q);
    else if (ctx == 1) x = whole(1, 1, 0, s, n, b1, b2, x, q);
    else x = whole(2, 1, 0, s, n, b1, b2, x, q);
  } else {
    if (ctx == 0) x = whole(0, 0, 0, s, n, b1, b2, x, q);
    else if (ctx == 1) x = whole(1, 0, 0, s, n, b1, b2, x, q);
    else x = whole(2, 0, 0, s, n, b1, b2, x, q);
  }
  return finish(x, pos, ransEnd, q, bitPos, end, bad);
}
