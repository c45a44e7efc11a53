import type { BlockPut, BlockRef, MemoryBackend, StoredRegion } from './backend.ts';
import { SlabStore } from './slab-store.ts';

/**
 * The embedded backend: blocks in this process, each region a Map from block
 * number to a handle in a SlabStore. Blocks are copied into slab slots on put
 * (never one ArrayBuffer per block: see slab-store.ts for why) and copied out
 * on get, so what getMany returns stays valid whatever is put afterwards.
 */
export class InMemoryBackend implements MemoryBackend {
  readonly name = 'memory';
  private readonly regions = new Map<number, Map<number, number>>();
  private store = new SlabStore();
  private held = 0;
  private blocks = 0;

  getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(refs.length);
    for (let i = 0; i < refs.length; i++) {
      const h = this.regions.get(refs[i].region)?.get(refs[i].index);
      out[i] = h === undefined ? undefined : this.store.get(h);
    }
    return Promise.resolve(out);
  }

  putMany(puts: readonly BlockPut[]): Promise<void> {
    for (const p of puts) {
      let m = this.regions.get(p.ref.region);
      if (!m) {
        m = new Map();
        this.regions.set(p.ref.region, m);
      }
      const old = m.get(p.ref.index);
      if (old !== undefined) this.held -= this.store.free(old);
      else this.blocks++;
      m.set(p.ref.index, this.store.put(p.bytes));
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
      for (const h of m.values()) this.held -= this.store.free(h);
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

  /** Bytes of slabs and buffers the store has allocated (held bytes plus slot rounding and free slots). */
  bytesAllocated(): number {
    return this.store.allocatedBytes();
  }

  close(): Promise<void> {
    this.regions.clear();
    this.store = new SlabStore();
    this.held = 0;
    this.blocks = 0;
    return Promise.resolve();
  }
}
