import { corrupt } from '../errors.ts';
import { encodeBlock as encodeIndices, maxBlockBytes } from './coder.ts';
import type { Engine } from './engine.ts';

/**
 * fpack's palette mode (docs/float.md): a tensor with at most 256 distinct
 * bit patterns (dequantised 8-bit codes, in any float dtype) is coded as the
 * index of each value in its header's palette. The index bytes go through
 * whole mode's block coder unchanged (the engine is a whole-mode engine over
 * bytes whose context classes are ranges of the neighbours' indices), then
 * one table lookup maps an index back to its value.
 *
 * For 8-bit dtypes, indices K ... 255 stand for the bytes the palette does
 * not list, in increasing order: every byte is codable. For 16-bit ones, a
 * block holding a value outside the palette (the daemon fits a region on
 * its first 64 KiB) is written as a literal block: a 0x00 byte, then the raw
 * bytes. It is one byte longer than raw, so the container and the daemon
 * store that block raw; the decoder still reads it, so no value is ever
 * lost. A coded block never starts with 0x00 (its varint rANS length is at
 * least 4).
 */

/** The first byte of a literal block. */
const LITERAL = 0x00;

/** value -> index + 1 (0: not in the palette), over all 2^16 bit patterns. */
export function paletteIndex(palette: readonly number[]): Uint16Array {
  const at = new Uint16Array(65536);
  palette.forEach((v, i) => (at[v] = i + 1));
  return at;
}

let indices = new Uint8Array(2048);

function scratch(n: number): Uint8Array {
  if (indices.length < n) indices = new Uint8Array(n);
  return indices.subarray(0, n);
}

export function maxPaletteBlockBytes(e: Engine, rawBytes: number, wide: boolean): number {
  return Math.max(maxBlockBytes(e, wide ? rawBytes >> 1 : rawBytes), rawBytes + 1);
}

/** Encodes 8-bit or 16-bit little-endian values (src.length even for 16-bit, checked by the caller). */
export function encodePaletteBlock(e: Engine, at: Uint16Array, wide: boolean, src: Uint8Array, out: Uint8Array): number {
  const n = wide ? src.length >> 1 : src.length;
  if (n === 0) return 0;
  const idx = scratch(n);
  for (let i = 0; i < n; i++) {
    const k = at[wide ? src[2 * i] | (src[2 * i + 1] << 8) : src[i]];
    if (k === 0) {
      out[0] = LITERAL;
      out.set(src, 1);
      return src.length + 1;
    }
    idx[i] = k - 1;
  }
  return encodeIndices(e, idx, out);
}

/** Decodes a palette block: `decodeIndices` is whole mode's block decoder (wasm or JS) for the index engine. */
export function decodePaletteBlock(
  e: Engine,
  palette: Uint16Array,
  wide: boolean,
  decodeIndices: (e: Engine, src: Uint8Array, out: Uint8Array) => void,
  src: Uint8Array,
  out: Uint8Array,
): void {
  if (wide && (out.length & 1) !== 0) throw corrupt(`fpack block of ${out.length} bytes is not a whole number of 16-bit values`);
  const n = wide ? out.length >> 1 : out.length;
  if (n > 0 && src.length > 0 && src[0] === LITERAL) {
    if (src.length !== out.length + 1) throw corrupt(`fpack literal block of ${src.length} bytes for ${out.length} raw bytes`);
    out.set(src.subarray(1));
    return;
  }
  const idx = scratch(n);
  decodeIndices(e, src, idx);
  const K = palette.length;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >= K) throw corrupt(`fpack palette index ${k} is outside the palette of ${K} entries`);
    const v = palette[k];
    if (wide) {
      out[2 * i] = v;
      out[2 * i + 1] = v >> 8;
    } else out[i] = v;
  }
}
