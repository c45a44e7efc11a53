// ZVC block coders: zvc.ts, bit for bit, in AssemblyScript. 8-bit values go
// 8 at a time through SIMD: a mask byte selects a shuffle that spreads the
// packed non-zero values to their places (decode) or packs them (encode).
// 4-bit and int16 values are scalar loops. Decoders defer their checks to
// the end of the block (positions only grow, flags are sticky), return 1 when
// one fails, and zvc-wasm.ts lets the JS coder name the error.
import { IN, OUT, ZVC_PACK, ZVC_SPREAD } from '../layout';

let tablesReady = false;

/** Per mask byte m: spread, lane j takes packed byte popcnt(m & ((1 << j) - 1)) where bit j is set, else 0 (index 0x80); pack, the inverse. */
function prepare(): void {
  for (let m = 0; m < 256; m++) {
    let k = 0;
    for (let j = 0; j < 16; j++) {
      store<u8>(ZVC_SPREAD + (m << 4) + j, j < 8 && (m >> j) & 1 ? <u8>(k++) : 0x80);
      store<u8>(ZVC_PACK + (m << 4) + j, 0x80);
    }
    k = 0;
    for (let j = 0; j < 8; j++) if ((m >> j) & 1) store<u8>(ZVC_PACK + (m << 4) + k++, <u8>j);
  }
  tablesReady = true;
}

/** Encode n bytes at IN into OUT; returns the bytes written. */
export function zvcEncode8(n: i32): i32 {
  if (!tablesReady) prepare();
  const maskBytes = (n + 7) >> 3;
  let w = OUT + maskBytes;
  for (let g = 0; g < maskBytes; g++) {
    const v = v128.load64_zero(IN + (g << 3));
    let m = ~i8x16.bitmask(i8x16.eq(v, i8x16.splat(0))) & 0xff;
    const rest = n - (g << 3);
    if (rest < 8) m &= (1 << rest) - 1;
    store<u8>(OUT + g, <u8>m);
    v128.store(w, i8x16.swizzle(v, v128.load(ZVC_PACK + (m << 4))));
    w += popcnt(m);
  }
  return w - OUT;
}

/** Decode n bytes into OUT from len bytes at IN (len >= the mask). 0: exact; 1: some check failed. */
export function zvcDecode8(n: i32, len: i32): i32 {
  if (!tablesReady) prepare();
  const maskBytes = (n + 7) >> 3;
  let r = IN + maskBytes;
  let bad = 0;
  const full = n >> 3;
  for (let g = 0; g < full; g++) {
    const m = <i32>load<u8>(IN + g);
    const v = i8x16.swizzle(v128.load(r), v128.load(ZVC_SPREAD + (m << 4)));
    // a selected lane that is zero: a zero where the mask says non-zero
    bad |= i8x16.bitmask(i8x16.eq(v, i8x16.splat(0))) & m;
    v128.store64_lane(OUT + (g << 3), v, 0);
    r += popcnt(m);
  }
  for (let i = full << 3; i < n; i++) {
    if ((load<u8>(IN + (i >> 3)) >> (i & 7)) & 1) {
      const v = load<u8>(r++);
      bad |= <i32>(v == 0);
      store<u8>(OUT + i, v);
    } else store<u8>(OUT + i, 0);
  }
  return <i32>(bad != 0 || r != IN + len);
}

/** Encode n int16 values (2n bytes) at IN into OUT; returns the bytes written. */
export function zvcEncode16(n: i32): i32 {
  const maskBytes = (n + 7) >> 3;
  memory.fill(OUT, 0, maskBytes);
  let w = OUT + maskBytes;
  for (let i = 0; i < n; i++) {
    const v = load<u16>(IN + (i << 1));
    store<u16>(w, v);
    const nz = <i32>(v != 0);
    store<u8>(OUT + (i >> 3), <u8>(<i32>load<u8>(OUT + (i >> 3)) | (nz << (i & 7))));
    w += nz << 1;
  }
  return w - OUT;
}

/** Decode n int16 values into OUT from len bytes at IN (len >= the mask). 0: exact; 1: some check failed. */
export function zvcDecode16(n: i32, len: i32): i32 {
  let r = IN + ((n + 7) >> 3);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const bit = (<i32>load<u8>(IN + (i >> 3)) >> (i & 7)) & 1;
    const v = load<u16>(r);
    bad |= bit & <i32>(v == 0);
    store<u16>(OUT + (i << 1), bit ? v : 0);
    r += bit << 1;
  }
  return <i32>(bad != 0 || r != IN + len);
}

/** Encode n nibbles (n / 2 bytes, low nibble first) at IN into OUT; returns the bytes written. */
export function zvcEncode4(n: i32): i32 {
  const maskBytes = (n + 7) >> 3;
  memory.fill(OUT, 0, maskBytes);
  let w = OUT + maskBytes;
  let half = 0; // a nibble waiting for its partner at w
  for (let i = 0; i < n; i++) {
    const v = (<i32>load<u8>(IN + (i >> 1)) >> ((i & 1) << 2)) & 15;
    if (v != 0) {
      store<u8>(OUT + (i >> 3), <u8>(<i32>load<u8>(OUT + (i >> 3)) | (1 << (i & 7))));
      if (half) {
        store<u8>(w, <u8>(<i32>load<u8>(w) | (v << 4)));
        w++;
      } else store<u8>(w, <u8>v);
      half ^= 1;
    }
  }
  return w + half - OUT;
}

/** Decode n nibbles into OUT from len bytes at IN (len >= the mask). 0: exact; 1: some check failed. */
export function zvcDecode4(n: i32, len: i32): i32 {
  let r = IN + ((n + 7) >> 3);
  memory.fill(OUT, 0, n >> 1);
  let half = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    if ((load<u8>(IN + (i >> 3)) >> (i & 7)) & 1) {
      const b = <i32>load<u8>(r);
      const v = half ? b >> 4 : b & 15;
      r += half;
      half ^= 1;
      bad |= <i32>(v == 0);
      store<u8>(OUT + (i >> 1), <u8>(<i32>load<u8>(OUT + (i >> 1)) | (v << ((i & 1) << 2))));
    }
  }
  if (half) {
    bad |= <i32>(load<u8>(r) >> 4 != 0);
    r++;
  }
  return <i32>(bad != 0 || r != IN + len);
}
