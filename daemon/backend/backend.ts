/**
 * Where stored blocks live. The pipeline only ever talks to this interface,
 * so a persistent (file) backend or a shared one (Redis) plugs in without
 * touching it. Calls are batched (one call per lane batch, not per block) and
 * asynchronous, because a remote store answers per round trip.
 *
 * A stored block is opaque bytes to the backend: the pipeline's own header
 * byte (coded or raw) followed by the payload.
 */
export interface BlockRef {
  /** Daemon-unique region id (never reused while the daemon runs). */
  readonly region: number;
  /** Block number inside the region. */
  readonly index: number;
}

export interface BlockPut {
  readonly ref: BlockRef;
  /** May be a view into a larger buffer: a backend that keeps it must copy. */
  readonly bytes: Uint8Array;
}

/** A region the backend holds from an earlier run: its metadata and the blocks it has. */
export interface StoredRegion {
  readonly id: number;
  /** What the daemon gave putRegion (opaque to the backend). */
  readonly meta: Uint8Array;
  /** Held blocks: stored length (header included) and the stored mode byte. */
  readonly blocks: readonly { readonly index: number; readonly storedLen: number; readonly mode: number }[];
}

export interface MemoryBackend {
  readonly name: string;
  /** The stored bytes of each block, or undefined for a block never written. */
  getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]>;
  /** Store blocks; resolves once every later getMany sees them. */
  putMany(puts: readonly BlockPut[]): Promise<void>;
  /**
   * Record a region's declaration (name, address, codec, parameters, ...),
   * replacing an earlier one. A persistent backend keeps it ahead of the
   * region's blocks, so after a restart every block it returns has its region.
   */
  putRegion(region: number, meta: Uint8Array): Promise<void>;
  /** Regions held from an earlier run (empty for a fresh or volatile store). */
  listRegions(): StoredRegion[];
  /** Drop every block of a region, and its declaration. */
  deleteRegion(region: number): Promise<void>;
  /** Bytes currently held (stored block bytes, not counting the store's own overhead). */
  bytesHeld(): number;
  /** Memory the store has allocated for what it holds, overhead included, when it can tell. */
  bytesAllocated?(): number | undefined;
  blocksHeld(): number;
  close(): Promise<void>;
}
