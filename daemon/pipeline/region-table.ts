import { ProtocolError } from '../../protocol/protocol-error.ts';
import type { Region } from './region.ts';

/**
 * The declared regions, sorted by base address for O(log n) lookup. Regions
 * are global to the daemon (it is one memory), shared by all connections.
 */
export class RegionTable {
  private sorted: Region[] = [];
  private readonly byName = new Map<string, Region>();

  get size(): number {
    return this.sorted.length;
  }

  all(): readonly Region[] {
    return this.sorted;
  }

  named(name: string): Region | undefined {
    return this.byName.get(name);
  }

  add(r: Region): void {
    if (this.byName.has(r.name)) throw new ProtocolError('E_REGION_EXISTS', `a region named "${r.name}" exists already`);
    const i = this.firstEndingAfter(r.base);
    const next = this.sorted[i];
    if (next && next.base < r.end) {
      throw new ProtocolError('E_REGION_OVERLAP', `region "${r.name}" [${r.base}, ${r.end}) overlaps region "${next.name}" [${next.base}, ${next.end})`);
    }
    this.sorted.splice(i, 0, r);
    this.byName.set(r.name, r);
  }

  remove(r: Region): void {
    this.byName.delete(r.name);
    const i = this.sorted.indexOf(r);
    if (i >= 0) this.sorted.splice(i, 1);
  }

  /**
   * The one region holding [addr, addr + len). Errors say whether the range
   * starts outside every region or runs from one region into another.
   */
  lookup(addr: number, len: number): Region {
    const end = addr + len;
    const i = this.firstEndingAfter(addr);
    const r = this.sorted[i];
    if (!r || r.base > addr) throw new ProtocolError('E_OUT_OF_REGION', `address ${addr} is not inside any region`);
    if (end > r.end) {
      const next = this.sorted[i + 1];
      if (next && next.base < end) {
        throw new ProtocolError('E_CROSS_REGION', `[${addr}, ${end}) runs from region "${r.name}" into region "${next.name}"`);
      }
      throw new ProtocolError('E_OUT_OF_REGION', `[${addr}, ${end}) runs past the end of region "${r.name}" (${r.end})`);
    }
    return r;
  }

  /** The one region holding [addr, addr + len), or undefined (lookup says why). */
  find(addr: number, len: number): Region | undefined {
    const r = this.sorted[this.firstEndingAfter(addr)];
    return r && r.base <= addr && addr + len <= r.end ? r : undefined;
  }

  /** Index of the first region whose end is above addr. */
  private firstEndingAfter(addr: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid].end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
