import type { Engine } from './engine.ts';
import { RANS_L } from '../apack/rans.ts';
import { decodeAdaptive, decodeAdaptiveJs, encodeAdaptive, encodeAdaptiveJs } from './range.ts';
import { decodeStatic, encodeStatic } from './rans.ts';
import { WASM_OK, wasmDecoder, wasmError, wasmFits, wasmTakes } from './wasm/instance.ts';

/**
 * The SCC block coder: one block with one configuration. Static tables go
 * through rANS (rans.ts: a division-free decoder, as APack), adaptive tables
 * through a range coder (range.ts: their total varies from value to value).
 * Both put the raw offset bits, reversed, at the block end and keep the top
 * bit of the first byte for the configuration-select bit of a switched
 * tensor.
 *
 * Decoding goes through the wasm decoders (../wasm/assembly/scc.ts: bit-identical,
 * several times faster) where the runtime has WebAssembly SIMD; range.ts and
 * rans.ts stay the reference and the fallback.
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
  else decodeStaticFast(e, cc, src, out, select);
}

/** encodeBlockWith through the JS reference coders alone (tests, `bench speed`). */
export function encodeBlockJs(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number {
  return e.adaptive ? encodeAdaptiveJs(e, cc, src, out, select) : encodeStatic(e, cc, src, out, select);
}

/** decodeBlockWith through the JS reference coders alone (tests, `bench speed`). */
export function decodeBlockJs(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): void {
  if (e.adaptive) decodeAdaptiveJs(e, cc, src, out, select);
  else decodeStatic(e, cc, src, out, select);
}

const wasm = wasmDecoder;

/**
 * A static block through the wasm decoder when it can take it; anything the
 * reference rejects before its loop (length, state, select bit) or that does
 * not fit the wasm buffers goes to rans.ts, which throws the same errors.
 */
function decodeStaticFast(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): void {
  const n = out.length;
  const len = src.length;
  if (wasm === null || n === 0 || len < 4 || !wasmTakes(len, n) || (select < 0 && src[0] >= 0x80) || !wasmFits(e)) {
    decodeStatic(e, cc, src, out, select);
    return;
  }
  const x0 = ((src[0] & 0x7f) << 24) | (src[1] << 16) | (src[2] << 8) | src[3];
  if (x0 < RANS_L) {
    decodeStatic(e, cc, src, out, select);
    return;
  }
  const rc = wasm.static(e, cc, src, out, x0);
  if (rc !== WASM_OK) throw wasmError(rc, wasm.detail());
}

/** The select bit of a switched block: the top bit of its first byte. */
export function decodeSelect(src: Uint8Array): number {
  return src.length > 0 ? src[0] >> 7 : 0;
}
