/**
 * The controller's cache of block metadata (a compressed block's size in
 * bursts and its mode), for counting only: a real controller must read a
 * block's entry before it can fetch the block, and write it when the block's
 * stored size changes. Entries are `METADATA_ENTRY_BYTES` each, packed into
 * lines of one burst; a line missing from the cache costs one read burst,
 * and a dirty line leaving it one write burst. LRU over lines.
 */
export const METADATA_ENTRY_BYTES = 2;

export interface MetadataCost {
  /** Read bursts (line fetched on a miss) and write bursts (a dirty line evicted) this access caused. */
  readBursts: number;
  writeBursts: number;
  miss: boolean;
  /** With writeBursts: the region and line of the dirty line evicted (for the DRAM trace export's address). */
  evictedRegion: number;
  evictedLine: number;
}

export class MetadataCache {
  /** Cached lines by key, in LRU order (oldest first); the value is the dirty flag. */
  private readonly lines = new Map<number, boolean>();
  private readonly capacity: number;
  readonly entriesPerLine: number;
  /** Reused result: one access at a time, no allocation per access. */
  private readonly cost: MetadataCost = { readBursts: 0, writeBursts: 0, miss: false, evictedRegion: -1, evictedLine: -1 };

  constructor(cacheBytes: number, burstBytes: number) {
    this.entriesPerLine = Math.max(1, Math.floor(burstBytes / METADATA_ENTRY_BYTES));
    this.capacity = Math.floor(cacheBytes / burstBytes);
  }

  /**
   * Look up (write: update) the entry of block `index` of region `region`.
   * Regions keep their own metadata lines, as their blocks do.
   */
  access(region: number, index: number, write: boolean): MetadataCost {
    const c = this.cost;
    c.readBursts = c.writeBursts = 0;
    const key = region * 2 ** 32 + Math.floor(index / this.entriesPerLine);
    const dirty = this.lines.get(key);
    if (dirty !== undefined) {
      c.miss = false;
      this.lines.delete(key);
      this.lines.set(key, dirty || write);
      return c;
    }
    c.miss = true;
    // With no cache every access goes to DRAM: a lookup reads the line, an update writes it (read-modify-write).
    c.readBursts = 1;
    if (this.capacity === 0) {
      if (write) {
        c.writeBursts = 1;
        c.evictedRegion = region;
        c.evictedLine = Math.floor(index / this.entriesPerLine);
      }
      return c;
    }
    if (this.lines.size >= this.capacity) {
      const [oldKey, oldDirty] = this.lines.entries().next().value as [number, boolean];
      this.lines.delete(oldKey);
      if (oldDirty) {
        c.writeBursts = 1;
        c.evictedRegion = Math.floor(oldKey / 2 ** 32);
        c.evictedLine = oldKey % 2 ** 32;
      }
    }
    this.lines.set(key, write);
    return c;
  }

  /** Write back every dirty line (of one region, or all): one call per line written. */
  clean(onLine: (region: number, line: number) => void, region?: number): void {
    for (const [key, dirty] of this.lines) {
      if (!dirty) continue;
      const r = Math.floor(key / 2 ** 32);
      if (region !== undefined && r !== region) continue;
      this.lines.set(key, false);
      onLine(r, key % 2 ** 32);
    }
  }

  /** Forget a freed region's lines (their contents are dead). */
  drop(region: number): void {
    for (const key of [...this.lines.keys()]) if (Math.floor(key / 2 ** 32) === region) this.lines.delete(key);
  }
}
