import type { Engine } from './engine.ts';
import { decodeAdaptive, encodeAdaptive } from './range.ts';
import { decodeStatic, encodeStatic } from './rans.ts';

/**
 * The SCC block coder: one block with one configuration. Static tables go
 * through rANS (rans.ts: a division-free decoder, as APack), adaptive tables
 * through a range coder (range.ts: their total varies from value to value).
 * Both put the raw offset bits, reversed, at the block end and keep the top
 * bit of the first byte for the configuration-select bit of a switched
 * tensor.
 */

/** No select bit (single-configuration tensor). */
export const NO_SELECT = -1;

/** Upper bound of one coded block of `values` values. */
export function maxBlockBytes(e: Engine, values: number): number {
  return Math.ceil((values * e.maxBitsPerValue) / 8) + 16;
}

/** Encode `src` into `out` (room for maxBlockBytes); `cc` is the channel class per block position. */
export function encodeBlockWith(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number {
  return e.adaptive ? encodeAdaptive(e, cc, src, out, select) : encodeStatic(e, cc, src, out, select);
}

/** Decode exactly out.length values; throws CodecError on any inconsistency, never reads out of range. */
export function decodeBlockWith(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): void {
  if (e.adaptive) decodeAdaptive(e, cc, src, out, select);
  else decodeStatic(e, cc, src, out, select);
}

/** The select bit of a switched block: the top bit of its first byte. */
export function decodeSelect(src: Uint8Array): number {
  return src.length > 0 ? src[0] >> 7 : 0;
}
