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
  APACK_DEC,
  APACK_ENC_OFFSET,
  APACK_ENC_RCP,
  APACK_ENC_SHIFT,
  APACK_ENC_STEP,
  APACK_ENC_XMAX,
  IN,
  OUT,
  SCRATCH,
  SCRATCH_BYTES,
} from '../layout';

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
}

/**
 * Encode n values (bytes, or nibbles when nibbles = 1, n even) at IN into
 * OUT: varint rANS length, rANS bytes, offsets. Returns the bytes written.
 */
export function apackEncode(slot: i32, n: i32, nibbles: i32): i32 {
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
    x = (q << 10) + (x - q * (step & 2047)) + (step >> 11);
  }
  // the final state, big-endian
  p -= 4;
  store<u32>(p, bswap<u32>(x));
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
  // Offsets, forwards, MSB-first, zero-padded: a byte is stored per value at
  // w, which moves only once 8 bits are complete (OL <= 8 keeps nb < 16).
  let acc: u32 = 0;
  let nb: u32 = 0;
  for (let i = 0; i < n; i++) {
    const v = nibbles == 0 ? <i32>load<u8>(IN + i) : (<i32>load<u8>(IN + (i >> 1)) >> ((i & 1) << 2)) & 15;
    const o = load<u32>(slot + APACK_ENC_OFFSET + (v << 2));
    const ol = o >> 8;
    acc = (acc << ol) | (o & 255);
    nb += ol;
    const full = <u32>(nb >= 8);
    nb -= full << 3;
    store<u8>(w, <u8>(acc >> nb));
    w += <i32>full;
  }
  if (nb > 0) store<u8>(w++, <u8>(acc << (8 - nb)));
  return w - OUT;
}

/**
 * Decode n values (nibbles = 1: n even, packed low nibble first) into OUT,
 * from the rANS bytes at IN + p (state x already read) up to IN + ransEnd and
 * the offset stream from there to IN + end. 0: exact; 1: some check failed.
 * The caller leaves 2n + 8 readable bytes after the block.
 */
export function apackDecode(slot: i32, n: i32, nibbles: i32, x: u32, p: i32, ransEnd: i32, end: i32): i32 {
  p += IN;
  let q = IN + ransEnd;
  let acc: u32 = 0;
  let nb: u32 = 0;
  let bad: u32 = 0;
  let pending: u32 = 0;
  for (let i = 0; i < n; i++) {
    const e = slot + APACK_DEC + ((x & 1023) << 3);
    const step = load<u32>(e);
    const g = load<u32>(e, 4);
    x = (step & 2047) * (x >> 10) + (step >> 11);
    // renormalise: 0, 1 or 2 bytes (x >= 2^13 here), from a big-endian u16
    const k = <u32>(x < RANS_L) + <u32>(x < (1 << 15));
    const two = <u32>bswap<u16>(load<u16>(p));
    x = (x << (k << 3)) | (two >> (16 - (k << 3)));
    p += <i32>k;
    // offset: refill a byte when the bits run short (OL <= 8)
    const ol = (g >> 9) & 15;
    const refill = <u32>(nb < ol);
    acc = (acc << (refill << 3)) | (<u32>load<u8>(q) & (0 - refill));
    q += <i32>refill;
    nb += (refill << 3) - ol;
    const off = (acc >> nb) & ((1 << ol) - 1);
    bad |= <u32>(ol != 0) & <u32>(off >= g >> 13);
    const v = (g & 511) + off;
    if (nibbles == 0) store<u8>(OUT + i, <u8>v);
    else if ((i & 1) == 0) pending = v;
    else store<u8>(OUT + (i >> 1), <u8>(pending | (v << 4)));
  }
  const ok = p == IN + ransEnd && x == RANS_L && q == IN + end && bad == 0 && (acc & ((1 << nb) - 1)) == 0;
  return ok ? 0 : 1;
}
