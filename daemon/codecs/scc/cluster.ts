import { MAX_TABLES } from './config.ts';

/**
 * The context map (context-codec.md §2): fine contexts merged into ≤ 16
 * tables by greedy agglomerative clustering. A cluster costs its ideal
 * group-symbol bits Σ_g n_g·log2(N/n_g) plus 160 bits for its table; the
 * pair whose merge adds the least is merged until one cluster is left, and
 * the cheapest state with ≤ 16 clusters is kept. Fine contexts never seen
 * go to the largest cluster.
 */
export const TABLE_BITS = 160;

export interface ContextMap {
  /** Table of every fine context. */
  readonly map: Uint8Array;
  readonly tables: number;
}

/** n·log2(n), 0 for 0. */
const nlogn = (n: number): number => (n > 0 ? n * Math.log2(n) : 0);

function clusterBits(h: Float64Array, off: number, groups: number): number {
  let n = 0;
  let s = 0;
  for (let g = 0; g < groups; g++) {
    const c = h[off + g];
    n += c;
    s += nlogn(c);
  }
  return nlogn(n) - s + TABLE_BITS;
}

function mergedBits(h: Float64Array, a: number, b: number, groups: number): number {
  let n = 0;
  let s = 0;
  for (let g = 0; g < groups; g++) {
    const c = h[a + g] + h[b + g];
    n += c;
    s += nlogn(c);
  }
  return nlogn(n) - s + TABLE_BITS;
}

/**
 * Cluster fine contexts given each one's histogram over the coding groups
 * (`groupHist`: fine × groups counts).
 */
export function clusterContexts(groupHist: Float64Array, fine: number, groups: number, maxTables = MAX_TABLES): ContextMap {
  const mass = new Float64Array(fine);
  const ids: number[] = [];
  for (let f = 0; f < fine; f++) {
    for (let g = 0; g < groups; g++) mass[f] += groupHist[f * groups + g];
    if (mass[f] > 0) ids.push(f);
  }
  const c = ids.length;
  const map = new Uint8Array(fine);
  if (c <= 1) return { map, tables: 1 };
  // cluster i starts as fine context ids[i]
  const h = new Float64Array(c * groups);
  ids.forEach((f, i) => h.set(groupHist.subarray(f * groups, (f + 1) * groups), i * groups));
  const bits = new Float64Array(c);
  for (let i = 0; i < c; i++) bits[i] = clusterBits(h, i * groups, groups);
  const delta = new Float64Array(c * c);
  for (let i = 0; i < c; i++) for (let j = i + 1; j < c; j++) delta[i * c + j] = mergedBits(h, i * groups, j * groups, groups) - bits[i] - bits[j];
  const alive = new Uint8Array(c).fill(1);
  const owner = Int32Array.from({ length: c }, (_, i) => i);
  let total = bits.reduce((s, x) => s + x, 0);
  let best: Int32Array | undefined = c <= maxTables ? owner.slice() : undefined;
  let bestTotal = c <= maxTables ? total : Infinity;
  for (let count = c; count > 1; count--) {
    let bi = -1;
    let bj = -1;
    let bd = Infinity;
    for (let i = 0; i < c; i++) {
      if (!alive[i]) continue;
      for (let j = i + 1; j < c; j++) {
        if (alive[j] && delta[i * c + j] < bd) {
          bd = delta[i * c + j];
          bi = i;
          bj = j;
        }
      }
    }
    for (let g = 0; g < groups; g++) h[bi * groups + g] += h[bj * groups + g];
    bits[bi] = clusterBits(h, bi * groups, groups);
    alive[bj] = 0;
    for (let i = 0; i < c; i++) if (owner[i] === bj) owner[i] = bi;
    total += bd;
    for (let j = 0; j < c; j++) {
      if (!alive[j] || j === bi) continue;
      const d = mergedBits(h, bi * groups, j * groups, groups) - bits[bi] - bits[j];
      if (j < bi) delta[j * c + bi] = d;
      else delta[bi * c + j] = d;
    }
    if (count - 1 <= maxTables && total < bestTotal) {
      bestTotal = total;
      best = owner.slice();
    }
  }
  // number the kept clusters 0..K−1, largest first
  const own = best!;
  const clusterMass = new Map<number, number>();
  ids.forEach((f, i) => clusterMass.set(own[i], (clusterMass.get(own[i]) ?? 0) + mass[f]));
  const roots = [...clusterMass.keys()].sort((a, b) => clusterMass.get(b)! - clusterMass.get(a)! || a - b);
  const index = new Map(roots.map((r, k) => [r, k]));
  map.fill(0); // unseen contexts → the largest cluster (index 0)
  ids.forEach((f, i) => (map[f] = index.get(own[i])!));
  return { map, tables: roots.length };
}
