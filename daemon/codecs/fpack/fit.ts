import { optimalCounts, optimalPartitions } from '../apack/table.ts';
import type { FloatDtype } from '../dtype.ts';
import { COUNT_TOTAL, MAX_CLASSES, MAX_GROUPS, fieldPlan, tableBits, type FieldPlan, type FpackMode, type FpackParams, type GroupTable } from './params.ts';

/**
 * Fitting an fpack header to a tensor. Everything is chosen by the bits it
 * costs, tables and header included:
 * - a symbol's partition into at most 16 contiguous groups is APack's exact
 *   dynamic program (apack/table.ts), its counts the optimal integer counts;
 * - context classes are contiguous ranges of the exponent axis, found by an
 *   exact dynamic program on the conditional entropy they leave, for every
 *   class count 1 ... 16; the count that codes smallest with its tables wins;
 * - the neighbour distance (the stride S, 1 or none) and, for 8-bit floats,
 *   the mode (split or whole) are tried and the smallest kept.
 */

export interface FitOptions {
  readonly stride?: number;
  readonly mode?: FpackMode | 'auto';
}

/** Block size the fit assumes for the first positions of a block, which have no neighbour (the design's 4 KiB). */
export const FIT_BLOCK_BYTES = 4096;

const LOG2_TOTAL = Math.log2(COUNT_TOTAL);
const offsetLength = (size: number): number => (size <= 1 ? 0 : 32 - Math.clz32(size - 1));

/** Values of the tensor as bit patterns (little-endian for 16-bit). */
function valuesOf(data: Uint8Array, plan: FieldPlan): Uint16Array {
  if (plan.bits === 8) return Uint16Array.from(data);
  const n = data.length >> 1;
  const v = new Uint16Array(n);
  for (let i = 0; i < n; i++) v[i] = data[2 * i] | (data[2 * i + 1] << 8);
  return v;
}

/** n * H over a count vector, in bits. */
function entropyCost(h: ArrayLike<number>, from = 0, to = h.length): number {
  let n = 0;
  for (let i = from; i < to; i++) n += h[i];
  if (n === 0) return 0;
  let bits = 0;
  for (let i = from; i < to; i++) if (h[i] > 0) bits -= h[i] * Math.log2(h[i] / n);
  return bits;
}

/**
 * The best partition of a histogram into at most 16 groups, scored with
 * its optimal integer counts and its header bits (one count row).
 */
export function bestPartition(hist: Float64Array): number[] {
  const space = hist.length;
  let total = 0;
  for (let i = 0; i < space; i++) total += hist[i];
  if (total === 0) return [0, space];
  let best: number[] = [0, space];
  let bestBits = Infinity;
  for (const { vmin } of optimalPartitions(hist, MAX_GROUPS, 'real')) {
    const mass: number[] = [];
    const sizes: number[] = [];
    for (let g = 0; g + 1 < vmin.length; g++) {
      let m = 0;
      for (let v = vmin[g]; v < vmin[g + 1]; v++) m += hist[v];
      mass.push(m);
      sizes.push(vmin[g + 1] - vmin[g]);
    }
    const q = optimalCounts(mass, sizes);
    let bits = tableBits({ vmin, counts: [q] }, space);
    for (let g = 0; g < mass.length; g++) if (mass[g] > 0) bits += mass[g] * (offsetLength(sizes[g]) + LOG2_TOTAL - Math.log2(q[g]));
    if (bits < bestBits) {
      bestBits = bits;
      best = vmin;
    }
  }
  return best;
}

/** Counts and coded bits of one class's group masses under a partition. */
function rowFor(vmin: readonly number[], mass: readonly number[]): { counts: number[]; bits: number } {
  const sizes = mass.map((_, g) => vmin[g + 1] - vmin[g]);
  const counts = optimalCounts(mass, sizes);
  let bits = 0;
  for (let g = 0; g < mass.length; g++) if (mass[g] > 0) bits += mass[g] * (offsetLength(sizes[g]) + LOG2_TOTAL - Math.log2(counts[g]));
  return { counts, bits };
}

/**
 * Exact contiguous clustering of an axis of `points` positions into k
 * classes for every k = 1 ... kMax: cost(lo, hi) is what a class covering
 * positions [lo, hi) costs. Returns the bounds per k (index k - 1).
 */
function clusterAxis(points: number, kMax: number, cost: (lo: number, hi: number) => number): number[][] {
  const w = points + 1;
  const c = new Float64Array(w * w);
  for (let lo = 0; lo < points; lo++) for (let hi = lo + 1; hi <= points; hi++) c[lo * w + hi] = cost(lo, hi);
  const K = Math.min(kMax, points);
  const best = new Float64Array((K + 1) * w).fill(Infinity);
  const from = new Int32Array((K + 1) * w).fill(-1);
  best[0] = 0;
  for (let k = 1; k <= K; k++) {
    for (let hi = k; hi <= points; hi++) {
      let b = Infinity;
      let arg = -1;
      for (let lo = k - 1; lo < hi; lo++) {
        const v = best[(k - 1) * w + lo] + c[lo * w + hi];
        if (v < b) {
          b = v;
          arg = lo;
        }
      }
      best[k * w + hi] = b;
      from[k * w + hi] = arg;
    }
  }
  const out: number[][] = [];
  for (let k = 1; k <= K; k++) {
    const bounds = [points];
    for (let kk = k, hi = points; kk > 0; kk--) {
      hi = from[kk * w + hi];
      bounds.push(hi);
    }
    out.push(bounds.reverse());
  }
  return out;
}

/** Exponent values present (they are the cluster axis); bounds on this axis map back to exponent values. */
function presentAxis(counts: Float64Array): number[] {
  const ex: number[] = [];
  for (let e = 0; e < counts.length; e++) if (counts[e] > 0) ex.push(e);
  return ex;
}

/** Class bounds on the exponent axis from bounds on the present-exponent axis. */
function toExpBounds(bounds: readonly number[], present: readonly number[], expSpace: number): number[] {
  return bounds.map((b, i) => (i === 0 ? 0 : i === bounds.length - 1 ? expSpace : present[b]));
}

interface PartFit {
  readonly bits: number;
}

interface AFit extends PartFit {
  readonly classes: number[];
  readonly table: GroupTable;
}

interface BFit extends PartFit {
  readonly classes: number[];
  readonly tables: GroupTable[];
}

/** Symbol A (exponent, or whole byte) given the class of the neighbour's exponent at distance D. */
function fitA(vals: Uint16Array, ex: Uint8Array, plan: FieldPlan, whole: boolean, D: number): AFit {
  const blockValues = FIT_BLOCK_BYTES / (plan.bits / 8);
  const n = vals.length;
  const SA = plan.aSpace;
  const hist = new Float64Array(SA);
  for (let i = 0; i < n; i++) hist[whole ? vals[i] : ex[i]]++;
  const vmin = bestPartition(hist);
  const G = vmin.length - 1;
  const groupOf = new Uint8Array(SA);
  for (let g = 0; g < G; g++) groupOf.fill(g, vmin[g], vmin[g + 1]);
  const E = plan.expSpace;
  const joint = new Float64Array(E * G);
  const ctxCount = new Float64Array(E);
  for (let i = 0; i < n; i++) {
    const ne = D > 0 && i % blockValues >= D ? ex[i - D] : 0; // positions before D in a block have no neighbour
    joint[ne * G + groupOf[whole ? vals[i] : ex[i]]]++;
    ctxCount[ne]++;
  }
  const present = presentAxis(ctxCount);
  if (present.length === 0) present.push(0);
  const P = present.length;
  // prefix sums over the present axis
  const pre = new Float64Array((P + 1) * G);
  for (let j = 0; j < P; j++) for (let g = 0; g < G; g++) pre[(j + 1) * G + g] = pre[j * G + g] + joint[present[j] * G + g];
  const mass = (lo: number, hi: number): number[] => Array.from({ length: G }, (_, g) => pre[hi * G + g] - pre[lo * G + g]);
  const partitions = clusterAxis(P, MAX_CLASSES, (lo, hi) => entropyCost(mass(lo, hi)));
  let best: AFit | undefined;
  for (const bounds of partitions) {
    const rows: number[][] = [];
    let bits = 0;
    for (let c = 0; c + 1 < bounds.length; c++) {
      const r = rowFor(vmin, mass(bounds[c], bounds[c + 1]));
      rows.push(r.counts);
      bits += r.bits;
    }
    const table = { vmin, counts: rows };
    bits += 4 + (bounds.length - 2) * (plan.exp + 1) + tableBits(table, SA);
    if (!best || bits < best.bits) best = { bits, classes: toExpBounds(bounds, present, E), table };
  }
  return best!;
}

/** Symbol B (sign and top mantissa bits) given the class of the value's own exponent; low bits raw. */
function fitB(vals: Uint16Array, ex: Uint8Array, plan: FieldPlan): BFit {
  const n = vals.length;
  const SB = plan.bSpace;
  const E = plan.expSpace;
  const joint = new Float64Array(E * SB);
  const ctxCount = new Float64Array(E);
  const kMask = (1 << plan.k) - 1;
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    const b = ((v >> (plan.bits - 1)) << plan.k) | ((v >> plan.low) & kMask);
    joint[ex[i] * SB + b]++;
    ctxCount[ex[i]]++;
  }
  const present = presentAxis(ctxCount);
  if (present.length === 0) present.push(0);
  const P = present.length;
  const pre = new Float64Array((P + 1) * SB);
  for (let j = 0; j < P; j++) for (let b = 0; b < SB; b++) pre[(j + 1) * SB + b] = pre[j * SB + b] + joint[present[j] * SB + b];
  const hist = (lo: number, hi: number): Float64Array => {
    const h = new Float64Array(SB);
    for (let b = 0; b < SB; b++) h[b] = pre[hi * SB + b] - pre[lo * SB + b];
    return h;
  };
  // Class ranges by the entropy they leave; each class then gets its best table, scored exactly.
  const partitions = clusterAxis(P, MAX_CLASSES, (lo, hi) => entropyCost(hist(lo, hi)));
  const cache = new Map<number, { table: GroupTable; bits: number }>();
  const classTable = (lo: number, hi: number): { table: GroupTable; bits: number } => {
    const key = lo * 4096 + hi;
    let t = cache.get(key);
    if (!t) {
      const h = hist(lo, hi);
      const vmin = bestPartition(h);
      const mass: number[] = [];
      for (let g = 0; g + 1 < vmin.length; g++) {
        let m = 0;
        for (let v = vmin[g]; v < vmin[g + 1]; v++) m += h[v];
        mass.push(m);
      }
      const r = rowFor(vmin, mass);
      const table = { vmin, counts: [r.counts] };
      t = { table, bits: r.bits + tableBits(table, SB) };
      cache.set(key, t);
    }
    return t;
  };
  let best: BFit | undefined;
  for (const bounds of partitions) {
    let bits = 4 + (bounds.length - 2) * (plan.exp + 1) + n * plan.low;
    const tables: GroupTable[] = [];
    for (let c = 0; c + 1 < bounds.length; c++) {
      const t = classTable(bounds[c], bounds[c + 1]);
      tables.push(t.table);
      bits += t.bits;
    }
    if (!best || bits < best.bits) best = { bits, classes: toExpBounds(bounds, present, E), tables };
  }
  return best!;
}

/** The header that codes `data` smallest (estimated with exact table costs, before rANS overhead). */
export function fitParams(data: Uint8Array, dtype: FloatDtype, options: FitOptions = {}): FpackParams {
  const modes: FpackMode[] = [];
  const bits8 = fieldPlan(dtype, 'split').bits === 8;
  if (options.mode === 'whole' || (bits8 && (options.mode === undefined || options.mode === 'auto'))) modes.push('whole');
  if (options.mode !== 'whole') modes.push('split');
  let best: { bits: number; params: FpackParams } | undefined;
  for (const mode of modes) {
    const plan = fieldPlan(dtype, mode);
    const vals = valuesOf(data, plan);
    const ex = new Uint8Array(vals.length);
    for (let i = 0; i < vals.length; i++) ex[i] = (vals[i] >> plan.mant) & (plan.expSpace - 1);
    const b = mode === 'split' ? fitB(vals, ex, plan) : undefined;
    const distances = [...new Set([options.stride ?? 0, 1, 0])].filter((d) => d < FIT_BLOCK_BYTES / (plan.bits / 8));
    for (const D of distances) {
      const a = fitA(vals, ex, plan, mode === 'whole', D);
      const bits = 24 + a.bits + (b ? b.bits : 0);
      if (!best || bits < best.bits) {
        best = { bits, params: { dtype, mode, distance: D, aClasses: a.classes, a: a.table, bClasses: b ? b.classes : [], b: b ? b.tables : [] } };
      }
    }
  }
  return best!.params;
}
