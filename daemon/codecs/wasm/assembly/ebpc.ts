// EBPC block decoder: ebpc/streams.ts decodeEbpcInto, in AssemblyScript,
// accepting exactly the streams it accepts. Each check returns 1 at once
// (the JS decoder then names the error, ebpc/wasm.ts); 0: decoded.
//
// Why faster: the per-value ZNZ walk and the per-block plane walk run
// without bounds checks on typed arrays, and reads past a stream's end need
// no test: ebpc/wasm.ts copies each stream to its own region followed by
// zeros, which is what the JS reader's window returns past the end.
import { EBPC_BPC, EBPC_TMP, EBPC_ZNZ, IN, IN_BYTES, OUT, SCRATCH, SCRATCH_BYTES } from '../layout';

const R = 16; // EBPC_MAX_ZERO_RUN
const PLANES = EBPC_TMP; // i32[17]
const DELTAS = EBPC_TMP + 128; // i32[16]
const VALS = EBPC_TMP + 256; // i32[16]

// Each stream is read from a byte-reversed copy that ends at ZNZ_REV / BPC_REV (the upper
// halves of IN and SCRATCH; ebpc/wasm.ts keeps the streams below them): a little-endian load
// there is a big-endian load of the stream, so a peek is one 8-byte load and a shift, where
// the forward stream took three byte loads (wasm has no byte swap).
const ZNZ_REV = IN + IN_BYTES;
const BPC_REV = SCRATCH + SCRATCH_BYTES;

/** Copy the bytes bytes at src, reversed, to end just below end (16 at a time: a few bytes before that get overwritten too). */
function reverseInto(src: i32, bytes: i32, end: i32): void {
  const rev = v128(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (let k = 0; k < bytes; k += 16) v128.store(end - 16 - k, i8x16.swizzle(v128.load(src + k), rev));
}

/** The 24 bits at bit position pos of the stream whose reversed copy ends at end (zeros past its end). */
@inline
function peek24(end: i32, pos: i32): u32 {
  return <u32>((load<u64>(end - 8 - (pos >> 3)) << <u64>(pos & 7)) >> 40);
}

/** Hacker's Delight transpose8 of the 8 bytes t[0..7] held in x (t0..t3) and y (t4..t7); returns them transposed, x in the high half. */
@inline
function transpose8(x: u32, y: u32): u64 {
  let s = (x ^ (x >> 7)) & 0x00aa00aa;
  x = x ^ s ^ (s << 7);
  s = (y ^ (y >> 7)) & 0x00aa00aa;
  y = y ^ s ^ (s << 7);
  s = (x ^ (x >> 14)) & 0x0000cccc;
  x = x ^ s ^ (s << 14);
  s = (y ^ (y >> 14)) & 0x0000cccc;
  y = y ^ s ^ (s << 14);
  s = (x & 0xf0f0f0f0) | ((y >> 4) & 0x0f0f0f0f);
  y = ((x << 4) & 0xf0f0f0f0) | (y & 0x0f0f0f0f);
  return (<u64>s << 32) | <u64>y;
}

/** The byte k (0..7) of a transposed pair. */
@inline
function byteOf(t: u64, k: i32): i32 {
  return <i32>((t >> <u64>(56 - (k << 3))) & 0xff);
}

/** planesToDeltas of streams.ts: signed deltas d[0..N-2] at DELTAS from PLANES. */
function planesToDeltas(W: i32, N: i32): void {
  if (N == 8) {
    for (let q = 0; q < W; q += 8) {
      let x: u32 = 0;
      let y: u32 = 0;
      for (let k = 0; k < 4; k++) x = (x << 8) | ((<u32>load<i32>(PLANES + ((q + 7 - k) << 2)) << 1) & 0xff);
      for (let k = 4; k < 8; k++) y = (y << 8) | ((<u32>load<i32>(PLANES + ((q + 7 - k) << 2)) << 1) & 0xff);
      const t = transpose8(x, y);
      for (let r = 0; r < 7; r++) {
        const v = byteOf(t, r) << q;
        store<i32>(DELTAS + (r << 2), q == 0 ? v : load<i32>(DELTAS + (r << 2)) | v);
      }
    }
    // the sign plane, without a branch per delta (its bits are data)
    const sign = load<i32>(PLANES + (W << 2));
    for (let j = 0; j < 7; j++) store<i32>(DELTAS + (j << 2), load<i32>(DELTAS + (j << 2)) - (((sign >> (6 - j)) & 1) << W));
    return;
  }
  const groups = N >> 3;
  for (let j = 0; j < N - 1; j++) store<i32>(DELTAS + (j << 2), 0);
  for (let g = 0; g < groups; g++) {
    const place = 8 * (groups - 1 - g);
    for (let q = 0; q < W; q += 8) {
      let x: u32 = 0;
      let y: u32 = 0;
      for (let k = 0; k < 4; k++) x = (x << 8) | (((<u32>load<i32>(PLANES + ((q + 7 - k) << 2)) << 1) >> place) & 0xff);
      for (let k = 4; k < 8; k++) y = (y << 8) | (((<u32>load<i32>(PLANES + ((q + 7 - k) << 2)) << 1) >> place) & 0xff);
      const t = transpose8(x, y);
      for (let r = 0; r < 8; r++) {
        const j = 8 * g + r;
        if (j < N - 1) store<i32>(DELTAS + (j << 2), load<i32>(DELTAS + (j << 2)) | (byteOf(t, r) << q));
      }
    }
  }
  const sign = load<i32>(PLANES + (W << 2));
  for (let j = 0; j < N - 1; j++) store<i32>(DELTAS + (j << 2), load<i32>(DELTAS + (j << 2)) - (((sign >> (N - 2 - j)) & 1) << W));
}

// The BPC reader position (bits), between blocks.
let bpos: i32 = 0;

/** decodeBpcBlock of streams.ts into VALS; 0 or 1 (any check failed, or the stream ran out). */
function decodeBpcBlock(W: i32, N: i32, bpcBits: i32): i32 {
  const allOnes = (1 << (N - 1)) - 1;
  const posBits = N == 8 ? 3 : 4;
  const runBits = W == 8 ? 3 : 4;
  let pos = bpos;
  const base = <i32>(peek24(BPC_REV, pos) >> <u32>(24 - W));
  pos += W;
  let b = 0;
  let prev = 0;
  let afterRun = false;
  while (b <= W) {
    const w = <i32>peek24(BPC_REV, pos);
    let p: i32;
    if (w & 0x800000) {
      // '1' + DBX
      const x = (w >> (24 - N)) & allOnes;
      pos += N;
      const low = x & -x;
      if (x == 0 || x == allOnes || x == low || x == low * 3 || x == prev) return 1;
      p = x ^ prev;
    } else if (w & 0x400000) {
      // '01': one zero DBX plane
      pos += 2;
      if (afterRun) return 1;
      store<i32>(PLANES + (b++ << 2), prev);
      afterRun = true;
      continue;
    } else if (w & 0x200000) {
      // '001' + (k-2): k zero DBX planes
      const k = ((w >> (21 - runBits)) & (W - 1)) + 2;
      pos += 3 + runBits;
      if (afterRun) return 1;
      if (b + k > W + 1) return 1;
      for (const end = b + k; b < end; b++) store<i32>(PLANES + (b << 2), prev);
      afterRun = true;
      continue;
    } else {
      const sel = (w >> 19) & 3;
      if (sel == 0) {
        pos += 5;
        p = allOnes ^ prev;
      } else if (sel == 1) {
        pos += 5;
        if (prev == 0 || prev == allOnes) return 1;
        p = 0;
      } else {
        const at = (w >> (19 - posBits)) & (N - 1);
        pos += 5 + posBits;
        let x: i32;
        if (sel == 3) {
          if (at > N - 2) return 1;
          x = 1 << (N - 2 - at);
        } else {
          if (at > N - 3) return 1;
          x = 3 << (N - 3 - at);
        }
        if (x == prev) return 1;
        p = x ^ prev;
      }
    }
    afterRun = false;
    store<i32>(PLANES + (b++ << 2), p);
    prev = p;
  }
  if (pos > bpcBits) return 1;
  bpos = pos;
  // rebuild the (W+1)-bit deltas from the planes and integrate them
  const half = 1 << (W - 1);
  let v = (base << (32 - W)) >> (32 - W);
  store<i32>(VALS, v);
  // the range check of every value at once: v + half must stay in [0, 2 half)
  let out = 0;
  if (W == 8 && N == 8) {
    // the 8-bit data's case, planesToDeltas fused with the integration: the deltas stay in registers
    let x: u32 = 0;
    let y: u32 = 0;
    for (let k = 0; k < 4; k++) x = (x << 8) | ((<u32>load<i32>(PLANES + ((7 - k) << 2)) << 1) & 0xff);
    for (let k = 4; k < 8; k++) y = (y << 8) | ((<u32>load<i32>(PLANES + ((7 - k) << 2)) << 1) & 0xff);
    const t = transpose8(x, y);
    const sign = load<i32>(PLANES + (8 << 2));
    for (let j = 0; j < 7; j++) {
      v += byteOf(t, j) - (((sign >> (6 - j)) & 1) << 8);
      out |= v + half;
      store<i32>(VALS + ((j + 1) << 2), v);
    }
    return <i32>((out & ~((half << 1) - 1)) != 0);
  }
  planesToDeltas(W, N);
  for (let j = 0; j < N - 1; j++) {
    v += load<i32>(DELTAS + (j << 2));
    out |= v + half;
    store<i32>(VALS + ((j + 1) << 2), v);
  }
  return <i32>((out & ~((half << 1) - 1)) != 0);
}

/** Whether a stream of `bits` used bits out of `bytes` bytes at base ends exactly in zero padding of its last W-bit word. */
function endsClean(base: i32, bits: i32, bytes: i32, W: i32): bool {
  const expected = ((bits + W - 1) / W) * (W >> 3);
  if (bytes != expected) return false;
  if ((bits & 7) != 0 && (<i32>load<u8>(base + (bits >> 3)) & (0xff >> (bits & 7))) != 0) return false;
  for (let k = (bits + 7) >> 3; k < bytes; k++) if (load<u8>(base + k) != 0) return false;
  return true;
}

/**
 * Decode count values (W = 8: bytes; 16: int16 little-endian) into OUT from
 * the ZNZ stream (znzBytes at EBPC_ZNZ) and the BPC stream (bpcBytes at
 * EBPC_BPC), each followed by zeros. 0: exact; 1: some check failed.
 */
export function ebpcDecode(count: i32, W: i32, N: i32, znzBytes: i32, bpcBytes: i32): i32 {
  const znzBits = znzBytes << 3;
  const bpcBits = bpcBytes << 3;
  const wide = W == 16;
  // the streams with the zeros after them (SLACK in ebpc/wasm.ts, which covers the 16-byte steps)
  reverseInto(EBPC_ZNZ, znzBytes + 64, ZNZ_REV);
  reverseInto(EBPC_BPC, bpcBytes + 64, BPC_REV);
  let zpos = 0;
  bpos = 0;
  let used = N;
  let blocks = 0;
  let shortRun = false;
  let i = 0;
  while (i < count) {
    const w = peek24(ZNZ_REV, zpos);
    if (w & 0x800000) {
      // a burst of '1's: every valid window bit is real (padding past the end is zero)
      let ones = <i32>clz<u32>(~(w << 8));
      if (ones > count - i) ones = count - i;
      zpos += ones;
      if (zpos > znzBits) return 1;
      shortRun = false;
      const end = i + ones;
      while (i < end) {
        if (used == N) {
          if (decodeBpcBlock(W, N, bpcBits)) return 1;
          blocks++;
          used = 0;
        }
        // the next `take` values of the BPC block at once, by vectors: 16 values
        // are narrowed and stored (the ones past `take` are written again by what
        // follows; past the block's count nothing is copied out), none may be zero
        let take = N - used;
        if (take > end - i) take = end - i;
        const at = VALS + (used << 2);
        const a = v128.load(at);
        const b = v128.load(at, 16);
        const c = v128.load(at, 32);
        const d = v128.load(at, 48);
        const zero = i32x4.splat(0);
        const zeros =
          i32x4.bitmask(i32x4.eq(a, zero)) |
          (i32x4.bitmask(i32x4.eq(b, zero)) << 4) |
          (i32x4.bitmask(i32x4.eq(c, zero)) << 8) |
          (i32x4.bitmask(i32x4.eq(d, zero)) << 12);
        if (zeros & ((1 << take) - 1)) return 1;
        // the values are in range (W bits, signed): the saturating narrows keep them exactly
        const lo = i16x8.narrow_i32x4_s(a, b);
        const hi = i16x8.narrow_i32x4_s(c, d);
        if (wide) {
          v128.store(OUT + (i << 1), lo);
          v128.store(OUT + (i << 1), hi, 16);
        } else v128.store(OUT + i, i8x16.narrow_i16x8_s(lo, hi));
        i += take;
        used += take;
      }
    } else {
      const r = <i32>((w >> 19) & 15) + 1;
      zpos += 5;
      if (zpos > znzBits) return 1;
      if (shortRun) return 1;
      if (r > count - i) return 1;
      shortRun = r < R;
      // r <= 16 zeros: whole vectors (bytes past the run are written again by the values after it)
      if (wide) {
        v128.store(OUT + (i << 1), i32x4.splat(0));
        v128.store(OUT + (i << 1), i32x4.splat(0), 16);
      } else v128.store(OUT + i, i32x4.splat(0));
      i += r;
    }
  }
  // the rest of the last block is the encoder's zero padding
  if (blocks > 0) for (let j = used; j < N; j++) if (load<i32>(VALS + (j << 2)) != 0) return 1;
  if (!endsClean(EBPC_ZNZ, zpos, znzBytes, W)) return 1;
  if (!endsClean(EBPC_BPC, bpos, bpcBytes, W)) return 1;
  return 0;
}

// ---- encoder: encodeZnzInto and encodeBpcInto of streams.ts, bit for bit ----

const BLOCK = EBPC_TMP + 384; // i32[16]

/** Zero-pad the bits still in an accumulator to whole W-bit words; returns the end position. */
@inline
function flushPadded(start: i32, pos: i32, acc: u32, nacc: i32, W: i32): i32 {
  if (nacc > 0) store<u8>(pos++, <u8>(acc << <u32>(8 - nacc)));
  if (W == 16 && ((pos - start) & 1) != 0) store<u8>(pos++, 0);
  return pos;
}

/** The ZNZ stream of the n values at IN, at base; returns its unpadded bit length. */
function encodeZnz(n: i32, W: i32, base: i32): i32 {
  let acc: u32 = 0;
  let nacc = 0;
  let pos = base;
  let run = 0;
  for (let i = 0; i < n; i++) {
    const nonzero = W == 8 ? <i32>load<u8>(IN + i) : <i32>load<u16>(IN + (i << 1));
    if (nonzero != 0) {
      if (run > 0) {
        // '0' + (run-1) in 4 bits, then this value's '1'
        acc = (acc << 6) | (<u32>(run - 1) << 1) | 1;
        nacc += 6;
        run = 0;
      } else {
        acc = (acc << 1) | 1;
        nacc++;
      }
    } else if (++run == R) {
      // a full run is emitted at once, which is the greedy split of a longer one
      acc = (acc << 5) | (R - 1);
      nacc += 5;
      run = 0;
    } else continue;
    if (nacc >= 8) {
      nacc -= 8;
      store<u8>(pos++, <u8>(acc >> <u32>nacc));
      acc &= (1 << nacc) - 1;
    }
  }
  if (run > 0) {
    acc = (acc << 5) | <u32>(run - 1);
    nacc += 5;
    if (nacc >= 8) {
      nacc -= 8;
      store<u8>(pos++, <u8>(acc >> <u32>nacc));
      acc &= (1 << nacc) - 1;
    }
  }
  const bits = (pos - base) * 8 + nacc;
  flushPadded(base, pos, acc, nacc, W);
  return bits;
}

/** deltasToPlanes of streams.ts: PLANES[b] holds bit b of every delta at DELTAS (masked, non-negative), d[0] in its MSB. */
function deltasToPlanes(W: i32, N: i32): void {
  if (N == 8) {
    for (let q = 0; q < W; q += 8) {
      let x: u32 = 0;
      let y: u32 = 0;
      for (let r = 0; r < 4; r++) x = (x << 8) | ((<u32>load<i32>(DELTAS + (r << 2)) >> <u32>q) & 0xff);
      for (let r = 4; r < 7; r++) y = (y << 8) | ((<u32>load<i32>(DELTAS + (r << 2)) >> <u32>q) & 0xff);
      y <<= 8;
      const t = transpose8(x, y);
      for (let k = 0; k < 8; k++) store<i32>(PLANES + ((q + 7 - k) << 2), byteOf(t, k) >> 1);
    }
    let sign = 0;
    for (let j = 0; j < 7; j++) sign |= ((load<i32>(DELTAS + (j << 2)) >> W) & 1) << (6 - j);
    store<i32>(PLANES + (W << 2), sign);
    return;
  }
  const groups = N >> 3;
  for (let b = 0; b < W; b++) store<i32>(PLANES + (b << 2), 0);
  for (let g = 0; g < groups; g++) {
    const place = 8 * (groups - 1 - g); // group 0 is the most significant byte of a plane
    for (let q = 0; q < W; q += 8) {
      let x: u32 = 0;
      let y: u32 = 0;
      for (let r = 0; r < 8; r++) {
        const j = 8 * g + r;
        const v = j < N - 1 ? (<u32>load<i32>(DELTAS + (j << 2)) >> <u32>q) & 0xff : 0;
        if (r < 4) x = (x << 8) | v;
        else y = (y << 8) | v;
      }
      const t = transpose8(x, y);
      for (let k = 0; k < 8; k++) {
        const at = PLANES + ((q + 7 - k) << 2);
        store<i32>(at, load<i32>(at) | (byteOf(t, k) << place));
      }
    }
  }
  let sign = 0;
  for (let j = 0; j < N - 1; j++) sign |= ((load<i32>(DELTAS + (j << 2)) >> W) & 1) << (N - 2 - j);
  // the tiles are N wide, a plane is N-1 bits: drop the always-zero last column
  for (let b = 0; b < W; b++) store<i32>(PLANES + (b << 2), <i32>(<u32>load<i32>(PLANES + (b << 2)) >> 1));
  store<i32>(PLANES + (W << 2), sign);
}

/** The BPC stream of the non-zero values at IN, at base; returns its unpadded bit length. */
function encodeBpc(n: i32, W: i32, N: i32, base: i32): i32 {
  const wordMask = (1 << W) - 1;
  const deltaMask = (1 << (W + 1)) - 1;
  const allOnes = (1 << (N - 1)) - 1;
  const top = N - 2; // plane bit of d[0]
  const posBits = N == 8 ? 3 : 4;
  const runBits = W == 8 ? 3 : 4;
  let acc: u32 = 0;
  let nacc = 0;
  let pos = base;
  let i = 0;
  for (;;) {
    // gather the next N non-zero values (fewer at the end: zero-padded)
    let fill = 0;
    if (W == 8) {
      while (fill < N && i < n) {
        const v = <i32>load<i8>(IN + i++);
        if (v != 0) store<i32>(BLOCK + (fill++ << 2), v);
      }
    } else {
      while (fill < N && i < n) {
        const v = <i32>load<i16>(IN + (i++ << 1));
        if (v != 0) store<i32>(BLOCK + (fill++ << 2), v);
      }
    }
    if (fill == 0) break;
    for (let j = fill; j < N; j++) store<i32>(BLOCK + (j << 2), 0);
    for (let j = 0; j < N - 1; j++) store<i32>(DELTAS + (j << 2), (load<i32>(BLOCK + ((j + 1) << 2)) - load<i32>(BLOCK + (j << 2))) & deltaMask);
    deltasToPlanes(W, N);

    acc = (acc << <u32>W) | <u32>(load<i32>(BLOCK) & wordMask); // base
    nacc += W;
    while (nacc >= 8) {
      nacc -= 8;
      store<u8>(pos++, <u8>(acc >> <u32>nacc));
    }
    acc &= (1 << nacc) - 1;
    let prev = 0;
    let run = 0; // zero DBX planes not yet emitted
    for (let b = 0; b <= W; b++) {
      const p = load<i32>(PLANES + (b << 2));
      const x = p ^ prev; // DBX_b = DBP_b xor DBP_(b-1)
      prev = p;
      if (x == 0) {
        run++;
        continue;
      }
      if (run == 1) {
        acc = (acc << 2) | 1; // '01'
        nacc += 2;
      } else if (run > 1) {
        acc = (acc << <u32>(3 + runBits)) | <u32>((1 << runBits) | (run - 2)); // '001' + (k-2)
        nacc += 3 + runBits;
      }
      run = 0;
      // the first matching row of the symbol table wins
      let code: i32;
      let len: i32;
      if (x == allOnes) {
        code = 0; // '00000'
        len = 5;
      } else if (p == 0) {
        code = 1; // '00001'
        len = 5;
      } else {
        const low = x & -x;
        if (x == low) {
          code = (3 << posBits) | (top - (31 - clz<i32>(x))); // '00011' + pos
          len = 5 + posBits;
        } else if (x == low * 3) {
          code = (2 << posBits) | (top - (31 - clz<i32>(x))); // '00010' + pos of the first one
          len = 5 + posBits;
        } else {
          code = (1 << (N - 1)) | x; // '1' + DBX
          len = N;
        }
      }
      acc = (acc << <u32>len) | <u32>code;
      nacc += len;
      while (nacc >= 8) {
        nacc -= 8;
        store<u8>(pos++, <u8>(acc >> <u32>nacc));
      }
      acc &= (1 << nacc) - 1;
    }
    if (run == 1) {
      acc = (acc << 2) | 1;
      nacc += 2;
    } else if (run > 1) {
      acc = (acc << <u32>(3 + runBits)) | <u32>((1 << runBits) | (run - 2));
      nacc += 3 + runBits;
    }
    while (nacc >= 8) {
      nacc -= 8;
      store<u8>(pos++, <u8>(acc >> <u32>nacc));
    }
    acc &= (1 << nacc) - 1;
    if (fill < N) break;
  }
  const bits = (pos - base) * 8 + nacc;
  flushPadded(base, pos, acc, nacc, W);
  return bits;
}

/**
 * Encode n values at IN (W = 8: bytes; 16: int16 little-endian) into OUT as
 * ebpc/index.ts lays a block out: [ZNZ byte length, LEB128][ZNZ][BPC].
 * Returns the bytes written.
 */
export function ebpcEncode(n: i32, W: i32, N: i32): i32 {
  const znzBits = encodeZnz(n, W, EBPC_BPC);
  const znzBytes = ((znzBits + W - 1) / W) * (W >> 3);
  let w = OUT;
  let len = <u32>znzBytes;
  while (len >= 0x80) {
    store<u8>(w++, <u8>((len & 0x7f) | 0x80));
    len >>= 7;
  }
  store<u8>(w++, <u8>len);
  memory.copy(w, EBPC_BPC, znzBytes);
  w += znzBytes;
  const bpcBits = encodeBpc(n, W, N, w);
  return w - OUT + ((bpcBits + W - 1) / W) * (W >> 3);
}
