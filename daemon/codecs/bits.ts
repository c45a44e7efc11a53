import { truncated } from './errors.ts';

/**
 * MSB-first bit packing into a caller-provided byte buffer. The accumulator
 * holds at most 31 pending bits, so `write` takes at most 24 bits per call.
 */
export class BitWriter {
  private acc = 0;
  private nacc = 0;
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }
  /** Append the low `n` bits of `value` (n ≤ 24), most significant first. */
  write(value: number, n: number): void {
    this.acc = ((this.acc << n) | (value & ((1 << n) - 1))) >>> 0;
    this.nacc += n;
    while (this.nacc >= 8) {
      this.nacc -= 8;
      this.buf[this.pos++] = (this.acc >>> this.nacc) & 0xff;
    }
    this.acc &= (1 << this.nacc) - 1;
  }
  /** Flush the last partial byte, zero-padded. Returns the end position. */
  finish(): number {
    if (this.nacc > 0) {
      this.buf[this.pos++] = (this.acc << (8 - this.nacc)) & 0xff;
      this.acc = 0;
      this.nacc = 0;
    }
    return this.pos;
  }
  /** Bits written so far, counted from `start`. */
  bitLength(start = 0): number {
    return (this.pos - start) * 8 + this.nacc;
  }
}

/** MSB-first bit reader over `buf[start, end)`. Reading past `end` throws E_TRUNCATED. */
export class BitReader {
  private bitPos: number;
  private readonly endBit: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.bitPos = start * 8;
    this.endBit = end * 8;
  }
  /** Read `n` bits (n ≤ 24) as an unsigned number. */
  read(n: number): number {
    if (this.bitPos + n > this.endBit) throw truncated('bit stream ended early');
    let v = 0;
    let p = this.bitPos;
    for (let left = n; left > 0; ) {
      const byte = this.buf[p >>> 3];
      const bitInByte = p & 7;
      const take = Math.min(8 - bitInByte, left);
      v = (v << take) | ((byte >>> (8 - bitInByte - take)) & ((1 << take) - 1));
      p += take;
      left -= take;
    }
    this.bitPos = p;
    return v >>> 0;
  }
  get bitsLeft(): number {
    return this.endBit - this.bitPos;
  }
  get position(): number {
    return this.bitPos;
  }
}
