import type { BlockPut, BlockRef, MemoryBackend, StoredRegion } from './backend.ts';

/**
 * The embedded backend: blocks in a Map per region, in this process. Blocks
 * are copied on put into exact-size buffers so a stored block never pins the
 * (much larger) lane result buffer it arrived in.
 */
export class InMemoryBackend implements MemoryBackend {
  readonly name = 'memory';
  private readonly regions = new Map<number, Map<number, Uint8Array>>();
  private held = 0;
  private blocks = 0;

  getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    return Promise.resolve(refs.map((r) => this.regions.get(r.region)?.get(r.index)));
  }

  putMany(puts: readonly BlockPut[]): Promise<void> {
    for (const p of puts) {
      let m = this.regions.get(p.ref.region);
      if (!m) {
        m = new Map();
        this.regions.set(p.ref.region, m);
      }
      const old = m.get(p.ref.index);
      if (old) this.held -= old.length;
      else this.blocks++;
      m.set(p.ref.index, p.bytes.slice());
      this.held += p.bytes.length;
    }
    return Promise.resolve();
  }

  /** Nothing outlives this process, so declarations need not be kept. */
  putRegion(): Promise<void> {
    return Promise.resolve();
  }

  listRegions(): StoredRegion[] {
    return [];
  }

  deleteRegion(region: number): Promise<void> {
    const m = this.regions.get(region);
    if (m) {
      for (const b of m.values()) this.held -= b.length;
      this.blocks -= m.size;
      this.regions.delete(region);
    }
    return Promise.resolve();
  }

  bytesHeld(): number {
    return this.held;
  }

  blocksHeld(): number {
    return this.blocks;
  }

  close(): Promise<void> {
    this.regions.clear();
    this.held = 0;
    this.blocks = 0;
    return Promise.resolve();
  }
}
