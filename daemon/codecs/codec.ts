import type { Dtype } from './dtype.ts';

/** Codec names as they appear on the command line, in the protocol and in metrics labels. */
export const CODEC_NAMES = ['apack', 'ebpc', 'zvc', 'raw', 'scc', 'fpack'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** Codec-specific knobs. Each codec reads only its own and ignores the rest. */
export interface CodecOptions {
  /** EBPC bit-plane block size N (values per BPC block). Default 8. */
  readonly ebpcBlockSize?: 8 | 16;
  /** APack table search: 'optimal' (exact DP, default) or 'heuristic' (the paper's coordinate descent). */
  readonly apackSearch?: 'optimal' | 'heuristic';
  /**
   * Context codecs (SCC): the distance in values to the same channel of the
   * previous pixel (C for NHWC activations, O for HWIO weights, C·M for HWCM);
   * see stride.ts. An integer 1 ... 65535.
   */
  readonly stride?: number;
  /** What the tensor holds: context codecs choose their configurations by it. */
  readonly kind?: 'weight' | 'activation' | 'other';
  /**
   * fpack: 'split' codes the exponent and sign + mantissa as two symbols;
   * for 8-bit floats 'whole' codes the byte as one, 'delta' its difference
   * to the neighbour x[i-S]; for a tensor of at most 256 distinct values
   * 'palette' codes each value's index in a list of them;
   * 'auto' (default) keeps the smallest.
   */
  readonly fpackMode?: 'auto' | 'split' | 'whole' | 'delta' | 'palette';
}

/**
 * A codec bound to one tensor: its dtype and its per-tensor parameters
 * (APack's table, EBPC's block size, nothing for raw/ZVC). Blocks are coded
 * independently, so any block decodes on its own (random access).
 *
 * Contract for every model:
 * - `encodeBlock(src, out)` writes the coded block into `out` (which has room for
 *   `maxEncodedBytes(src.length)` bytes) and returns the number of bytes written.
 *   It never decides on a raw fallback: the caller (container, daemon) does that.
 * - `decodeBlock(src, out)` fills `out` exactly; `out.length` is the raw block
 *   length, which the caller knows from its own metadata. A stream that does not
 *   decode to exactly that throws a CodecError (never hangs, never reads out of range).
 * - Both are pure: no I/O, no state kept between calls.
 */
export interface CodecModel {
  readonly codec: CodecName;
  readonly dtype: Dtype;
  /** Serialised parameters, stored once per tensor. Empty when the codec has none. */
  readonly params: Uint8Array;
  maxEncodedBytes(rawBytes: number): number;
  encodeBlock(src: Uint8Array, out: Uint8Array): number;
  decodeBlock(src: Uint8Array, out: Uint8Array): void;
  /** Human-readable description of the parameters, for `shimpack inspect`. */
  describe(): string;
}

export interface Codec {
  readonly name: CodecName;
  /** Stable one-byte id in containers (never renumber). */
  readonly id: number;
  readonly dtypes: readonly Dtype[];
  /** A model fitted to this tensor's bytes (APack builds its table from their histogram). */
  fit(data: Uint8Array, dtype: Dtype, options?: CodecOptions): CodecModel;
  /** A model from stored parameters; throws CodecError on malformed parameters. */
  load(params: Uint8Array, dtype: Dtype): CodecModel;
}
