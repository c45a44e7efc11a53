import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';

/**
 * Node's general-purpose compressors applied the way a shim would have to:
 * every block on its own (no shared window), and a block that would grow is
 * counted at its raw size. No framing or index is added, which flatters them
 * slightly next to shimpack's containers (whose index is counted).
 */
export function zlibBlockedBytes(data: Uint8Array, blockSize: number, level: number): number {
  let total = 0;
  for (let off = 0; off < data.length; off += blockSize) {
    const blk = data.subarray(off, Math.min(data.length, off + blockSize));
    total += Math.min(blk.length, deflateRawSync(blk, { level }).length);
  }
  return total;
}

export function brotliBlockedBytes(data: Uint8Array, blockSize: number, quality: number): number {
  let total = 0;
  for (let off = 0; off < data.length; off += blockSize) {
    const blk = data.subarray(off, Math.min(data.length, off + blockSize));
    const out = brotliCompressSync(blk, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: quality,
        [constants.BROTLI_PARAM_SIZE_HINT]: blk.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_GENERIC,
      },
    });
    total += Math.min(blk.length, out.length);
  }
  return total;
}
