import { BitReader, BitWriter } from '../bits.ts';
import { CodecError, badArgument, corrupt } from '../errors.ts';
import { checkHistogram, histogramTotal, type ValueSpace } from './histogram.ts';

/**
 * The APack table (APack, arXiv 2201.08830; table layout as described for the
 * authors' search code, see docs/apack.md): up to 16 contiguous value groups
 * tiling the value space. Group i covers [vmin[i], vmin[i+1]); a value is coded
 * as its group's symbol (entropy coded with a 10-bit count) plus its offset
 * from vmin in OL = ceil(log2(group size)) raw bits. Empty groups (size 0,
 * count 0) are allowed; every non-empty group has count >= 1, so any value of
 * the space is encodable with any table.
 */
export interface ApackTable {
  readonly space: ValueSpace;
  /** groups + 1 entries: vmin[0] = 0 ... vmin[groups] = space, non-decreasing. */
  readonly vmin: readonly number[];
  /** Offset length in bits per group. */
  readonly ol: readonly number[];
  /** Symbol counts per group, summing to COUNT_TOTAL. */
  readonly counts: readonly number[];
  /**
   * rANS states per block (the block layout, docs/apack.md): 1, the first
   * layout (params written before the second existed read so), 2 or 4
   * interleaved (4: what new tables get).
   */
  readonly states: ApackStates;
}

/** rANS states per block: 1 (the first layout), 2 or 4 (interleaved: a decoder overlaps their state chains). */
export type ApackStates = 1 | 2 | 4;
/** The layout new tables get: the wasm decoder runs 4 interleaved states about 1.3x as fast as 2 (and 2 about 1.8x as fast as one), for about 7 more bytes per 4 KiB block than 2 (docs/apack.md). */
export const APACK_STATES: ApackStates = 4;

export const MAX_GROUPS = 16;
export const COUNT_BITS = 10;
export const COUNT_TOTAL = 1 << COUNT_BITS;

export const groupCount = (t: ApackTable): number => t.counts.length;

/** ceil(log2(size)); 0 for groups of 0 or 1 value. */
export function offsetLength(size: number): number {
  let ol = 0;
  while (1 << ol < size) ol++;
  return ol;
}

/**
 * Build a table from boundaries and counts, checking every invariant. Throws
 * E_BAD_ARGUMENT (callers that parse a stream map it to E_CORRUPT).
 */
export function makeTable(space: ValueSpace, vmin: readonly number[], counts: readonly number[], states: ApackStates = APACK_STATES): ApackTable {
  if (space !== 256 && space !== 16) throw badArgument(`APack value space must be 256 or 16, got ${space}`);
  if (states !== 1 && states !== 2 && states !== 4) throw badArgument(`APack blocks have 1, 2 or 4 rANS states, got ${String(states)}`);
  const groups = counts.length;
  if (groups < 1 || groups > MAX_GROUPS) throw badArgument(`APack table needs 1..${MAX_GROUPS} groups, got ${groups}`);
  if (vmin.length !== groups + 1) throw badArgument(`APack table has ${groups} groups but ${vmin.length} boundaries (need ${groups + 1})`);
  if (vmin[0] !== 0 || vmin[groups] !== space) {
    throw badArgument(`APack groups must tile 0..${space - 1}: first vmin ${vmin[0]}, end ${vmin[groups]}`);
  }
  let sum = 0;
  const ol: number[] = [];
  for (let i = 0; i < groups; i++) {
    const a = vmin[i];
    const b = vmin[i + 1];
    if (!Number.isInteger(b) || b < a) throw badArgument(`APack boundaries must be non-decreasing integers: vmin[${i}] = ${a}, vmin[${i + 1}] = ${b}`);
    const c = counts[i];
    if (!Number.isInteger(c) || c < 0 || c > COUNT_TOTAL) throw badArgument(`APack count of group ${i} is ${c}, must be an integer in 0..${COUNT_TOTAL}`);
    if (b > a && c === 0) throw badArgument(`APack group ${i} [${a}, ${b}) is not empty but has count 0: its values would be unencodable`);
    if (b === a && c !== 0) throw badArgument(`APack group ${i} is empty but has count ${c}`);
    sum += c;
    ol.push(offsetLength(b - a));
  }
  if (sum !== COUNT_TOTAL) throw badArgument(`APack counts sum to ${sum}, must be exactly ${COUNT_TOTAL}`);
  return { space, vmin: [...vmin], ol, counts: [...counts], states };
}

/** Group (symbol) of every value of the space. */
export function groupOfValue(t: ApackTable): Uint8Array {
  const g = new Uint8Array(t.space);
  for (let s = 0; s < t.counts.length; s++) g.fill(s, t.vmin[s], t.vmin[s + 1]);
  return g;
}

/** Histogram mass per group. */
function groupMass(t: ApackTable, hist: ArrayLike<number>): number[] {
  const m = new Array<number>(t.counts.length).fill(0);
  for (let s = 0; s < t.counts.length; s++) for (let v = t.vmin[s]; v < t.vmin[s + 1]; v++) m[s] += hist[v];
  return m;
}

/**
 * Ideal coded size in bits of the histogram's values under the table: for
 * every value, -log2(count/1024) prefix bits plus OL offset bits. This is what
 * an exact entropy coder with the table's quantised counts would produce.
 */
export function tableCostBits(t: ApackTable, hist: ArrayLike<number>): number {
  if (hist.length !== t.space) throw badArgument(`histogram has ${hist.length} bins, table space is ${t.space}`);
  const m = groupMass(t, hist);
  let bits = 0;
  for (let s = 0; s < m.length; s++) {
    if (m[s] === 0) continue;
    bits += m[s] * (t.ol[s] + Math.log2(COUNT_TOTAL / t.counts[s]));
  }
  return bits;
}

// ---------------------------------------------------------------------------
// Count quantisation

/**
 * Spec §2.2 quantisation (the paper baseline): round(p*1024), at least 1 for a
 * non-empty group, 0 for an empty one, and the rounding difference moved onto
 * the largest count.
 */
export function quantiseCounts(mass: readonly number[], sizes: readonly number[]): number[] {
  const n = mass.reduce((a, b) => a + b, 0);
  const q = mass.map((c, i) => (sizes[i] === 0 ? 0 : Math.max(1, n > 0 ? Math.round((c / n) * COUNT_TOTAL) : 0)));
  let largest = 0;
  for (let i = 1; i < q.length; i++) if (q[i] > q[largest]) largest = i;
  q[largest] += COUNT_TOTAL - q.reduce((a, b) => a + b, 0);
  return q;
}

/**
 * The integer counts (>= 1 per non-empty group, summing to 1024) that minimise
 * the coded size sum(-mass_i * log2(q_i/1024)). Each term is convex in q_i and
 * the constraint is a plain sum, so a feasible point where no single-unit
 * move from one group to another lowers the cost is the global optimum
 * (separable convex resource allocation). Start from rounded proportions, fix
 * the sum, then make improving moves until none is left: a handful of steps.
 */
export function optimalCounts(mass: readonly number[], sizes: readonly number[]): number[] {
  const q = new Array<number>(mass.length).fill(0);
  countsInto(mass, sizes, mass.length, q);
  return q;
}

// log2 terms of the count search, by count (q <= COUNT_TOTAL): the same
// expressions as written out, so a table lookup gives the same bits.
const LOG2_UP = new Float64Array(COUNT_TOTAL + 1); // log2((q + 1) / q)
const LOG2_DOWN = new Float64Array(COUNT_TOTAL + 1); // log2(q / (q - 1))
const LOG2_INV = new Float64Array(COUNT_TOTAL + 1); // log2(COUNT_TOTAL / q)
for (let c = 1; c <= COUNT_TOTAL; c++) {
  LOG2_UP[c] = Math.log2((c + 1) / c);
  LOG2_DOWN[c] = Math.log2(c / (c - 1));
  LOG2_INV[c] = Math.log2(COUNT_TOTAL / c);
}

/** mass * log2((q + 1) / q): bits saved by one more unit (-Infinity for an empty group). */
function gainUp(m: number, q: number): number {
  return q === 0 ? -Infinity : m * (q <= COUNT_TOTAL ? LOG2_UP[q] : Math.log2((q + 1) / q));
}

/** mass * log2(q / (q - 1)): bits lost by one unit less (Infinity where q must stay >= 1). */
function lossDown(m: number, q: number): number {
  return q <= 1 ? Infinity : m * (q <= COUNT_TOTAL ? LOG2_DOWN[q] : Math.log2(q / (q - 1)));
}

/** The group that gains most from one more unit (the first of equals). */
function argmaxUp(mass: ArrayLike<number>, q: { [i: number]: number }, g: number): number {
  let best = 0;
  let bestGain = gainUp(mass[0], q[0]);
  for (let i = 1; i < g; i++) {
    const v = gainUp(mass[i], q[i]);
    if (v > bestGain) {
      best = i;
      bestGain = v;
    }
  }
  return best;
}

/** The group that loses least from one unit less (the first of equals). */
function argminDown(mass: ArrayLike<number>, q: { [i: number]: number }, g: number): number {
  let best = 0;
  let bestLoss = lossDown(mass[0], q[0]);
  for (let i = 1; i < g; i++) {
    const v = lossDown(mass[i], q[i]);
    if (v < bestLoss) {
      best = i;
      bestLoss = v;
    }
  }
  return best;
}

/**
 * optimalCounts into q[0..g), allocating nothing: the table search calls it
 * for every boundary position it tries. argmax/argmin keep the first best
 * index, as a scan that compares f(i) > f(best) does.
 */
function countsInto(mass: ArrayLike<number>, sizes: ArrayLike<number>, g: number, q: { [i: number]: number }): void {
  let n = 0;
  for (let i = 0; i < g; i++) n += mass[i];
  let sum = 0;
  if (n === 0) {
    // Nothing to fit: every non-empty group gets 1, the widest the rest.
    let w = 0;
    for (let i = 0; i < g; i++) {
      q[i] = sizes[i] === 0 ? 0 : 1;
      sum += q[i];
      if (i > 0 && sizes[i] > sizes[w]) w = i;
    }
    q[w] += COUNT_TOTAL - sum;
    return;
  }
  for (let i = 0; i < g; i++) {
    q[i] = sizes[i] === 0 ? 0 : Math.max(1, Math.round((mass[i] / n) * COUNT_TOTAL));
    sum += q[i];
  }
  for (; sum < COUNT_TOTAL; sum++) q[argmaxUp(mass, q, g)]++;
  for (; sum > COUNT_TOTAL; sum--) q[argminDown(mass, q, g)]--;
  for (;;) {
    const up = argmaxUp(mass, q, g);
    const down = argminDown(mass, q, g);
    // relative tolerance: stop on ties instead of cycling on rounding noise
    if (up === down || !(gainUp(mass[up], q[up]) > lossDown(mass[down], q[down]) * (1 + 1e-12))) return;
    q[up]++;
    q[down]--;
  }
}

// ---------------------------------------------------------------------------
// Table search

/** offsetLength by group size, for every size a table can have. */
const OFFSET_LENGTH = Uint8Array.from({ length: 257 }, (_, size) => offsetLength(size));
/** log2(c / COUNT_TOTAL) by 10-bit count c: the DP's 'rounded' probability term. */
const LOG2_Q = Float64Array.from({ length: COUNT_TOTAL + 1 }, (_, c) => Math.log2(c / COUNT_TOTAL));
// Scratch of quantisedCost (the search is synchronous, one at a time): the
// coordinate descent scores hundreds of partitions per table.
const SEARCH_MASS = new Float64Array(MAX_GROUPS);
const SEARCH_SIZES = new Int32Array(MAX_GROUPS);
const SEARCH_COUNTS = new Int32Array(MAX_GROUPS);

/** Prefix sums of a histogram: P[v] = sum of hist[0..v). */
function prefixSums(hist: ArrayLike<number>): Float64Array {
  const p = new Float64Array(hist.length + 1);
  for (let v = 0; v < hist.length; v++) p[v + 1] = p[v] + hist[v];
  return p;
}

function tableFromBoundaries(space: ValueSpace, hist: ArrayLike<number>, vmin: readonly number[], counter: typeof optimalCounts): ApackTable {
  const sizes: number[] = [];
  const mass: number[] = [];
  for (let s = 0; s + 1 < vmin.length; s++) {
    sizes.push(vmin[s + 1] - vmin[s]);
    let m = 0;
    for (let v = vmin[s]; v < vmin[s + 1]; v++) m += hist[v];
    mass.push(m);
  }
  return makeTable(space, vmin, counter(mass, sizes));
}

/** A valid table for a histogram with no values: 16 equal groups. */
function uniformTable(space: ValueSpace): ApackTable {
  const step = space / MAX_GROUPS;
  const vmin = Array.from({ length: MAX_GROUPS + 1 }, (_, i) => i * step);
  return makeTable(space, vmin, new Array<number>(MAX_GROUPS).fill(COUNT_TOTAL / MAX_GROUPS));
}

/**
 * Exact minimum of the ideal cost with real probabilities,
 * sum over groups of mass*OL - mass*log2(mass/N), over all partitions of the
 * space into at most `maxGroups` contiguous groups. Given the group ranges the
 * per-group terms are independent, so a DP over boundaries finds it:
 * best[k][b] = min over a < b of best[k-1][a] + cost(a, b). Returns, for every
 * k, the best partition with exactly k non-empty groups (null when k > space).
 */
export function optimalPartitions(
  hist: ArrayLike<number>,
  maxGroups = MAX_GROUPS,
  probability: 'real' | 'rounded' = 'real',
): { vmin: number[]; realBits: number }[] {
  const space = hist.length;
  const n = histogramTotal(hist);
  const p = prefixSums(hist);
  const w = space + 1;
  // A group holding no mass still needs count 1, which the others lose: about
  // N * log2(1024/1023) bits. The 'rounded' variant charges it.
  const idle = probability === 'real' ? 0 : -n * Math.log2(1 - 1 / COUNT_TOTAL);
  // cost[b*w+a] for the group [a, b): stored by end, so the DP's inner loop
  // over a reads it contiguously
  const cost = new Float64Array(w * w);
  for (let a = 0; a < space; a++) {
    for (let b = a + 1; b <= space; b++) {
      const m = p[b] - p[a];
      let bits = idle;
      if (m !== 0) {
        // 'rounded' scores a group with its 10-bit count max(1, round(1024 m / N)) instead
        // of m / N: still separable, and closer to what the coder pays for rare groups.
        const log2q = probability === 'real' ? Math.log2(m / n) : LOG2_Q[Math.max(1, Math.round((COUNT_TOTAL * m) / n))];
        bits = m * (OFFSET_LENGTH[b - a] - log2q);
      }
      cost[b * w + a] = bits;
    }
  }
  const kMax = Math.min(maxGroups, space);
  const best = new Float64Array((kMax + 1) * w).fill(Infinity);
  const from = new Int32Array((kMax + 1) * w).fill(-1);
  best[0] = 0; // zero groups cover [0, 0)
  for (let k = 1; k <= kMax; k++) {
    const prev = (k - 1) * w;
    for (let b = k; b <= space; b++) {
      const row = b * w;
      let bestCost = Infinity;
      let bestA = -1;
      for (let a = k - 1; a < b; a++) {
        const c = best[prev + a] + cost[row + a];
        if (c < bestCost) {
          bestCost = c;
          bestA = a;
        }
      }
      best[k * w + b] = bestCost;
      from[k * w + b] = bestA;
    }
  }
  const out: { vmin: number[]; realBits: number }[] = [];
  for (let k = 1; k <= kMax; k++) {
    const vmin = [space];
    for (let kk = k, b = space; kk > 0; kk--) {
      b = from[kk * w + b];
      vmin.push(b);
    }
    vmin.reverse();
    out.push({ vmin, realBits: best[k * w + space] });
  }
  return out;
}

/**
 * Quantised cost of a partition with its optimal counts, in bits, from prefix
 * sums: what the coder really produces, unlike the DP's real-probability cost.
 */
function quantisedCost(p: Float64Array, vmin: readonly number[]): number {
  const g = vmin.length - 1;
  for (let i = 0; i < g; i++) {
    SEARCH_MASS[i] = p[vmin[i + 1]] - p[vmin[i]];
    SEARCH_SIZES[i] = vmin[i + 1] - vmin[i];
  }
  countsInto(SEARCH_MASS, SEARCH_SIZES, g, SEARCH_COUNTS);
  let bits = 0;
  for (let i = 0; i < g; i++) if (SEARCH_MASS[i] > 0) bits += SEARCH_MASS[i] * (OFFSET_LENGTH[SEARCH_SIZES[i]] + LOG2_INV[SEARCH_COUNTS[i]]);
  return bits;
}

/**
 * Coordinate descent on the quantised cost: slide each inner boundary over
 * every position between its neighbours, keep the best, repeat until a pass
 * changes nothing. Only ever lowers the cost of `vmin` (modified in place).
 */
function refineBoundaries(p: Float64Array, vmin: number[]): number {
  let best = quantisedCost(p, vmin);
  for (let improved = true; improved; ) {
    improved = false;
    for (let c = 1; c + 1 < vmin.length; c++) {
      const start = vmin[c];
      let bestPos = start;
      for (let pos = vmin[c - 1]; pos <= vmin[c + 1]; pos++) {
        if (pos === start) continue;
        vmin[c] = pos;
        const bits = quantisedCost(p, vmin);
        if (bits < best * (1 - 1e-12)) {
          best = bits;
          bestPos = pos;
          improved = true;
        }
      }
      vmin[c] = bestPos;
    }
  }
  return best;
}

/**
 * The best table for a histogram. The DP gives the exact optimum of the
 * real-probability cost for every group count k = 1..16; each is scored with
 * its optimal integer counts, and the best one is refined by coordinate descent
 * on that quantised cost (count rounding can move the optimum a boundary or
 * two). The result is the table whose real coded size is smallest found.
 */
export function optimalTable(hist: ArrayLike<number>, maxGroups = MAX_GROUPS): ApackTable {
  const space = checkHistogram(hist);
  if (histogramTotal(hist) === 0) return uniformTable(space);
  const p = prefixSums(hist);
  // Two exact DPs: with real probabilities, and with each group's rounded
  // 10-bit count plus the count an idle group costs. Count rounding can make
  // either one's partition the better start, so the best of each is refined
  // on the cost the coder really pays.
  let best: number[] = [];
  let bestBits = Infinity;
  for (const probability of ['real', 'rounded'] as const) {
    let start: number[] = [];
    let startBits = Infinity;
    for (const { vmin } of optimalPartitions(hist, maxGroups, probability)) {
      const bits = quantisedCost(p, vmin);
      if (bits < startBits) {
        start = vmin;
        startBits = bits;
      }
    }
    const bits = refineBoundaries(p, start);
    if (bits < bestBits) {
      best = start;
      bestBits = bits;
    }
  }
  return tableFromBoundaries(space, hist, best, optimalCounts);
}

/**
 * The paper's search, clean coordinate-descent version (docs/apack.md): start
 * from 16 equal groups, slide each inner boundary over every position between
 * its neighbours keeping the best, and repeat while a full pass gains >= 0.1 %.
 * Cost: estimated bits with each group's count round(p*1024) clamped to >= 1.
 * Counts are then quantised as in spec §2.2.
 */
export function heuristicTable(hist: ArrayLike<number>): ApackTable {
  const space = checkHistogram(hist);
  const n = histogramTotal(hist);
  if (n === 0) return uniformTable(space);
  const p = prefixSums(hist);
  const groupBits = (a: number, b: number): number => {
    const m = p[b] - p[a];
    if (m === 0) return 0;
    const q = Math.max(1, Math.round((m / n) * COUNT_TOTAL));
    return m * (offsetLength(b - a) + Math.log2(COUNT_TOTAL / q));
  };
  const cost = (v: number[]): number => {
    let bits = 0;
    for (let i = 0; i < MAX_GROUPS; i++) bits += groupBits(v[i], v[i + 1]);
    return bits;
  };
  const step = space / MAX_GROUPS;
  const v = Array.from({ length: MAX_GROUPS + 1 }, (_, i) => i * step);
  let best = cost(v);
  for (;;) {
    const prev = best;
    for (let c = 1; c < MAX_GROUPS; c++) {
      let bestPos = v[c];
      for (let pos = v[c - 1]; pos <= v[c + 1]; pos++) {
        v[c] = pos;
        const bits = cost(v);
        if (bits < best) {
          best = bits;
          bestPos = pos;
        }
      }
      v[c] = bestPos;
    }
    if (!(prev - best > 0.001 * prev)) break;
  }
  return tableFromBoundaries(space, hist, v, quantiseCounts);
}

// ---------------------------------------------------------------------------
// Serialisation
//
// MSB-first bit fields, zero-padded to a whole byte:
//   [layout, only for tables of interleaved states:
//    4 bits   0                      (a value space is never 2^0: marks the field)
//    4 bits   log2(states)           1 or 2 (2 or 4 interleaved rANS states)]
//   4 bits   log2(space)            8 (256 values) or 4 (16 values)
//   4 bits   groups - 1             1..16 groups
//   (groups-1) x (log2(space)+1) bits   inner boundaries vmin[1..groups-1],
//                                       non-decreasing, each <= space
//   per non-empty group: 10 bits   count - 1 (counts are 1..1024)
// Empty groups carry no count (it is 0). OL follows from the group size.
// A table without the layout byte has one rANS state per block: the first
// layout, so params written before the interleaved layout read as before.
// A 16-group table of 8-bit values is 8 + 135 + 160 = 303 bits -> 38 bytes,
// 39 with the layout byte.

/** The layout field's first nibble: 0, which no table of the first layout starts with. */
const LAYOUT_MARK = 0;

export function serialiseTable(t: ApackTable): Uint8Array {
  const spaceBits = t.space === 256 ? 8 : 4;
  const groups = t.counts.length;
  const layoutBits = t.states === 1 ? 0 : 8;
  const bits = layoutBits + 8 + (groups - 1) * (spaceBits + 1) + t.counts.filter((c) => c > 0).length * COUNT_BITS;
  const buf = new Uint8Array(Math.ceil(bits / 8));
  const w = new BitWriter(buf);
  if (t.states !== 1) {
    w.write(LAYOUT_MARK, 4);
    w.write(Math.log2(t.states), 4);
  }
  w.write(spaceBits, 4);
  w.write(groups - 1, 4);
  for (let i = 1; i < groups; i++) w.write(t.vmin[i], spaceBits + 1);
  for (let i = 0; i < groups; i++) if (t.counts[i] > 0) w.write(t.counts[i] - 1, COUNT_BITS);
  w.finish();
  return buf;
}

/** Strict inverse of serialiseTable: any malformed table throws E_CORRUPT. */
export function parseTable(buf: Uint8Array, expectedSpace?: ValueSpace): ApackTable {
  if (buf.length < 1) throw corrupt('APack table is empty');
  try {
    const r = new BitReader(buf);
    let spaceBits = r.read(4);
    let states: ApackStates = 1;
    if (spaceBits === LAYOUT_MARK) {
      // 1 state is written without the layout field, so a field saying 1 is not canonical
      const log2States = r.read(4);
      if (log2States !== 1 && log2States !== 2) throw corrupt(`APack table layout of 2^${log2States} rANS states is not one this version reads (2 or 4)`);
      states = log2States === 1 ? 2 : 4;
      spaceBits = r.read(4);
    }
    if (spaceBits !== 8 && spaceBits !== 4) throw corrupt(`APack table value space 2^${spaceBits} is not 2^8 or 2^4`);
    const space = (1 << spaceBits) as ValueSpace;
    if (expectedSpace !== undefined && space !== expectedSpace) {
      throw corrupt(`APack table is for a ${space}-value space, the dtype needs ${expectedSpace}`);
    }
    const groups = r.read(4) + 1;
    const vmin = [0];
    for (let i = 1; i < groups; i++) {
      const b = r.read(spaceBits + 1);
      if (b < vmin[i - 1] || b > space) throw corrupt(`APack table boundary ${i} is ${b}: boundaries must be non-decreasing and <= ${space}`);
      vmin.push(b);
    }
    vmin.push(space);
    const counts: number[] = [];
    for (let i = 0; i < groups; i++) counts.push(vmin[i + 1] > vmin[i] ? r.read(COUNT_BITS) + 1 : 0);
    const used = r.position;
    if (Math.ceil(used / 8) !== buf.length) throw corrupt(`APack table is ${buf.length} bytes, its fields use ${Math.ceil(used / 8)}`);
    if (r.bitsLeft > 0 && r.read(r.bitsLeft) !== 0) throw corrupt('APack table padding bits are not zero');
    return makeTable(space, vmin, counts, states);
  } catch (e) {
    if (e instanceof CodecError && e.code !== 'E_CORRUPT') throw corrupt(`malformed APack table: ${e.message}`);
    throw e;
  }
}

/** The same table with another block layout (e.g. a fitted table written in the first layout, for old readers and tests). */
export function withStates(t: ApackTable, states: ApackStates): ApackTable {
  return makeTable(t.space, t.vmin, t.counts, states);
}

/** Compact one-line description: `[vmin..vmax] OL count/1024` per group. */
export function describeTable(t: ApackTable): string {
  const parts: string[] = [];
  for (let s = 0; s < t.counts.length; s++) {
    const a = t.vmin[s];
    const b = t.vmin[s + 1];
    if (a === b) continue;
    parts.push(`${b - a === 1 ? a : `${a}-${b - 1}`}:${t.ol[s]}b@${t.counts[s]}`);
  }
  return `${t.space}-value space, ${t.states === 1 ? '1 rANS state' : `${t.states} interleaved rANS states`}, ${parts.length} groups [range:OL@count/1024] ${parts.join(' ')}`;
}
