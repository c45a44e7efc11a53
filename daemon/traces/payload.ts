import type { RegionKind, TraceDtype } from './format.ts';

/**
 * Where the bytes of an imported trace come from. Simulator traces carry
 * addresses only, so every region is bound to a payload: a data set tensor or
 * a synthetic distribution. A bound payload is a pure function of the offset
 * in the region, so a read's expected bytes are known without remembering
 * what was written.
 */
export interface BoundPayload {
  readonly dtype: TraceDtype;
  /** What backs the region, for the trace header (`tensor FILE`, `relu:sparsity=0.5`). */
  readonly origin: string;
  /** Fill `out` with the region's bytes at [offset, offset + out.length). */
  fill(out: Uint8Array, offset: number): void;
}

export interface PayloadSource {
  /** Human description for the trace header. */
  readonly description: string;
  /** Bind the `index`-th region (0-based, in address order) of a kind. */
  bind(kind: RegionKind, index: number): BoundPayload;
}
