import { CodecError, badArgument, corrupt, truncated } from '../errors.ts';

/**
 * The bare two-stream EBPC code (Cavigelli et al., JETCAS 2019) exactly as the
 * authors' golden model `stream-ebpc/py/common/bpc.py` (variant 'paper') emits
 * it; see ../shared/papers/ebpc.md. Input is n W-bit two's-complement words
 * (W=8: one byte each; W=16: little-endian int16). Output is a ZNZ stream
 * (zero run-length code of the zero/non-zero mask) and a BPC stream (bit-plane
 * code of the non-zero values in blocks of N), each packed MSB-first into
 * W-bit words with the last word zero-padded; 16-bit words are written
 * big-endian, so the stream bytes are the bit stream in order.
 *
 * The decoder is strict: it accepts exactly the streams the encoder emits
 * (canonical symbols, maximal zero runs, zero padding, no trailing bytes) and
 * throws CodecError otherwise, so corruption is caught where it is detectable.
 */

export type EbpcWordBits = 8 | 16;
export type EbpcBlockSize = 8 | 16;

/** Longest zero run one ZNZ symbol codes (R); its run field is log2(R) = 4 bits. */
export const EBPC_MAX_ZERO_RUN = 16;
/** Most values per transmission: the RTL decoder takes count-1 as a 24-bit number. */
export const EBPC_MAX_COUNT = 1 << 24;

export interface EbpcStreams {
  znz: Uint8Array;
  bpc: Uint8Array;
  /** Stream lengths in bits before padding to whole words. */
  znzBits: number;
  bpcBits: number;
}

/**
 * Valid (W, N): the RTL needs W ≥ N, so (8,8), (16,8), (16,16). The golden
 * model would also run (8,16), but no hardware can decode it, so it is refused.
 */
export function checkEbpcParams(wordBits: number, blockSize: number): asserts wordBits is EbpcWordBits {
  if (wordBits !== 8 && wordBits !== 16) throw badArgument(`EBPC word width must be 8 or 16 bits, got ${wordBits}`);
  if (blockSize !== 8 && blockSize !== 16) throw badArgument(`EBPC block size must be 8 or 16, got ${blockSize}`);
  if (blockSize > wordBits) {
    throw badArgument(`EBPC block size ${blockSize} needs words of at least ${blockSize} bits (the RTL requires W >= N), got W=${wordBits}`);
  }
}

/** Number of W-bit values in `byteLength` bytes; rejects partial words and counts above 2^24. */
export function ebpcValueCount(byteLength: number, wordBits: EbpcWordBits): number {
  if (wordBits === 16 && byteLength % 2 !== 0) {
    throw badArgument(`${byteLength} bytes is not a whole number of 16-bit values (int16 needs an even byte length)`);
  }
  const n = wordBits === 16 ? byteLength >>> 1 : byteLength;
  if (n > EBPC_MAX_COUNT) throw badArgument(`EBPC codes at most ${EBPC_MAX_COUNT} values per transmission, got ${n}`);
  return n;
}

/** Bytes of a stream of `bits` bits padded to whole W-bit words. */
export function paddedStreamBytes(bits: number, wordBits: EbpcWordBits): number {
  return Math.ceil(bits / wordBits) * (wordBits >>> 3);
}

/** Upper bound of the ZNZ stream in bytes: at most 5 bits per value (a lone zero). */
export function znzMaxBytes(n: number, wordBits: EbpcWordBits): number {
  return paddedStreamBytes(5 * n, wordBits);
}

/** Upper bound of the BPC stream in bytes: every block W + (W+1)·N bits, with a padded last block. */
export function bpcMaxBytes(n: number, wordBits: EbpcWordBits, blockSize: EbpcBlockSize): number {
  return paddedStreamBytes(Math.ceil(n / blockSize) * (wordBits + (wordBits + 1) * blockSize), wordBits);
}

/**
 * Upper bound of both padded streams together, in bytes (spec §5.5): a
 * non-zero costs at most 1 ZNZ bit + W+1 plane bits, a zero at most 5 ZNZ
 * bits; add one base per block, one padded block and two padded words.
 * For W=8, N=8 that is 11n + 85 bits.
 */
export function ebpcMaxTotalBytes(n: number, wordBits: EbpcWordBits, blockSize: EbpcBlockSize): number {
  const W = wordBits;
  const bits = n * Math.max(W + 2, 5) + W * Math.ceil(n / blockSize) + (W + 1) * (blockSize - 1) + 2 * (W - 1);
  return Math.floor(bits / 8);
}

/**
 * MSB-first reader over buf[startByte, endByte). `peek24` returns the next 24
 * bits (zeros past the end) so one look decodes any symbol; `skip` consumes a
 * decoded symbol and is where running off the end is detected.
 */
class MsbSource {
  pos: number;
  readonly startBit: number;
  private readonly endBit: number;
  constructor(
    readonly buf: Uint8Array,
    readonly startByte: number,
    readonly endByte: number,
    private readonly what: string,
  ) {
    this.startBit = startByte * 8;
    this.pos = this.startBit;
    this.endBit = endByte * 8;
  }
  peek24(): number {
    const p = this.pos >>> 3;
    const buf = this.buf;
    const w = p + 2 < this.endByte ? (buf[p] << 16) | (buf[p + 1] << 8) | buf[p + 2] : this.window(p);
    return (w << (this.pos & 7)) & 0xffffff;
  }
  skip(len: number): void {
    const next = this.pos + len;
    if (next > this.endBit) this.ranOff(next);
    this.pos = next;
  }
  /** The 3 bytes from byte q as one number, zeros past the end (the slow path of a peek). */
  window(q: number): number {
    let w = 0;
    for (let k = 0; k < 3; k++) w = (w << 8) | (q + k < this.endByte ? this.buf[q + k] : 0);
    return w;
  }
  ranOff(at: number = this.pos): never {
    throw truncated(`EBPC ${this.what} stream ended early (needs bit ${at - this.startBit} of ${this.endBit - this.startBit})`);
  }
  /** Sets the position after symbols read with peeks that may have run past the end. */
  moveTo(pos: number): void {
    if (pos > this.endBit) this.ranOff(pos);
    this.pos = pos;
  }
  /** A decoding error at bit `pos`: truncation if the stream ran out before it, else corruption. */
  fail(pos: number, message: string): never {
    if (pos > this.endBit) this.ranOff(pos);
    throw corrupt(message);
  }
  /** After the last symbol: only zero padding up to the end of the current W-bit word may follow. */
  checkEnd(wordBits: EbpcWordBits): void {
    const used = this.pos - this.startBit;
    const expected = paddedStreamBytes(used, wordBits);
    const have = this.endByte - this.startByte;
    if (have < expected) throw truncated(`EBPC ${this.what} stream ends inside its last ${wordBits}-bit word`);
    if (have > expected) throw corrupt(`EBPC ${this.what} stream has ${have - expected} bytes after its last word`);
    const p = this.pos >>> 3;
    if ((this.pos & 7) !== 0 && (this.buf[p] & (0xff >>> (this.pos & 7))) !== 0) {
      throw corrupt(`EBPC ${this.what} stream has non-zero padding bits`);
    }
    for (let k = (this.pos + 7) >>> 3; k < this.endByte; k++) {
      if (this.buf[k] !== 0) throw corrupt(`EBPC ${this.what} stream has non-zero padding bits`);
    }
  }
}

/**
 * Transposes the 8×8 bit matrix t[0..7] in place (row r = t[r], column 0 =
 * bit 7): afterwards t[k] holds bit 7-k of every former row, row 0 in bit 7.
 * Hacker's Delight's 32-bit transpose8, a few dozen operations instead of 64
 * single-bit moves.
 */
function transpose8(t: Int32Array): void {
  let x = (t[0] << 24) | (t[1] << 16) | (t[2] << 8) | t[3];
  let y = (t[4] << 24) | (t[5] << 16) | (t[6] << 8) | t[7];
  let s = (x ^ (x >>> 7)) & 0x00aa00aa;
  x = x ^ s ^ (s << 7);
  s = (y ^ (y >>> 7)) & 0x00aa00aa;
  y = y ^ s ^ (s << 7);
  s = (x ^ (x >>> 14)) & 0x0000cccc;
  x = x ^ s ^ (s << 14);
  s = (y ^ (y >>> 14)) & 0x0000cccc;
  y = y ^ s ^ (s << 14);
  s = (x & 0xf0f0f0f0) | ((y >>> 4) & 0x0f0f0f0f);
  y = ((x << 4) & 0xf0f0f0f0) | (y & 0x0f0f0f0f);
  x = s;
  t[0] = x >>> 24;
  t[1] = (x >>> 16) & 0xff;
  t[2] = (x >>> 8) & 0xff;
  t[3] = x & 0xff;
  t[4] = y >>> 24;
  t[5] = (y >>> 16) & 0xff;
  t[6] = (y >>> 8) & 0xff;
  t[7] = y & 0xff;
}

/**
 * Bit planes of the N-1 (W+1)-bit deltas (masked, non-negative): planes[b]
 * is an (N-1)-bit word holding bit b of every delta, d[0] in its MSB. Works
 * on 8×8 tiles: delta group g (8 deltas, the missing 16th is zero) × byte q.
 */
function deltasToPlanes(d: Int32Array, planes: Int32Array, W: number, N: number, t: Int32Array): void {
  if (N === 8) {
    // one tile per delta byte; the common case, kept free of the group loop
    for (let q = 0; q < W; q += 8) {
      for (let r = 0; r < 7; r++) t[r] = (d[r] >>> q) & 0xff;
      t[7] = 0;
      transpose8(t);
      for (let k = 0; k < 8; k++) planes[q + 7 - k] = t[k] >>> 1;
    }
    planes[W] =
      (((d[0] >>> W) & 1) << 6) | (((d[1] >>> W) & 1) << 5) | (((d[2] >>> W) & 1) << 4) | (((d[3] >>> W) & 1) << 3) |
      (((d[4] >>> W) & 1) << 2) | (((d[5] >>> W) & 1) << 1) | ((d[6] >>> W) & 1);
    return;
  }
  const groups = N >>> 3;
  for (let b = 0; b < W; b++) planes[b] = 0;
  for (let g = 0; g < groups; g++) {
    const place = 8 * (groups - 1 - g); // group 0 is the most significant byte of a plane
    for (let q = 0; q < W; q += 8) {
      for (let r = 0; r < 8; r++) {
        const j = 8 * g + r;
        t[r] = j < N - 1 ? (d[j] >>> q) & 0xff : 0;
      }
      transpose8(t);
      for (let k = 0; k < 8; k++) planes[q + 7 - k] |= t[k] << place;
    }
  }
  let sign = 0;
  for (let j = 0; j < N - 1; j++) sign |= ((d[j] >>> W) & 1) << (N - 2 - j);
  // the tiles are N wide, a plane is N-1 bits: drop the always-zero last column
  for (let b = 0; b < W; b++) planes[b] >>>= 1;
  planes[W] = sign;
}

/** The inverse of deltasToPlanes, giving signed deltas. */
function planesToDeltas(planes: Int32Array, d: Int32Array, W: number, N: number, t: Int32Array): void {
  if (N === 8) {
    for (let q = 0; q < W; q += 8) {
      for (let k = 0; k < 8; k++) t[k] = (planes[q + 7 - k] << 1) & 0xff;
      transpose8(t);
      if (q === 0) for (let r = 0; r < 7; r++) d[r] = t[r];
      else for (let r = 0; r < 7; r++) d[r] |= t[r] << q;
    }
    const sign = planes[W];
    for (let j = 0; j < 7; j++) if ((sign >>> (6 - j)) & 1) d[j] -= 1 << W;
    return;
  }
  const groups = N >>> 3;
  for (let j = 0; j < N - 1; j++) d[j] = 0;
  for (let g = 0; g < groups; g++) {
    const place = 8 * (groups - 1 - g);
    for (let q = 0; q < W; q += 8) {
      for (let k = 0; k < 8; k++) t[k] = ((planes[q + 7 - k] << 1) >>> place) & 0xff;
      transpose8(t);
      for (let r = 0; r < 8; r++) {
        const j = 8 * g + r;
        if (j < N - 1) d[j] |= t[r] << q;
      }
    }
  }
  const sign = planes[W];
  for (let j = 0; j < N - 1; j++) if ((sign >>> (N - 2 - j)) & 1) d[j] -= 1 << W;
}

/**
 * Zero-pads the bits still in an encoder's accumulator to whole W-bit words;
 * returns the end position in `out`.
 */
function flushPadded(out: Uint8Array, start: number, pos: number, acc: number, nacc: number, wordBits: EbpcWordBits): number {
  if (nacc > 0) out[pos++] = acc << (8 - nacc);
  if (wordBits === 16 && ((pos - start) & 1) !== 0) out[pos++] = 0;
  return pos;
}

/** Writes the ZNZ stream of the n values into out[off...]; returns its unpadded bit length. */
export function encodeZnzInto(values: Uint8Array, n: number, wordBits: EbpcWordBits, out: Uint8Array, off: number): number {
  // MSB-first accumulator in locals: at most 7 bits wait, at most 6 are added per value
  let acc = 0;
  let nacc = 0;
  let pos = off;
  let run = 0;
  const step = wordBits >>> 3;
  for (let i = 0, k = 0; i < n; i++, k += step) {
    const nonzero = step === 1 ? values[k] : values[k] | values[k + 1];
    if (nonzero !== 0) {
      if (run > 0) {
        // '0' + (run-1) in 4 bits, then this value's '1'
        acc = (acc << 6) | ((run - 1) << 1) | 1;
        nacc += 6;
        run = 0;
      } else {
        acc = (acc << 1) | 1;
        nacc++;
      }
    } else if (++run === EBPC_MAX_ZERO_RUN) {
      // a full run is emitted at once, which is the greedy split of a longer one
      acc = (acc << 5) | (EBPC_MAX_ZERO_RUN - 1);
      nacc += 5;
      run = 0;
    } else continue;
    if (nacc >= 8) {
      nacc -= 8;
      out[pos++] = acc >>> nacc;
      acc &= (1 << nacc) - 1;
    }
  }
  if (run > 0) {
    acc = (acc << 5) | (run - 1);
    nacc += 5;
    if (nacc >= 8) {
      nacc -= 8;
      out[pos++] = acc >>> nacc;
      acc &= (1 << nacc) - 1;
    }
  }
  const bits = (pos - off) * 8 + nacc;
  flushPadded(out, off, pos, acc, nacc, wordBits);
  return bits;
}

/** Writes the BPC stream of the non-zero values into out[off...]; returns its unpadded bit length. */
export function encodeBpcInto(
  values: Uint8Array,
  n: number,
  wordBits: EbpcWordBits,
  blockSize: EbpcBlockSize,
  out: Uint8Array,
  off: number,
): number {
  const W = wordBits;
  const N = blockSize;
  const block = new Int32Array(N);
  const planes = new Int32Array(W + 1);
  const deltas = new Int32Array(N);
  const tile = new Int32Array(8);
  const wordMask = (1 << W) - 1;
  const deltaMask = (1 << (W + 1)) - 1;
  const allOnes = (1 << (N - 1)) - 1;
  const top = N - 2; // plane bit of d[0]
  const posBits = N === 8 ? 3 : 4;
  const runBits = W === 8 ? 3 : 4;
  // MSB-first accumulator in locals. One write per symbol: at most 7 waiting
  // bits + a zero run (≤ 7) + a plane symbol (≤ 16) = 30 bits.
  let acc = 0;
  let nacc = 0;
  let pos = off;
  let i = 0;
  for (;;) {
    // gather the next N non-zero values (fewer at the end: zero-padded)
    let fill = 0;
    if (W === 8) {
      while (fill < N && i < n) {
        const v = values[i++];
        if (v !== 0) block[fill++] = (v << 24) >> 24;
      }
    } else {
      while (fill < N && i < n) {
        const v = values[2 * i] | (values[2 * i + 1] << 8);
        i++;
        if (v !== 0) block[fill++] = (v << 16) >> 16;
      }
    }
    if (fill === 0) break;
    for (let j = fill; j < N; j++) block[j] = 0;

    for (let j = 0; j < N - 1; j++) deltas[j] = (block[j + 1] - block[j]) & deltaMask;
    deltasToPlanes(deltas, planes, W, N, tile);

    acc = (acc << W) | (block[0] & wordMask); // base
    nacc += W;
    while (nacc >= 8) {
      nacc -= 8;
      out[pos++] = acc >>> nacc;
    }
    acc &= (1 << nacc) - 1;
    let prev = 0;
    let run = 0; // zero DBX planes not yet emitted
    for (let b = 0; b <= W; b++) {
      const p = planes[b];
      const x = p ^ prev; // DBX_b = DBP_b xor DBP_(b-1)
      prev = p;
      if (x === 0) {
        run++;
        continue;
      }
      if (run === 1) {
        acc = (acc << 2) | 1; // '01'
        nacc += 2;
      } else if (run > 1) {
        acc = (acc << (3 + runBits)) | (1 << runBits) | (run - 2); // '001' + (k-2)
        nacc += 3 + runBits;
      }
      run = 0;
      // the first matching row of the symbol table wins
      let code: number;
      let len: number;
      if (x === allOnes) {
        code = 0; // '00000'
        len = 5;
      } else if (p === 0) {
        code = 1; // '00001'
        len = 5;
      } else {
        const low = x & -x;
        if (x === low) {
          code = (3 << posBits) | (top - (31 - Math.clz32(x))); // '00011' + pos
          len = 5 + posBits;
        } else if (x === low * 3) {
          code = (2 << posBits) | (top - (31 - Math.clz32(x))); // '00010' + pos of the first one
          len = 5 + posBits;
        } else {
          code = (1 << (N - 1)) | x; // '1' + DBX
          len = N;
        }
      }
      acc = (acc << len) | code;
      nacc += len;
      while (nacc >= 8) {
        nacc -= 8;
        out[pos++] = acc >>> nacc;
      }
      acc &= (1 << nacc) - 1;
    }
    if (run === 1) {
      acc = (acc << 2) | 1;
      nacc += 2;
    } else if (run > 1) {
      acc = (acc << (3 + runBits)) | (1 << runBits) | (run - 2);
      nacc += 3 + runBits;
    }
    while (nacc >= 8) {
      nacc -= 8;
      out[pos++] = acc >>> nacc;
    }
    acc &= (1 << nacc) - 1;
    if (fill < N) break;
  }
  const bits = (pos - off) * 8 + nacc;
  flushPadded(out, off, pos, acc, nacc, W);
  return bits;
}

/**
 * Decodes one BPC block into vals[0..N-1]. Rejects every symbol sequence the
 * encoder cannot produce: a zero run past plane W, a zero run right after
 * another, a bad position, a symbol that an earlier table row should have
 * coded, and deltas that leave the W-bit range.
 *
 * The read position lives in a local (hot loop). Looking past the end reads
 * zeros, so the end is checked once after the planes; the loop is bounded
 * anyway (every symbol is at least 2 bits and adds at least one plane).
 */
function decodeBpcBlock(
  src: MsbSource,
  W: EbpcWordBits,
  N: EbpcBlockSize,
  planes: Int32Array,
  deltas: Int32Array,
  tile: Int32Array,
  vals: Int32Array,
): void {
  const allOnes = (1 << (N - 1)) - 1;
  const posBits = N === 8 ? 3 : 4;
  const runBits = W === 8 ? 3 : 4;
  const buf = src.buf;
  const endByte = src.endByte;
  let pos = src.pos;
  let q = pos >>> 3;
  const base = (((q + 2 < endByte ? (buf[q] << 16) | (buf[q + 1] << 8) | buf[q + 2] : src.window(q)) << (pos & 7)) & 0xffffff) >>> (24 - W);
  pos += W;
  let b = 0;
  let prev = 0;
  let afterRun = false;
  while (b <= W) {
    q = pos >>> 3;
    const w = ((q + 2 < endByte ? (buf[q] << 16) | (buf[q + 1] << 8) | buf[q + 2] : src.window(q)) << (pos & 7)) & 0xffffff;
    let p: number;
    if (w & 0x800000) {
      // '1' + DBX
      const x = (w >>> (24 - N)) & allOnes;
      pos += N;
      const low = x & -x;
      if (x === 0 || x === allOnes || x === low || x === low * 3 || x === prev) {
        src.fail(pos, `EBPC BPC plane ${b} is sent raw but has a shorter code`);
      }
      p = x ^ prev;
    } else if (w & 0x400000) {
      // '01': one zero DBX plane
      pos += 2;
      if (afterRun) src.fail(pos, `EBPC BPC zero run at plane ${b} follows another zero run`);
      planes[b++] = prev;
      afterRun = true;
      continue;
    } else if (w & 0x200000) {
      // '001' + (k-2): k zero DBX planes
      const k = ((w >>> (21 - runBits)) & (W - 1)) + 2;
      pos += 3 + runBits;
      if (afterRun) src.fail(pos, `EBPC BPC zero run at plane ${b} follows another zero run`);
      if (b + k > W + 1) src.fail(pos, `EBPC BPC zero run of ${k} planes at plane ${b} runs past plane ${W}`);
      for (const end = b + k; b < end; b++) planes[b] = prev;
      afterRun = true;
      continue;
    } else {
      const sel = (w >>> 19) & 3;
      if (sel === 0) {
        // '00000': DBX all ones
        pos += 5;
        p = allOnes ^ prev;
      } else if (sel === 1) {
        // '00001': DBP zero
        pos += 5;
        if (prev === 0 || prev === allOnes) src.fail(pos, `EBPC BPC plane ${b} is coded as zero but has a shorter code`);
        p = 0;
      } else {
        // '00011' + pos (one 1 bit), '00010' + pos (two adjacent 1 bits); pos counts from d[0]
        const at = (w >>> (19 - posBits)) & (N - 1);
        pos += 5 + posBits;
        let x: number;
        if (sel === 3) {
          if (at > N - 2) src.fail(pos, `EBPC BPC single-one position ${at} is out of range`);
          x = 1 << (N - 2 - at);
        } else {
          if (at > N - 3) src.fail(pos, `EBPC BPC two-ones position ${at} is out of range`);
          x = 3 << (N - 3 - at);
        }
        if (x === prev) src.fail(pos, `EBPC BPC plane ${b} is zero but not coded as zero`);
        p = x ^ prev;
      }
    }
    afterRun = false;
    planes[b++] = p;
    prev = p;
  }
  src.moveTo(pos);

  // rebuild the (W+1)-bit deltas from the planes and integrate them
  const half = 1 << (W - 1);
  planesToDeltas(planes, deltas, W, N, tile);
  let v = (base << (32 - W)) >> (32 - W);
  vals[0] = v;
  for (let j = 0; j < N - 1; j++) {
    v += deltas[j];
    if (v < -half || v >= half) throw corrupt(`EBPC BPC delta leaves the ${W}-bit range`);
    vals[j + 1] = v;
  }
}

/**
 * Decodes count values from the ZNZ stream znz[znzStart, znzEnd) and the BPC
 * stream bpc[bpcStart, bpcEnd) into out (count·W/8 bytes). Both streams must
 * be consumed exactly, up to zero padding of their last word.
 */
export function decodeEbpcInto(
  znz: Uint8Array,
  znzStart: number,
  znzEnd: number,
  bpc: Uint8Array,
  bpcStart: number,
  bpcEnd: number,
  count: number,
  wordBits: EbpcWordBits,
  blockSize: EbpcBlockSize,
  out: Uint8Array,
): void {
  const W = wordBits;
  const N = blockSize;
  const step = W >>> 3;
  const zs = new MsbSource(znz, znzStart, znzEnd, 'ZNZ');
  const bs = new MsbSource(bpc, bpcStart, bpcEnd, 'BPC');
  const planes = new Int32Array(W + 1);
  const deltas = new Int32Array(N);
  const tile = new Int32Array(8);
  const vals = new Int32Array(N);
  let used: number = N; // values of the current block already placed
  let blocks = 0;
  let shortRun = false; // the last ZNZ symbol was a run shorter than R
  let i = 0;
  while (i < count) {
    const w = zs.peek24();
    if (w & 0x800000) {
      // a burst of '1's: every valid window bit is real (padding past the end is zero)
      const ones = Math.min(Math.clz32(~(w << 8)), count - i);
      zs.skip(ones);
      shortRun = false;
      for (const end = i + ones; i < end; i++) {
        if (used === N) {
          decodeBpcBlock(bs, W, N, planes, deltas, tile, vals);
          blocks++;
          used = 0;
        }
        const v = vals[used++];
        if (v === 0) throw corrupt(`EBPC value ${i} decodes to zero where the ZNZ mask says non-zero`);
        if (step === 1) out[i] = v;
        else {
          out[2 * i] = v;
          out[2 * i + 1] = v >> 8;
        }
      }
    } else {
      const r = ((w >>> 19) & 15) + 1;
      zs.skip(5);
      if (shortRun) throw corrupt(`EBPC ZNZ zero run at value ${i} follows a run shorter than ${EBPC_MAX_ZERO_RUN}`);
      if (r > count - i) throw corrupt(`EBPC ZNZ zero run of ${r} at value ${i} runs past the ${count} values`);
      shortRun = r < EBPC_MAX_ZERO_RUN;
      for (let k = i * step, end = (i + r) * step; k < end; k++) out[k] = 0;
      i += r;
    }
  }
  // the rest of the last block is the encoder's zero padding
  if (blocks > 0) {
    for (let j = used; j < N; j++) if (vals[j] !== 0) throw corrupt('EBPC BPC padding values of the last block are not zero');
  }
  zs.checkEnd(W);
  bs.checkEnd(W);
}

/** Encodes values (W=8: bytes; W=16: int16 little-endian) into the two EBPC streams. */
export function encodeEbpcStreams(values: Uint8Array, wordBits: 8 | 16, blockSize: 8 | 16): EbpcStreams {
  checkEbpcParams(wordBits, blockSize);
  const n = ebpcValueCount(values.length, wordBits);
  const znzBuf = new Uint8Array(znzMaxBytes(n, wordBits));
  const znzBits = encodeZnzInto(values, n, wordBits, znzBuf, 0);
  const bpcBuf = new Uint8Array(bpcMaxBytes(n, wordBits, blockSize));
  const bpcBits = encodeBpcInto(values, n, wordBits, blockSize, bpcBuf, 0);
  return {
    znz: znzBuf.slice(0, paddedStreamBytes(znzBits, wordBits)),
    bpc: bpcBuf.slice(0, paddedStreamBytes(bpcBits, wordBits)),
    znzBits,
    bpcBits,
  };
}

/**
 * How many values a bare ZNZ stream holds, read from its symbols alone (the
 * count is not in the streams). Trailing zero bits are taken as the last
 * word's padding, so `min` counts up to the last '1' bit. A lone zero value
 * (a run of 1) is coded as five zero bits, which padding cannot be told from:
 * when five such bits fit before the end and may follow the last symbol,
 * `max` is min + 1 and both counts decode the same streams (when only the
 * longer reading ends in the stream's last word, both are that one).
 */
export function ebpcStreamValueCounts(znz: Uint8Array, wordBits: 8 | 16): { min: number; max: number } {
  let last = -1;
  for (let k = znz.length - 1; k >= 0; k--) {
    if (znz[k] !== 0) {
      // MSB first: the last 1 bit of the byte is its lowest set bit.
      last = k * 8 + 7 - (31 - Math.clz32(znz[k] & -znz[k]));
      break;
    }
  }
  const total = znz.length * 8;
  const bit = (p: number): number => (p < total ? (znz[p >>> 3] >>> (7 - (p & 7))) & 1 : 0);
  let pos = 0;
  let values = 0;
  let shortRun = false;
  while (pos <= last) {
    if (bit(pos)) {
      values++;
      pos++;
      shortRun = false;
    } else {
      let r = 0;
      for (let k = 1; k <= 4; k++) r = (r << 1) | bit(pos + k);
      values += r + 1;
      pos += 5;
      shortRun = r + 1 < EBPC_MAX_ZERO_RUN;
    }
  }
  // Each reading must fill the stream to its last word, as the encoder does.
  const exact = paddedStreamBytes(pos, wordBits) === znz.length;
  const oneMore = !shortRun && pos + 5 <= total && paddedStreamBytes(pos + 5, wordBits) === znz.length;
  if (oneMore && !exact) return { min: values + 1, max: values + 1 };
  // Neither fits (zero bytes after the last word): the decoder reports that as corruption.
  return { min: values, max: values + (exact && oneMore ? 1 : 0) };
}

/**
 * Decodes `count` values from the two EBPC streams. Returns `out` (allocated
 * when not given; it must hold exactly count·W/8 bytes). Throws CodecError
 * E_TRUNCATED when a stream ends early and E_CORRUPT for anything the encoder
 * cannot have produced, including trailing bytes and non-zero padding.
 */
export function decodeEbpcStreams(
  znz: Uint8Array,
  bpc: Uint8Array,
  count: number,
  wordBits: 8 | 16,
  blockSize: 8 | 16,
  out?: Uint8Array,
): Uint8Array {
  checkEbpcParams(wordBits, blockSize);
  if (!Number.isInteger(count) || count < 0 || count > EBPC_MAX_COUNT) {
    throw badArgument(`EBPC value count must be a whole number from 0 to ${EBPC_MAX_COUNT}, got ${count}`);
  }
  const bytes = count * (wordBits >>> 3);
  const dst = out ?? new Uint8Array(bytes);
  if (dst.length !== bytes) throw badArgument(`output buffer holds ${dst.length} bytes, ${count} values need ${bytes}`);
  try {
    decodeEbpcInto(znz, 0, znz.length, bpc, 0, bpc.length, count, wordBits, blockSize, dst);
  } catch (e) {
    // The count is not in the streams. Streams that decode whole under the
    // count their ZNZ symbols hold were given the wrong count: say so, rather
    // than "padding corruption" or "stream ended early".
    if (!(e instanceof CodecError) || (e.code !== 'E_CORRUPT' && e.code !== 'E_TRUNCATED')) throw e;
    const holds = ebpcStreamValueCounts(znz, wordBits);
    for (const c of [holds.min, holds.max]) {
      if (c === count || c > EBPC_MAX_COUNT) continue;
      try {
        decodeEbpcInto(znz, 0, znz.length, bpc, 0, bpc.length, c, wordBits, blockSize, new Uint8Array(c * (wordBits >>> 3)));
      } catch {
        continue;
      }
      const other = holds.max > holds.min ? ` (or ${c === holds.min ? holds.max : holds.min}: a last zero value cannot be told from the padding)` : '';
      throw new CodecError('E_COUNT_MISMATCH', `the value count ${count} disagrees with the streams: the ZNZ stream holds ${c} values${other}, ${count < c ? 'more' : 'fewer'} than ${count}`);
    }
    throw e;
  }
  return dst;
}
