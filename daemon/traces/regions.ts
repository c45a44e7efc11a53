import { TraceError } from './errors.ts';
import { MAX_ADDRESS, type RegionKind } from './format.ts';

/**
 * How an imported trace gets regions covering every address it touches.
 *
 * - Operand regions (SCALE-Sim): requests tagged with an operand (`layer0/ifmap`)
 *   get one region per operand spanning [lowest address, highest end), widened
 *   to `align` bytes (4 KiB) on both sides; the operand's kind says weight or
 *   activation.
 * - Window regions (every other format): the address space is cut into aligned
 *   windows of `window` bytes (default 1 MiB); each window a request touches is
 *   kept, and runs of adjacent kept windows become one region named after its
 *   base (`0x20000000`), of the importer's default kind.
 * Regions that would overlap (two operands sharing addresses, as consecutive
 * SCALE-Sim layers do) are merged into one region named `a+b`, keeping the kind
 * of the first.
 */
export interface PlannedRegion {
  name: string;
  base: number;
  size: number;
  kind: RegionKind;
}

export interface RegionPlanOptions {
  readonly window: number;
  readonly align: number;
  readonly defaultKind: RegionKind;
}

export class RegionPlanner {
  private readonly windows = new Set<number>();
  private readonly operands = new Map<string, { lo: number; hi: number; kind: RegionKind }>();
  constructor(private readonly opts: RegionPlanOptions) {
    for (const v of [opts.window, opts.align]) {
      if (!Number.isInteger(v) || v <= 0 || (v & (v - 1)) !== 0) throw new TraceError('E_IMPORT_INPUT', `region window and alignment must be powers of two, got ${v}`);
    }
  }

  add(addr: number, len: number, operand?: string, kind?: RegionKind): void {
    if (addr + len > MAX_ADDRESS) throw new TraceError('E_IMPORT_INPUT', `address 0x${addr.toString(16)} + ${len} is beyond 2^48`);
    if (operand !== undefined) {
      const o = this.operands.get(operand);
      if (o) {
        if (addr < o.lo) o.lo = addr;
        if (addr + len > o.hi) o.hi = addr + len;
      } else {
        this.operands.set(operand, { lo: addr, hi: addr + len, kind: kind ?? this.opts.defaultKind });
      }
      return;
    }
    const first = Math.floor(addr / this.opts.window);
    const last = Math.floor((addr + len - 1) / this.opts.window);
    for (let w = first; w <= last; w++) this.windows.add(w);
  }

  /** The regions, sorted by base, disjoint. */
  plan(): PlannedRegion[] {
    const { window, align, defaultKind } = this.opts;
    const raw: PlannedRegion[] = [];
    for (const [name, o] of this.operands) {
      const base = Math.floor(o.lo / align) * align;
      const end = Math.min(MAX_ADDRESS, Math.ceil(o.hi / align) * align);
      raw.push({ name, base, size: end - base, kind: o.kind });
    }
    const ws = [...this.windows].sort((a, b) => a - b);
    for (let i = 0; i < ws.length; ) {
      let j = i;
      while (j + 1 < ws.length && ws[j + 1] === ws[j] + 1) j++;
      const base = ws[i] * window;
      raw.push({ name: `0x${base.toString(16)}`, base, size: (ws[j] - ws[i] + 1) * window, kind: defaultKind });
      i = j + 1;
    }
    raw.sort((a, b) => a.base - b.base);
    const merged: PlannedRegion[] = [];
    for (const r of raw) {
      const prev = merged[merged.length - 1];
      if (prev && r.base < prev.base + prev.size) {
        const end = Math.max(prev.base + prev.size, r.base + r.size);
        prev.name = `${prev.name}+${r.name}`;
        prev.size = end - prev.base;
      } else {
        merged.push({ ...r });
      }
    }
    return merged;
  }
}

/** Binary search: the region containing addr (regions sorted and disjoint). */
export function findRegion<R extends { base: number; size: number }>(regions: readonly R[], addr: number): R | undefined {
  let lo = 0;
  let hi = regions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = regions[mid];
    if (addr < r.base) hi = mid - 1;
    else if (addr >= r.base + r.size) lo = mid + 1;
    else return r;
  }
  return undefined;
}
