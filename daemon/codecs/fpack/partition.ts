import { optimalCounts } from '../apack/table.ts';
import { COUNT_TOTAL, MAX_GROUPS, tableBits } from './params.ts';

/**
 * The best partition of a symbol histogram into at most 16 contiguous
 * groups: APack's exact dynamic program over the group boundaries
 * (apack/table.ts optimalPartitions), generalised to spaces up to 2^11
 * (float16's sign + mantissa). Up to 256 values every boundary is a
 * candidate, so the result is APack's exact optimum; above, boundaries are
 * restricted to multiples of 8 and to both sides of the 64 most frequent
 * values (a spike such as ReLU6's 6.0 gets a group of its own), and the
 * optimum is exact over that set. Each k = 1 ... 16 is then scored with its
 * optimal integer counts and its header bits, and the cheapest kept.
 */

const LOG2_TOTAL = Math.log2(COUNT_TOTAL);
export const offsetLength = (size: number): number => (size <= 1 ? 0 : 32 - Math.clz32(size - 1));

function candidates(hist: Float64Array): number[] {
  const space = hist.length;
  if (space <= 256) return Array.from({ length: space + 1 }, (_, i) => i);
  const set = new Set<number>();
  for (let v = 0; v <= space; v += 8) set.add(v);
  const top = Array.from({ length: space }, (_, v) => v)
    .filter((v) => hist[v] > 0)
    .sort((a, b) => hist[b] - hist[a])
    .slice(0, 64);
  for (const v of top) {
    set.add(v);
    set.add(v + 1);
  }
  return [...set].sort((a, b) => a - b);
}

/** Counts and ideal coded bits (prefix + offset) of group masses under a partition. */
export function rowFor(vmin: readonly number[], mass: readonly number[]): { counts: number[]; bits: number } {
  const sizes = mass.map((_, g) => vmin[g + 1] - vmin[g]);
  const counts = optimalCounts(mass, sizes);
  let bits = 0;
  for (let g = 0; g < mass.length; g++) if (mass[g] > 0) bits += mass[g] * (offsetLength(sizes[g]) + LOG2_TOTAL - Math.log2(counts[g]));
  return { counts, bits };
}

export function groupMasses(hist: ArrayLike<number>, vmin: readonly number[]): number[] {
  const m: number[] = [];
  for (let g = 0; g + 1 < vmin.length; g++) {
    let s = 0;
    for (let v = vmin[g]; v < vmin[g + 1]; v++) s += hist[v];
    m.push(s);
  }
  return m;
}

export function bestPartition(hist: Float64Array): number[] {
  const space = hist.length;
  let n = 0;
  for (let i = 0; i < space; i++) n += hist[i];
  if (n === 0) return [0, space];
  const cand = candidates(hist);
  const C = cand.length;
  const pre = new Float64Array(space + 1);
  for (let v = 0; v < space; v++) pre[v + 1] = pre[v] + hist[v];
  const cost = new Float64Array(C * C);
  for (let a = 0; a < C; a++) {
    for (let b = a + 1; b < C; b++) {
      const m = pre[cand[b]] - pre[cand[a]];
      cost[a * C + b] = m === 0 ? 0 : m * (offsetLength(cand[b] - cand[a]) - Math.log2(m / n));
    }
  }
  const K = Math.min(MAX_GROUPS, C - 1);
  const best = new Float64Array((K + 1) * C).fill(Infinity);
  const from = new Int32Array((K + 1) * C).fill(-1);
  best[0] = 0;
  for (let k = 1; k <= K; k++) {
    for (let b = k; b < C; b++) {
      let bc = Infinity;
      let ba = -1;
      for (let a = k - 1; a < b; a++) {
        const c = best[(k - 1) * C + a] + cost[a * C + b];
        if (c < bc) {
          bc = c;
          ba = a;
        }
      }
      best[k * C + b] = bc;
      from[k * C + b] = ba;
    }
  }
  let out: number[] = [0, space];
  let outBits = Infinity;
  for (let k = 1; k <= K; k++) {
    if (!Number.isFinite(best[k * C + C - 1])) continue;
    const idx = [C - 1];
    for (let kk = k, b = C - 1; kk > 0; kk--) {
      b = from[kk * C + b];
      idx.push(b);
    }
    const vmin = idx.reverse().map((i) => cand[i]);
    const r = rowFor(vmin, groupMasses(hist, vmin));
    const bits = r.bits + tableBits({ vmin, counts: [r.counts] }, space);
    if (bits < outBits) {
      outBits = bits;
      out = vmin;
    }
  }
  return out;
}
