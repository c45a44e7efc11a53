/**
 * The dual-rate adaptive tables of SCC (context-codec.md §2), the AV1-style
 * CDF update applied twice: every table holds two 15-bit probability
 * estimators per group, A (fast, shift 5) and B (slow, shift 8). At every
 * block start both are reset to 32·count (10-bit count → 15 bits), floored at
 * 8. The coding probability of group j is (A[j] + B[j]) truncated to 12 bits,
 * floored at 1 for a non-empty group; the coder divides by their sum. After a
 * symbol s each estimator moves towards it:
 *   p[j] += ((j == s) · 2^15 − p[j]) >> shift.
 *
 * This file is the reference definition (used by the ideal-cost model and the
 * tests); range.ts's adaptAfter is the same update over only the groups
 * whose estimators still move, and ../wasm/assembly/scc.ts its SIMD form.
 */
export const ADAPTIVE_ONE = 1 << 15;
export const ADAPTIVE_INIT_FLOOR = 8;
export const SHIFT_FAST = 5;
export const SHIFT_SLOW = 8;
/** (A + B) has 16 bits of scale; the coder uses 12. */
export const PROBABILITY_SHIFT = 4;

/**
 * Mutable adaptive state of one block: estimators and coding probabilities
 * per table × 16 groups, and the total per table.
 */
export interface AdaptiveState {
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly q: Int32Array;
  readonly total: Int32Array;
}

export function newAdaptiveState(tables: number): AdaptiveState {
  return { a: new Int32Array(tables * 16), b: new Int32Array(tables * 16), q: new Int32Array(tables * 16), total: new Int32Array(tables) };
}

/** Block start: every table back to its static counts. */
export function resetAdaptive(st: AdaptiveState, init: Int32Array, initQ: Int32Array, initTotal: Int32Array): void {
  st.a.set(init);
  st.b.set(init);
  st.q.set(initQ);
  st.total.set(initTotal);
}

/** After coding group s with table k: move both estimators, refresh the coding probabilities. */
export function updateAdaptive(st: AdaptiveState, k: number, s: number, groups: number, live: Int32Array): void {
  const base = k << 4;
  let tot = 0;
  for (let j = 0; j < groups; j++) {
    let a = st.a[base + j];
    let b = st.b[base + j];
    if (j === s) {
      a += (ADAPTIVE_ONE - a) >> SHIFT_FAST;
      b += (ADAPTIVE_ONE - b) >> SHIFT_SLOW;
    } else {
      a -= a >> SHIFT_FAST;
      b -= b >> SHIFT_SLOW;
    }
    st.a[base + j] = a;
    st.b[base + j] = b;
    let q = (a + b) >> PROBABILITY_SHIFT;
    if (q === 0) q = live[j];
    st.q[base + j] = q;
    tot += q;
  }
  st.total[k] = tot;
}
