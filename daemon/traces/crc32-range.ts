/**
 * CRC-32 (IEEE 802.3, the polynomial and result of node:zlib's crc32) of
 * bytes[from, from + len), four bytes per step through four tables.
 *
 * Why not zlib's: the replay checks every read of a `readv` answer on its
 * own, tens of thousands of 64-byte ranges of one buffer in a cold process.
 * zlib's crc32 takes a whole view, so each range cost a view object (young
 * garbage) and a call into C++; this loop takes the range as numbers and,
 * cold, checks 2048 × 64-byte ranges in about half the time (docs/daemon.md).
 */

/** T[k * 256 + b]: the CRC of byte b followed by k zero bytes (slicing by 4). */
const T = new Int32Array(4 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[b] = c;
}
for (let k = 1; k < 4; k++) {
  for (let b = 0; b < 256; b++) {
    const prev = T[(k - 1) * 256 + b];
    T[k * 256 + b] = (prev >>> 8) ^ T[prev & 0xff];
  }
}

export function crc32Range(bytes: Uint8Array, from: number, len: number): number {
  let c = -1;
  let i = from;
  const end = from + len;
  for (; i + 4 <= end; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = T[768 + (c & 0xff)] ^ T[512 + ((c >>> 8) & 0xff)] ^ T[256 + ((c >>> 16) & 0xff)] ^ T[c >>> 24];
  }
  for (; i < end; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
