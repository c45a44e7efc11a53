// APack block coders: the loops of apack/rans.ts, bit for bit, in
// AssemblyScript. The JS side (apack/wasm.ts) parses the block header and
// fills the model slot; these functions run the per-value loops only.
//
// Why faster than the JS loops: no bounds checks, renormalisation without
// branches (the byte count is computed from compares, then applied), and the
// encoder divides by a multiply with a per-value reciprocal instead of a
// float division. The arithmetic is the same rANS as the JS coder: same
// state, same bytes, same checks (deferred to the end of the block: every
// check is on a monotone position or sticky, so "some check failed" is
// exact, and the JS coder then names the error).
import {
  APACK_CURRENT,
  APACK_DEC,
  APACK_ENC_OFFSET,
  APACK_ENC_RCP,
  APACK_ENC_SHIFT,
  APACK_ENC_STEP,
  APACK_ENC_XMAX,
  APACK_REV_END,
  APACK_SINK,
  APACK_SLOT_BYTES,
  APACK_SLOTS,
  APACK_SPLIT,
  APACK_SPLIT_B,
  APACK_SPLIT_BYTES,
  APACK_SPLIT_F,
  APACK_SPLIT_G,
  APACK_SPLIT_LIM,
  APACK_SPLIT_MAP,
  APACK_SPLIT_MASK,
  APACK_SPLIT_OK,
  APACK_SPLIT_OL,
  APACK_SPLIT_USED,
  APACK_SPLIT_VMIN,
  IN,
  OUT,
  SCRATCH,
  SCRATCH_BYTES,
} from '../layout';
import { offsets16, olPrefix } from './offsets';

const RANS_L: u32 = 1 << 23;

/** Fill the encoder's reciprocals of a slot whose tables the JS side wrote: floor(x / f) = (x * m) >> (31 + l) for x < 2^31, l = ceil(log2 f), m = ceil(2^(31 + l) / f). */
export function apackPrepare(slot: i32): void {
  for (let v = 0; v < 256; v++) {
    const f = <u64>(load<i32>(slot + APACK_ENC_STEP + (v << 2)) & 2047);
    if (f == 0) {
      store<u64>(slot + APACK_ENC_RCP + (v << 3), 0);
      store<i32>(slot + APACK_ENC_SHIFT + (v << 2), 0);
      continue;
    }
    let l: u64 = 0;
    while ((<u64>1 << l) < f) l++;
    const s = 31 + l;
    store<u64>(slot + APACK_ENC_RCP + (v << 3), ((<u64>1 << s) + f - 1) / f);
    store<i32>(slot + APACK_ENC_SHIFT + (v << 2), <i32>s);
  }
  prepareSplit(slot);
}

/** The split tables of decode4Split for the slot table at `slot` (layout.ts, APACK_SPLIT). */
function prepareSplit(slot: i32): void {
  const t = splitOf(slot);
  // groups numbered in the order their slots come (a group's slots are contiguous); vmin identifies a group
  memory.fill(t + APACK_SPLIT_VMIN, 0, 64);
  memory.fill(t + APACK_SPLIT_MAP, 0xff, 256);
  let groups = 0;
  for (let k = 0; k < 1024; k++) {
    const e = slot + APACK_DEC + (k << 3);
    store<u16>(t + APACK_SPLIT_F + (k << 1), load<u16>(e) << 1);
    store<u16>(t + APACK_SPLIT_B + (k << 1), load<u16>(e, 2) << 1);
    const vmin = <i32>load<u8>(e, 4);
    let gi = <i32>load<u8>(t + APACK_SPLIT_MAP + vmin);
    if (gi == 0xff) {
      gi = groups++;
      store<u8>(t + APACK_SPLIT_MAP + vmin, <u8>gi);
      if (gi < 16) {
        store<u8>(t + APACK_SPLIT_VMIN + gi, <u8>vmin);
        store<u8>(t + APACK_SPLIT_OL + gi, load<u8>(e, 5));
        store<u8>(t + APACK_SPLIT_MASK + gi, load<u8>(e, 6));
        store<u8>(t + APACK_SPLIT_LIM + gi, load<u8>(e, 7));
      }
    }
    store<u16>(t + APACK_SPLIT_G + (k << 1), <u16>gi);
  }
  // a group index >= 16 would read zeros from the swizzles of pass 2: such a table (none that rans.ts builds) takes decode4
  store<u8>(t + APACK_SPLIT_OK, <u8>(groups <= 16));
}

/** The split tables of the slot table at `slot`. */
@inline
function splitOf(slot: i32): i32 {
  return APACK_SPLIT + ((slot - APACK_SLOTS) / APACK_SLOT_BYTES) * APACK_SPLIT_BYTES;
}

/**
 * The block at OUT from the encoder's scratch: varint length of the rANS
 * bytes (from p to the scratch end), those bytes, then the offBytes of
 * offsets at SCRATCH. Returns the block's length.
 */
function writeBlock(p: i32, offBytes: i32): i32 {
  const ransLen = SCRATCH + SCRATCH_BYTES - p;
  let w = OUT;
  let len = <u32>ransLen;
  while (len >= 0x80) {
    store<u8>(w++, <u8>((len & 0x7f) | 0x80));
    len >>= 7;
  }
  store<u8>(w++, <u8>len);
  memory.copy(w, p, ransLen);
  w += ransLen;
  memory.copy(w, SCRATCH, offBytes);
  return w + offBytes - OUT;
}

/**
 * Encode n values (bytes, or nibbles when nibbles = 1, n even) at IN into
 * OUT: varint rANS length, rANS bytes, offsets. Returns the bytes written.
 *
 * One backward pass codes both streams: the rANS state's dependency chain
 * leaves the core idle enough to write the offsets beside it for free. The
 * offsets are MSB-first forwards, so a first pass sums their bits T; the
 * backward pass then knows where each value's bits go (the zero padding
 * fills [T, ceil8(T)) first) and stores a byte whenever 8 are complete.
 */
export function apackEncode(slot: i32, n: i32, nibbles: i32): i32 {
  let total: u32 = 0;
  for (let i = 0; i < n; i++) {
    const v = nibbles == 0 ? <i32>load<u8>(IN + i) : (<i32>load<u8>(IN + (i >> 1)) >> ((i & 1) << 2)) & 15;
    total += load<u32>(slot + APACK_ENC_OFFSET + (v << 2)) >> 8;
  }
  const offBytes = <i32>((total + 7) >> 3);
  // the offset bits at positions [cur, cur + nb) wait in acc (position cur + nb - 1 in bit 0); cur + nb stays byte-aligned
  let cur = total;
  let nb: u32 = (<u32>offBytes << 3) - total;
  let acc: u32 = 0;
  let x: u32 = RANS_L;
  let p = SCRATCH + SCRATCH_BYTES;
  // rANS runs backwards so that the decoder runs forwards.
  for (let i = n - 1; i >= 0; i--) {
    const v = nibbles == 0 ? <i32>load<u8>(IN + i) : (<i32>load<u8>(IN + (i >> 1)) >> ((i & 1) << 2)) & 15;
    // renormalise (at most 2 bytes: x < 2^31 ends at most f * 2^21 - 1 >= 2^21 - 1):
    // both candidate bytes are stored, p moves by the number that count
    const xm = load<u32>(slot + APACK_ENC_XMAX + (v << 2));
    store<u16>(p - 2, <u16>(((x & 255) << 8) | ((x >> 8) & 255)));
    const k = <u32>(x > xm) + <u32>((x >> 8) > xm);
    p -= <i32>k;
    x >>= k << 3;
    const step = load<u32>(slot + APACK_ENC_STEP + (v << 2));
    const q = <u32>((<u64>x * load<u64>(slot + APACK_ENC_RCP + (v << 3))) >> load<u32>(slot + APACK_ENC_SHIFT + (v << 2)));
    // (q << 10) + (x - q * f) + cum, with one multiply on the state's dependency chain
    x = x + q * (1024 - (step & 2047)) + (step >> 11);
    // the value's offset bits in front of those waiting; a complete byte goes out (to APACK_SINK when there is none)
    const o = load<u32>(slot + APACK_ENC_OFFSET + (v << 2));
    acc |= (o & 255) << nb;
    nb += o >> 8;
    cur -= o >> 8;
    const full = nb >= 8;
    store<u8>(select<i32>(SCRATCH + <i32>((cur + nb - 8) >> 3), APACK_SINK, full), <u8>acc);
    acc >>= <u32>full << 3;
    nb -= <u32>full << 3;
  }
  // the final state, big-endian
  p -= 4;
  store<u32>(p, bswap<u32>(x));
  return writeBlock(p, offBytes);
}

/**
 * The ol <= 8 bits at bit position `bit` of the MSB-first stream at q (0 for
 * ol = 0): they lie within the two bytes from bit >> 3. (Wasm has no byte
 * swap instruction, so two byte loads beat a wider big-endian read.)
 */
@inline
function offsetAt(q: i32, bit: u32, ol: u32): u32 {
  const p = q + <i32>(bit >> 3);
  const two = (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
  return ((two << (bit & 7)) & 0xffff) >> (16 - ol);
}

// The decoder reads its model's slot table from one fixed place (constant
// addresses save an add on the state's dependency chain), copied there when
// the model changes.
let current: i32 = -1;
/** Added to a slot's address in `current` when the copy there is the slot's split tables, decode4Split's (slots are 16 KiB apart). */
const SPLIT: i32 = 1;

/**
 * Decode n values (nibbles = 1: n even, packed low nibble first) into OUT,
 * from the rANS bytes at IN + p (state x already read) up to IN + ransEnd and
 * the offset stream from there to IN + end. 0: exact; 1: some check failed.
 * The caller leaves 2n + 8 readable bytes after the block.
 *
 * Per value: the rANS step (one table entry: f, slot - cum, group), its
 * renormalisation, then the offset: OL bits read MSB-first at bit position
 * `bit` of the offset stream, without a refill branch. The JS decoder
 * reads offset bytes one at a time as it needs them, so after the last value
 * it has read ceil(bit / 8) bytes: that is the check here.
 */
export function apackDecode(slot: i32, n: i32, nibbles: i32, x: u32, p: i32, ransEnd: i32, end: i32): i32 {
  if (current != slot) {
    memory.copy(APACK_CURRENT, slot + APACK_DEC, 1024 << 3);
    current = slot;
  }
  p += IN;
  const q = IN + ransEnd;
  let bit: u32 = 0;
  let bad: u32 = 0;
  if (nibbles == 0) {
    for (let i = 0; i < n; i++) {
      const e = (x & 1023) << 3;
      x = <u32>load<u16>(e, APACK_CURRENT) * (x >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
      while (x < RANS_L) x = (x << 8) | <u32>load<u8>(p++);
      const ol = <u32>load<u8>(e, APACK_CURRENT + 5);
      const off = offsetAt(q, bit, ol);
      bit += ol;
      bad |= <u32>(off > <u32>load<u8>(e, APACK_CURRENT + 7));
      store<u8>(OUT + i, <u8>(<u32>load<u8>(e, APACK_CURRENT + 4) + off));
    }
  } else {
    for (let i = 0; i < n >> 1; i++) {
      let e = (x & 1023) << 3;
      x = <u32>load<u16>(e, APACK_CURRENT) * (x >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
      while (x < RANS_L) x = (x << 8) | <u32>load<u8>(p++);
      let ol = <u32>load<u8>(e, APACK_CURRENT + 5);
      let off = offsetAt(q, bit, ol);
      bit += ol;
      bad |= <u32>(off > <u32>load<u8>(e, APACK_CURRENT + 7));
      const lo = <u32>load<u8>(e, APACK_CURRENT + 4) + off;
      e = (x & 1023) << 3;
      x = <u32>load<u16>(e, APACK_CURRENT) * (x >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
      while (x < RANS_L) x = (x << 8) | <u32>load<u8>(p++);
      ol = <u32>load<u8>(e, APACK_CURRENT + 5);
      off = offsetAt(q, bit, ol);
      bit += ol;
      bad |= <u32>(off > <u32>load<u8>(e, APACK_CURRENT + 7));
      store<u8>(OUT + i, <u8>(lo | ((<u32>load<u8>(e, APACK_CURRENT + 4) + off) << 4)));
    }
  }
  // the offset stream: exactly ceil(bit / 8) bytes, its padding bits zero
  const pad = (<u32>load<u8>(q + <i32>(bit >> 3)) << (bit & 7)) & 255;
  const ok = p == IN + ransEnd && x == RANS_L && q + <i32>((bit + 7) >> 3) == IN + end && bad == 0 && ((bit & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}

/** Forget the decoder's current table (apack/wasm.ts calls it when it refills a slot). */
export function apackForget(): void {
  current = -1;
}

/** The big-endian u32 at p (byte loads: see offsetAt). */
@inline
function be32(p: i32): u32 {
  return (<u32>load<u8>(p) << 24) | (<u32>load<u8>(p, 1) << 16) | (<u32>load<u8>(p, 2) << 8) | <u32>load<u8>(p, 3);
}

/**
 * The bits a state x in [2^13, 2^31) (a decoder state after its step) is
 * shifted left by in renormalisation: 0 from 2^23 up, 8 from 2^15, 16 below
 * (clz 1..8, 9..16, 17..18): one byte per 8 bits.
 */
@inline
function renormShift(x: u32): u32 {
  return (clz<u32>(x) - 1) & 24;
}

/**
 * apackDecode for blocks of 2 interleaved states: both initial states at
 * IN + p (checked here, the caller only checked the rANS bytes hold them),
 * value i decoded with state i mod 2. Each value is decoded with x0, then
 * (x0, x1) = (x1, x0'): x0 holds the next value's state, and the two chains
 * are independent, so the core overlaps them. Renormalisation is branch-free
 * (the branch of apackDecode mispredicts, and with two chains the pipeline
 * has more to lose): the shift comes from clz, the bytes from one two-byte
 * read. At the end both states must be back at RANS_L.
 */
export function apackDecode2(slot: i32, n: i32, nibbles: i32, p: i32, ransEnd: i32, end: i32): i32 {
  if (current != slot) {
    memory.copy(APACK_CURRENT, slot + APACK_DEC, 1024 << 3);
    current = slot;
  }
  p += IN;
  let x0 = be32(p);
  let x1 = be32(p + 4);
  p += 8;
  // each initial state in [2^23, 2^31)
  let bad: u32 = <u32>(x0 - RANS_L >= 0x7f800000) | <u32>(x1 - RANS_L >= 0x7f800000);
  const q = IN + ransEnd;
  let bit: u32 = 0;
  if (nibbles == 0) {
    for (let i = 0; i < n; i++) {
      const e = (x0 & 1023) << 3;
      const x = <u32>load<u16>(e, APACK_CURRENT) * (x0 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
      const sh = renormShift(x);
      x0 = x1;
      x1 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      const ol = <u32>load<u8>(e, APACK_CURRENT + 5);
      const off = offsetAt(q, bit, ol);
      bit += ol;
      bad |= <u32>(off > <u32>load<u8>(e, APACK_CURRENT + 7));
      store<u8>(OUT + i, <u8>(<u32>load<u8>(e, APACK_CURRENT + 4) + off));
    }
  } else {
    // two values (one byte) per iteration: the first with x0, the second with x1, so no swap
    for (let i = 0; i < n >> 1; i++) {
      let e = (x0 & 1023) << 3;
      let x = <u32>load<u16>(e, APACK_CURRENT) * (x0 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
      let sh = renormShift(x);
      x0 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      let ol = <u32>load<u8>(e, APACK_CURRENT + 5);
      let off = offsetAt(q, bit, ol);
      bit += ol;
      bad |= <u32>(off > <u32>load<u8>(e, APACK_CURRENT + 7));
      const lo = <u32>load<u8>(e, APACK_CURRENT + 4) + off;
      e = (x1 & 1023) << 3;
      x = <u32>load<u16>(e, APACK_CURRENT) * (x1 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
      sh = renormShift(x);
      x1 = (x << sh) | (((<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1)) >> (16 - sh));
      p += <i32>(sh >> 3);
      ol = <u32>load<u8>(e, APACK_CURRENT + 5);
      off = offsetAt(q, bit, ol);
      bit += ol;
      bad |= <u32>(off > <u32>load<u8>(e, APACK_CURRENT + 7));
      store<u8>(OUT + i, <u8>(lo | ((<u32>load<u8>(e, APACK_CURRENT + 4) + off) << 4)));
    }
  }
  const pad = (<u32>load<u8>(q + <i32>(bit >> 3)) << (bit & 7)) & 255;
  const ok = p == IN + ransEnd && x0 == RANS_L && x1 == RANS_L && q + <i32>((bit + 7) >> 3) == IN + end && bad == 0 && ((bit & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}

/** Copy the `bytes` bytes at src, reversed, to end just below `end` (16 at a time: up to 15 bytes below that get overwritten too). */
@inline
function reverseInto(src: i32, bytes: i32, end: i32): void {
  const rev = v128(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (let k = 0; k < bytes; k += 16) v128.store(end - 16 - k, i8x16.swizzle(v128.load(src + k), rev));
}

/** 1 where an initial state is outside [2^23, 2^31). */
@inline
function stateOutOfRange(x: u32): u64 {
  return <u64>(x - RANS_L >= 0x7f800000);
}

/**
 * apackDecode for blocks of 4 interleaved states (value i with state i mod
 * 4, the layout new tables have): the 4 initial states at IN + p (checked
 * here), then as apackDecode2, with three changes that each cut
 * instructions per value (the loop is bound by its instruction count once
 * the states' chains overlap, docs/apack.md):
 * - both streams are read from a byte-reversed copy of the block ending at
 *   APACK_REV_END, where a big-endian read of forward bytes is one
 *   little-endian load (wasm has no byte swap): the renormalisation bytes'
 *   two-byte window, and per 4 values one 64-bit window of offset bits
 *   (at least 57 valid bits, and 4 offsets take at most 32);
 * - an offset comes from the window by a rotate, a mask and an xor (the
 *   rotated bits, then the window without them), with OL, the mask, vmin and
 *   size - 1 stored as bytes of the table entry;
 * - the group check is sticky in the sign bit: size - 1 - offset < 0.
 * That is decode4; blocks take decode4Split (two passes, below) instead
 * unless their group indices would not fit in SCRATCH beside the reversed
 * block (only junk makes a block that long: a few values and almost 2 MiB),
 * or the table has more than 16 groups (none that rans.ts builds).
 */
export function apackDecode4(slot: i32, n: i32, nibbles: i32, p: i32, ransEnd: i32, end: i32): i32 {
  // the group indices (n, and 16 of padding) at the bottom of SCRATCH, the reversed block (end + 16) at its top
  const split = n + 16 + end + 16 <= SCRATCH_BYTES && load<u8>(splitOf(slot) + APACK_SPLIT_OK) != 0;
  // the width as a constant in each call: one copy of the loops per width, no test per value
  if (nibbles != 0) return split ? decode4Split(slot, n, true, p, ransEnd, end) : decode4(slot, n, true, p, ransEnd, end);
  return split ? decode4Split(slot, n, false, p, ransEnd, end) : decode4(slot, n, false, p, ransEnd, end);
}

@inline
function decode4(slot: i32, n: i32, nibbles: bool, p: i32, ransEnd: i32, end: i32): i32 {
  if (current != slot) {
    memory.copy(APACK_CURRENT, slot + APACK_DEC, 1024 << 3);
    current = slot;
  }
  let x0 = be32(IN + p);
  let x1 = be32(IN + p + 4);
  let x2 = be32(IN + p + 8);
  let x3 = be32(IN + p + 12);
  let bad: u64 = (stateOutOfRange(x0) | stateOutOfRange(x1) | stateOutOfRange(x2) | stateOutOfRange(x3)) << 63;
  reverseInto(IN, end, APACK_REV_END);
  // the two bytes at forward position a are the u16 at APACK_REV_END - 2 - a, the eight the u64 at APACK_REV_END - 8 - a
  let r = APACK_REV_END - 2 - (p + 16);
  const rq8 = APACK_REV_END - 8 - ransEnd;
  let bits: u64 = 0;
  let i = 0;
  let e = 0;
  let x: u32 = 0;
  let sh: u32 = 0;
  let ol: u64 = 0;
  let rot: u64 = 0;
  let off: u64 = 0;
  // the 4 values' steps are written out: AssemblyScript has no macros, and an inline
  // function cannot update the caller's locals (module globals would cost loads and stores)
  for (; i + 3 < n; i += 4) {
    let w = load<u64>(rq8 - <i32>(bits >> 3)) << (bits & 7);
    e = (x0 & 1023) << 3;
    x = <u32>load<u16>(e, APACK_CURRENT) * (x0 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
    sh = renormShift(x);
    x0 = (x << sh) | (<u32>load<u16>(r) >> (16 - sh));
    r -= <i32>(sh >> 3);
    ol = <u64>load<u8>(e, APACK_CURRENT + 5);
    rot = rotl<u64>(w, ol);
    off = rot & <u64>load<u8>(e, APACK_CURRENT + 6);
    w = rot ^ off;
    bits += ol;
    bad |= <u64>load<u8>(e, APACK_CURRENT + 7) - off;
    const v0 = <u64>load<u8>(e, APACK_CURRENT + 4) + off;
    e = (x1 & 1023) << 3;
    x = <u32>load<u16>(e, APACK_CURRENT) * (x1 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
    sh = renormShift(x);
    x1 = (x << sh) | (<u32>load<u16>(r) >> (16 - sh));
    r -= <i32>(sh >> 3);
    ol = <u64>load<u8>(e, APACK_CURRENT + 5);
    rot = rotl<u64>(w, ol);
    off = rot & <u64>load<u8>(e, APACK_CURRENT + 6);
    w = rot ^ off;
    bits += ol;
    bad |= <u64>load<u8>(e, APACK_CURRENT + 7) - off;
    const v1 = <u64>load<u8>(e, APACK_CURRENT + 4) + off;
    e = (x2 & 1023) << 3;
    x = <u32>load<u16>(e, APACK_CURRENT) * (x2 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
    sh = renormShift(x);
    x2 = (x << sh) | (<u32>load<u16>(r) >> (16 - sh));
    r -= <i32>(sh >> 3);
    ol = <u64>load<u8>(e, APACK_CURRENT + 5);
    rot = rotl<u64>(w, ol);
    off = rot & <u64>load<u8>(e, APACK_CURRENT + 6);
    w = rot ^ off;
    bits += ol;
    bad |= <u64>load<u8>(e, APACK_CURRENT + 7) - off;
    const v2 = <u64>load<u8>(e, APACK_CURRENT + 4) + off;
    e = (x3 & 1023) << 3;
    x = <u32>load<u16>(e, APACK_CURRENT) * (x3 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
    sh = renormShift(x);
    x3 = (x << sh) | (<u32>load<u16>(r) >> (16 - sh));
    r -= <i32>(sh >> 3);
    ol = <u64>load<u8>(e, APACK_CURRENT + 5);
    rot = rotl<u64>(w, ol);
    off = rot & <u64>load<u8>(e, APACK_CURRENT + 6);
    w = rot ^ off;
    bits += ol;
    bad |= <u64>load<u8>(e, APACK_CURRENT + 7) - off;
    const v3 = <u64>load<u8>(e, APACK_CURRENT + 4) + off;
    if (nibbles) store<u16>(OUT + (i >> 1), <u16>(v0 | (v1 << 4) | (v2 << 8) | (v3 << 12)));
    else store<u32>(OUT + i, <u32>(v0 | (v1 << 8) | (v2 << 16) | (v3 << 24)));
  }
  // the last n mod 4 values: value i with x0, then (x0, x1, x2) = (x1, x2, x3)
  for (; i < n; i++) {
    const w = load<u64>(rq8 - <i32>(bits >> 3)) << (bits & 7);
    e = (x0 & 1023) << 3;
    x = <u32>load<u16>(e, APACK_CURRENT) * (x0 >> 10) + <u32>load<u16>(e, APACK_CURRENT + 2);
    sh = renormShift(x);
    x0 = x1;
    x1 = x2;
    x2 = x3;
    x3 = (x << sh) | (<u32>load<u16>(r) >> (16 - sh));
    r -= <i32>(sh >> 3);
    ol = <u64>load<u8>(e, APACK_CURRENT + 5);
    off = rotl<u64>(w, ol) & <u64>load<u8>(e, APACK_CURRENT + 6);
    bits += ol;
    bad |= <u64>load<u8>(e, APACK_CURRENT + 7) - off;
    const v = <u32>(<u64>load<u8>(e, APACK_CURRENT + 4) + off);
    if (!nibbles) store<u8>(OUT + i, <u8>v);
    else if (i & 1) store<u8>(OUT + (i >> 1), <u8>(<u32>load<u8>(OUT + (i >> 1)) | (v << 4)));
    else store<u8>(OUT + (i >> 1), <u8>v);
  }
  // the rANS bytes consumed exactly, the offsets exactly ceil(bits / 8) bytes with zero padding
  const bit = <u32>bits;
  const q = IN + ransEnd;
  const pad = (<u32>load<u8>(q + <i32>(bit >> 3)) << (bit & 7)) & 255;
  const ok = r == APACK_REV_END - 2 - ransEnd && x0 == RANS_L && x1 == RANS_L && x2 == RANS_L && x3 == RANS_L && q + <i32>((bit + 7) >> 3) == IN + end && bad >> 63 == 0 && ((bit & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}

/**
 * apackEncode for blocks of 2 interleaved states (value i coded with state
 * i mod 2). Backwards, each value is coded with x0, then (x0, x1) = (x1, x0'):
 * both start at RANS_L, so which register holds which state only matters
 * once one was used; after the value 0, x1 holds state 0 and x0 state 1.
 */
export function apackEncode2(slot: i32, n: i32, nibbles: i32): i32 {
  // one copy of the passes per width and state count (constants in each), so no
  // value pays for the tests
  return nibbles == 0 ? encodeInterleaved(slot, n, false, false) : encodeInterleaved(slot, n, true, false);
}

/** apackEncode2 for blocks of 4 interleaved states: the rotation (x0, x1, x2, x3) = (x1, x2, x3, x0'). */
export function apackEncode4(slot: i32, n: i32, nibbles: i32): i32 {
  return nibbles == 0 ? encodeInterleaved(slot, n, false, true) : encodeInterleaved(slot, n, true, true);
}

/** Value i of the block at IN: a byte, or nibble i (low nibble first). */
@inline
function valueAt(i: i32, nibbles: bool): i32 {
  return nibbles ? (<i32>load<u8>(IN + (i >> 1)) >> ((i & 1) << 2)) & 15 : <i32>load<u8>(IN + i);
}

/**
 * An encoder step's renormalisation before the value whose tables are at e:
 * returns how many low bytes of state x go out (0, 1 or 2; at most 2, since
 * the state after them must be at most f * 2^21 - 1, and x < 2^31). Both
 * candidate bytes are stored below p; the caller moves p down by the count
 * and shifts x right by 8 per byte.
 */
@inline
function encRenorm(e: i32, x: u32, p: i32): u32 {
  const xm = load<u32>(e, APACK_ENC_XMAX);
  store<u16>(p - 2, <u16>(((x & 255) << 8) | ((x >> 8) & 255)));
  return <u32>(x > xm) + <u32>((x >> 8) > xm);
}

/**
 * The encoder step of the renormalised state x for value v, whose tables are
 * at e = slot + 4v (v4 = 4v: the reciprocals are u64s, at slot + 8v):
 * (q << 10) + (x - q * f) + cum, with one multiply on the state's chain.
 */
@inline
function encStep(e: i32, v4: i32, x: u32): u32 {
  const step = load<u32>(e, APACK_ENC_STEP);
  const q = <u32>((<u64>x * load<u64>(e + v4, APACK_ENC_RCP)) >> load<u32>(e, APACK_ENC_SHIFT));
  return x + q * (1024 - (step & 2047)) + (step >> 11);
}

/**
 * The interleaved encoders, in two passes (the bytes apackEncode's joint
 * pass would write for the same states): the offsets forwards, MSB-first,
 * through a 64-bit accumulator (at most 31 + 8 bits wait in it), 32 bits
 * stored big-endian once that many wait; then the rANS states backwards.
 * Apart, each loop holds fewer values than the joint one, whose offset work
 * sat between the states' steps (1.17x its speed, docs/apack.md).
 */
@inline
function encodeInterleaved(slot: i32, n: i32, nibbles: bool, four: bool): i32 {
  let acc: u64 = 0;
  let nb: u32 = 0;
  let w = SCRATCH;
  for (let i = 0; i < n; i++) {
    const o = load<u32>(slot + (valueAt(i, nibbles) << 2), APACK_ENC_OFFSET);
    acc = (acc << <u64>(o >> 8)) | <u64>(o & 255);
    nb += o >> 8;
    // without a branch (it would mispredict): the word is stored every time, and kept (w moves on) once complete
    const full = nb >> 5;
    nb &= 31;
    store<u32>(w, bswap<u32>(<u32>(acc >> <u64>nb)));
    w += <i32>(full << 2);
  }
  // the last nb < 32 bits, zero-padded to a byte
  store<u32>(w, bswap<u32>(<u32>(acc << <u64>(32 - nb))));
  const offBytes = w - SCRATCH + <i32>((nb + 7) >> 3);
  // then the rANS states, backwards
  let x0: u32 = RANS_L;
  let x1: u32 = RANS_L;
  let x2: u32 = RANS_L;
  let x3: u32 = RANS_L;
  let p = SCRATCH + SCRATCH_BYTES;
  let i = n - 1;
  if (four) {
    // n mod 4 steps rotating the states, then four at a time without moving them (the same state per value):
    // in a loop, V8 keeps the rotation as register moves. The four steps are written out, as decode4Split's
    // (an inline function cannot move the caller's p)
    for (let r = n & 3; r > 0; r--, i--) {
      const v4 = valueAt(i, nibbles) << 2;
      const e = slot + v4;
      const k = encRenorm(e, x0, p);
      p -= <i32>k;
      const next = encStep(e, v4, x0 >> (k << 3));
      x0 = x1;
      x1 = x2;
      x2 = x3;
      x3 = next;
    }
    for (; i >= 0; i -= 4) {
      let v4 = valueAt(i, nibbles) << 2;
      let e = slot + v4;
      let k = encRenorm(e, x0, p);
      p -= <i32>k;
      x0 = encStep(e, v4, x0 >> (k << 3));
      v4 = valueAt(i - 1, nibbles) << 2;
      e = slot + v4;
      k = encRenorm(e, x1, p);
      p -= <i32>k;
      x1 = encStep(e, v4, x1 >> (k << 3));
      v4 = valueAt(i - 2, nibbles) << 2;
      e = slot + v4;
      k = encRenorm(e, x2, p);
      p -= <i32>k;
      x2 = encStep(e, v4, x2 >> (k << 3));
      v4 = valueAt(i - 3, nibbles) << 2;
      e = slot + v4;
      k = encRenorm(e, x3, p);
      p -= <i32>k;
      x3 = encStep(e, v4, x3 >> (k << 3));
    }
  } else {
    for (; i >= 0; i--) {
      const v4 = valueAt(i, nibbles) << 2;
      const e = slot + v4;
      const k = encRenorm(e, x0, p);
      p -= <i32>k;
      const next = encStep(e, v4, x0 >> (k << 3));
      x0 = x1;
      x1 = next;
    }
  }
  // the final states, big-endian, state 0 first (after the value 0 it is the last register of the rotation)
  if (four) {
    p -= 16;
    store<u32>(p, bswap<u32>(x3));
    store<u32>(p, bswap<u32>(x2), 4);
    store<u32>(p, bswap<u32>(x1), 8);
    store<u32>(p, bswap<u32>(x0), 12);
  } else {
    p -= 8;
    store<u32>(p, bswap<u32>(x1));
    store<u32>(p, bswap<u32>(x0), 4);
  }
  return writeBlock(p, offBytes);
}

/**
 * decode4 in two passes: the same arithmetic and the same checks, so the
 * same blocks accepted and the same values out (bytes, or nibbles packed two
 * to a byte, low first).
 * - Pass 1 runs the 4 rANS states and writes each value's group index (a
 *   byte) to SCRATCH. With no offset work between the states' steps, fewer
 *   values compete for registers in the loop that bounds the decoder.
 * - Pass 2 reads the offsets of 16 values at once with SIMD: their groups'
 *   vmin, OL, mask and size - 1 by one swizzle each from the 16 groups'
 *   fields, the OLs' prefix sum gives each value's first bit, a byte
 *   shuffle fetches the two bytes it starts in, and multiplies shift each
 *   lane by its own amount (wasm SIMD has no per-lane shift). Then
 *   vmin + offset, and the size check, 16 lanes per instruction.
 * Together 1.3x decode4 on the 8-bit tensors of ../shared/data (docs/apack.md).
 *
 * The tables are the slot's split tables (apackPrepare builds them, layout.ts
 * APACK_SPLIT), copied to APACK_CURRENT when the model changes. Pass 1 keeps
 * each state doubled, X = 2x, with f and slot - cum doubled there, so a step
 * yields 2x, and indexes the u16 per-slot arrays by X & 2046 (twice the
 * slot: no shift). The renormalisation shift is then clz(2x) & 24 (no - 1),
 * and the state and the stream's next bits are shifted together as one
 * 64-bit word, (2x << 31 | next 32 bits) << sh >> 31: one shift amount
 * instead of two. Bit 0 of X is then the stream's next bit, not 0; nothing
 * reads it (the slot is X & 2046, the quotient X >> 11) but the final check,
 * which compares X >> 1.
 */
@inline
function decode4Split(slot: i32, n: i32, nibbles: bool, p: i32, ransEnd: i32, end: i32): i32 {
  if (current != slot + SPLIT) {
    memory.copy(APACK_CURRENT, splitOf(slot), APACK_SPLIT_USED);
    current = slot + SPLIT;
  }
  let x0 = be32(IN + p);
  let x1 = be32(IN + p + 4);
  let x2 = be32(IN + p + 8);
  let x3 = be32(IN + p + 12);
  const badState = stateOutOfRange(x0) | stateOutOfRange(x1) | stateOutOfRange(x2) | stateOutOfRange(x3);
  // doubled (a state >= 2^31 loses its top bit here, but it has failed the check above)
  x0 <<= 1;
  x1 <<= 1;
  x2 <<= 1;
  x3 <<= 1;
  reverseInto(IN, end, APACK_REV_END);
  // the u32 at r: the four bytes from the next renormalisation byte on, the first one on top
  let r = APACK_REV_END - 4 - (p + 16);
  // pass 1: the group index of value i at g + i; the 4 steps written out, as in decode4
  // (an inline function cannot move the caller's r, and module globals would cost loads and stores)
  const g = SCRATCH;
  let i = 0;
  let e = 0;
  let x: u32 = 0;
  let sh: u32 = 0;
  for (; i + 3 < n; i += 4) {
    e = <i32>(x0 & 2046);
    x = <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_F) * (x0 >> 11) + <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_B);
    sh = clz<u32>(x) & 24;
    x0 = <u32>((((<u64>x << 31) | <u64>load<u32>(r)) << sh) >> 31);
    r -= <i32>(sh >> 3);
    store<u8>(g + i, load<u8>(e, APACK_CURRENT + APACK_SPLIT_G));
    e = <i32>(x1 & 2046);
    x = <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_F) * (x1 >> 11) + <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_B);
    sh = clz<u32>(x) & 24;
    x1 = <u32>((((<u64>x << 31) | <u64>load<u32>(r)) << sh) >> 31);
    r -= <i32>(sh >> 3);
    store<u8>(g + i, load<u8>(e, APACK_CURRENT + APACK_SPLIT_G), 1);
    e = <i32>(x2 & 2046);
    x = <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_F) * (x2 >> 11) + <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_B);
    sh = clz<u32>(x) & 24;
    x2 = <u32>((((<u64>x << 31) | <u64>load<u32>(r)) << sh) >> 31);
    r -= <i32>(sh >> 3);
    store<u8>(g + i, load<u8>(e, APACK_CURRENT + APACK_SPLIT_G), 2);
    e = <i32>(x3 & 2046);
    x = <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_F) * (x3 >> 11) + <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_B);
    sh = clz<u32>(x) & 24;
    x3 = <u32>((((<u64>x << 31) | <u64>load<u32>(r)) << sh) >> 31);
    r -= <i32>(sh >> 3);
    store<u8>(g + i, load<u8>(e, APACK_CURRENT + APACK_SPLIT_G), 3);
  }
  // the last n mod 4 values: value i with x0, then (x0, x1, x2) = (x1, x2, x3)
  for (; i < n; i++) {
    e = <i32>(x0 & 2046);
    x = <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_F) * (x0 >> 11) + <u32>load<u16>(e, APACK_CURRENT + APACK_SPLIT_B);
    sh = clz<u32>(x) & 24;
    x0 = x1;
    x1 = x2;
    x2 = x3;
    x3 = <u32>((((<u64>x << 31) | <u64>load<u32>(r)) << sh) >> 31);
    r -= <i32>(sh >> 3);
    store<u8>(g + i, load<u8>(e, APACK_CURRENT + APACK_SPLIT_G));
  }
  // up to 15 values of padding, group index 255: the swizzles below give them OL 0, vmin 0 and size - 1 0
  // (offset 0, no check fails; they land past the block's end in OUT)
  v128.store(g + n, i8x16.splat(-1));
  // pass 2: values k .. k + 15, their offsets from bit `bits` of the MSB-first stream at q
  const q = IN + ransEnd;
  let bits: u32 = 0;
  // nonzero in a lane where some offset exceeded its group's size - 1
  let bad = i32x4.splat(0);
  // the fields of the (at most 16) groups, one lane per group index
  const vminOf = v128.load(APACK_CURRENT + APACK_SPLIT_VMIN);
  const olOf = v128.load(APACK_CURRENT + APACK_SPLIT_OL);
  const maskOf = v128.load(APACK_CURRENT + APACK_SPLIT_MASK);
  const limOf = v128.load(APACK_CURRENT + APACK_SPLIT_LIM);
  for (let k = 0; k < n; k += 16) {
    const gi = v128.load(g + k);
    const vmin = i8x16.swizzle(vminOf, gi);
    const ol = i8x16.swizzle(olOf, gi);
    const mask = i8x16.swizzle(maskOf, gi);
    const lim = i8x16.swizzle(limOf, gi);
    const s = olPrefix(ol);
    const off = offsets16(q, bits, ol, mask, s);
    bad = v128.or(bad, i8x16.sub_sat_u(off, lim));
    const v = i8x16.add(vmin, off);
    if (!nibbles) v128.store(OUT + k, v);
    else {
      // values 2j and 2j + 1 (at most 15 each) into byte j, low nibble first: a u16 lane lo | hi << 8 becomes lo | hi << 4
      const b = v128.and(v128.or(v, i16x8.shr_u(v, 4)), i16x8.splat(0xff));
      v128.store64_lane(OUT + (k >> 1), i8x16.narrow_i16x8_u(b, b), 0);
    }
    bits += <u32>i8x16.extract_lane_u(s, 15);
  }
  // the rANS bytes consumed exactly, the offsets exactly ceil(bits / 8) bytes with zero padding
  const pad = (<u32>load<u8>(q + <i32>(bits >> 3)) << (bits & 7)) & 255;
  const ok = r == APACK_REV_END - 4 - ransEnd && x0 >> 1 == RANS_L && x1 >> 1 == RANS_L && x2 >> 1 == RANS_L && x3 >> 1 == RANS_L && q + <i32>((bits + 7) >> 3) == IN + end && badState == 0 && !v128.any_true(bad) && ((bits & 7) == 0 || pad == 0);
  return ok ? 0 : 1;
}
