import { corrupt, truncated } from './errors.ts';

/** Unsigned LEB128 up to 2^53 - 1 (safe integers). Returns the new position. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buf[pos++] = value;
  return pos;
}

export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/**
 * Reads one varint from `buf` at `pos` (and never past `end`). Rejects values
 * above `max` and encodings longer than needed for a safe integer.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number, max: number, what: string): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) throw truncated(`input ended inside ${what}`);
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (value > max) throw corrupt(`${what} is ${value}, above the limit of ${max}`);
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 0x80;
  }
  throw corrupt(`${what} is not a valid varint`);
}
