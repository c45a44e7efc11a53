// The second pass of the two-pass decoders (apack.ts decode4Split, fpack.ts
// wholeTwoPass): the raw offsets of 16 values at once from an MSB-first bit
// stream, each of OL <= 8 bits, OL per lane. Inlined into both loops.

/** Inclusive prefix sum of OL over the 16 lanes (at most 128): within each 4 lanes by a multiply, then across them. Lane 15 is the 16 values' bit count. */
@inline
export function olPrefix(ol: v128): v128 {
  let s = i32x4.mul(ol, i32x4.splat(0x01010101));
  s = i8x16.add(s, i8x16.swizzle(s, v128(-1, -1, -1, -1, 3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11)));
  return i8x16.add(s, i8x16.swizzle(s, v128(-1, -1, -1, -1, -1, -1, -1, -1, 3, 3, 3, 3, 7, 7, 7, 7)));
}

/**
 * Each lane's offset: its OL bits (mask = 2^OL - 1) of the stream at q, the 16 values' bits
 * starting at bit `bits`, lane j's at bits + s[j] - OL[j] (s = olPrefix(ol)). Reads 17 bytes
 * from q + (bits >> 3).
 */
@inline
export function offsets16(q: i32, bits: u32, ol: v128, mask: v128, s: v128): v128 {
  // each value's first bit, counted from byte bits >> 3 of the stream (at most 7 + 120)
  const pos = i8x16.add(i8x16.sub(s, ol), i8x16.splat(<i8>(bits & 7)));
  const at = v128.and(i16x8.shr_u(pos, 3), i8x16.splat(15));
  const w = q + <i32>(bits >> 3);
  // per value the two bytes its bits start in, as a u16, the first byte high
  const hi = i8x16.swizzle(v128.load(w), at);
  const lo = i8x16.swizzle(v128.load(w, 1), at);
  const t0 = i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1 = i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  // shifted left by pos & 7 (a multiply by 2^(pos & 7)), its high byte holds the value's next 8 bits
  const m = i8x16.swizzle(v128(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128), v128.and(pos, i8x16.splat(15)));
  const u0 = i16x8.shr_u(i16x8.mul(t0, i16x8.extend_low_i8x16_u(m)), 8);
  const u1 = i16x8.shr_u(i16x8.mul(t1, i16x8.extend_high_i8x16_u(m)), 8);
  // of which the top OL: (u * 2^OL) >> 8, as (u * mask + u) >> 8 (2^OL = 256 does not fit a byte, the mask does)
  const m0 = i16x8.extend_low_i8x16_u(mask);
  const m1 = i16x8.extend_high_i8x16_u(mask);
  return i8x16.narrow_i16x8_u(i16x8.shr_u(i16x8.add(i16x8.mul(u0, m0), u0), 8), i16x8.shr_u(i16x8.add(i16x8.mul(u1, m1), u1), 8));
}
