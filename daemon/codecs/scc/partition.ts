import { optimalCounts, optimalTable } from '../apack/table.ts';
import { COUNT_TOTAL, MAX_GROUPS, offsetLength } from './config.ts';

/**
 * The exact coding partition shared by K tables (context-codec.md §2): one
 * set of ≤ 16 contiguous groups of the 256 symbol values serves all tables.
 * The cost of group [a, b) is
 *   Σ_k n_k(a,b) · (OL(b−a) − log2(q_k(a,b)/1024)),  q_k = max(1, round(1024 n_k / N_k)),
 * and a DP over the group boundaries minimises the sum exactly.
 *
 * `hists` holds K histograms of 256 bins back to back.
 */
export function sharedPartition(hists: Float64Array, k: number): number[] {
  if (k === 1) return optimalTable(hists.subarray(0, 256)).vmin.slice();
  const w = 257;
  const prefix = new Float64Array(k * w);
  const totals = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    for (let v = 0; v < 256; v++) prefix[t * w + v + 1] = prefix[t * w + v] + hists[t * 256 + v];
    totals[t] = prefix[t * w + 256];
  }
  // cost[a * w + b] of the group [a, b)
  const cost = new Float64Array(w * w);
  for (let a = 0; a < 256; a++) {
    for (let b = a + 1; b <= 256; b++) {
      const ol = offsetLength(b - a);
      let c = 0;
      for (let t = 0; t < k; t++) {
        const m = prefix[t * w + b] - prefix[t * w + a];
        if (m === 0) continue;
        const q = Math.max(1, Math.round((COUNT_TOTAL * m) / totals[t]));
        c += m * (ol - Math.log2(q / COUNT_TOTAL));
      }
      cost[a * w + b] = c;
    }
  }
  // best[g][b]: cheapest cover of [0, b) by g groups
  const best = new Float64Array((MAX_GROUPS + 1) * w).fill(Infinity);
  const from = new Int32Array((MAX_GROUPS + 1) * w).fill(-1);
  best[0] = 0;
  let bestG = 1;
  for (let g = 1; g <= MAX_GROUPS; g++) {
    for (let b = g; b <= 256; b++) {
      let bc = Infinity;
      let ba = -1;
      for (let a = g - 1; a < b; a++) {
        const c = best[(g - 1) * w + a] + cost[a * w + b];
        if (c < bc) {
          bc = c;
          ba = a;
        }
      }
      best[g * w + b] = bc;
      from[g * w + b] = ba;
    }
    if (best[g * w + 256] < best[bestG * w + 256]) bestG = g;
  }
  const vmin = [256];
  for (let g = bestG, b = 256; g > 0; g--) {
    b = from[g * w + b];
    vmin.push(b);
  }
  return vmin.reverse();
}

/** Each table's optimal 10-bit counts for a partition (≥ 1 per non-empty group, sum 1024). */
export function tablesFor(hists: Float64Array, k: number, vmin: readonly number[]): number[][] {
  const groups = vmin.length - 1;
  const sizes: number[] = [];
  for (let g = 0; g < groups; g++) sizes.push(vmin[g + 1] - vmin[g]);
  const tables: number[][] = [];
  for (let t = 0; t < k; t++) {
    const mass: number[] = [];
    for (let g = 0; g < groups; g++) {
      let m = 0;
      for (let v = vmin[g]; v < vmin[g + 1]; v++) m += hists[t * 256 + v];
      mass.push(m);
    }
    tables.push(optimalCounts(mass, sizes));
  }
  return tables;
}
