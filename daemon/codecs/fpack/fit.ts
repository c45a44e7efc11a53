import type { FloatDtype } from '../dtype.ts';
import { MAX_A_ROWS, MAX_CLASSES, MAX_PALETTE, fieldPlan, tableBits, type FieldPlan, type FpackMode, type FpackParams, type FpackStates, type FpackVersion, type GroupTable } from './params.ts';
import { bestPartition, groupMasses, rowFor } from './partition.ts';
import { NO_PREDICTION, ORDER_CODE } from './engine.ts';
import { badArgument } from '../errors.ts';

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
/**
 * rANS states of new fits' blocks: two interleaved chains decode faster than one
 * (docs/float.md, speed) for 4 more bytes per block; four were no faster than two.
 */
export const FIT_STATES: FpackStates = 2;
/** Header version of new fits: 2, the blocks' last values carried in the initial rANS states. */
export const FIT_VERSION: FpackVersion = 2;


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
  readonly classes2: number[];
  /** The second distance, 0 when one class of it was best (it then does nothing). */
  readonly d2: number;
  readonly table: GroupTable;
}

interface BFit extends PartFit {
  readonly classes: number[];
  readonly tables: GroupTable[];
}

/** A's partition of the exponent axis in split mode (fitA finds the same: it depends on the exponents' histogram only). */
function exponentGroups(ex: Uint8Array, plan: FieldPlan): number[] {
  const hist = new Float64Array(plan.aSpace);
  for (let i = 0; i < ex.length; i++) hist[ex[i]]++;
  return bestPartition(hist);
}

/** Symbol A (`sym`: exponent, whole byte or delta) given the classes of two neighbours' exponents (distances D1, D2; 0 = none). */
function fitA(sym: Uint16Array, ex: Uint8Array, plan: FieldPlan, D1: number, D2: number, blockValues = FIT_BLOCK_BYTES / (plan.bits / 8)): AFit {
  const n = sym.length;
  const SA = plan.aSpace;
  const E = plan.expSpace;
  const hist = new Float64Array(SA);
  for (let i = 0; i < n; i++) hist[sym[i]]++;
  const vmin = bestPartition(hist);
  const G = vmin.length - 1;
  const groupOf = new Uint8Array(SA);
  for (let g = 0; g < G; g++) groupOf.fill(g, vmin[g], vmin[g + 1]);
  // Positions before D in a block have no neighbour: they read exponent 0, as the coder does.
  const nb1 = new Uint8Array(n);
  const nb2 = new Uint8Array(n);
  const seen1 = new Float64Array(E);
  const seen2 = new Float64Array(E);
  for (let i = 0; i < n; i++) {
    const pos = i % blockValues;
    nb1[i] = D1 > 0 && pos >= D1 ? ex[i - D1] : 0;
    nb2[i] = D2 > 0 && pos >= D2 ? ex[i - D2] : 0;
    seen1[nb1[i]]++;
    seen2[nb2[i]]++;
  }
  // An empty tensor still gets a (one-class) model.
  const present1 = presentAxis(seen1);
  const present2 = presentAxis(seen2);
  if (present1.length === 0) present1.push(0);
  if (present2.length === 0) present2.push(0);
  const P1 = present1.length;
  const P2 = present2.length;
  const at1 = new Int32Array(E);
  const at2 = new Int32Array(E);
  present1.forEach((e, j) => (at1[e] = j));
  present2.forEach((e, j) => (at2[e] = j));
  const joint = new Float64Array(P1 * P2 * G);
  for (let i = 0; i < n; i++) joint[(at1[nb1[i]] * P2 + at2[nb2[i]]) * G + groupOf[sym[i]]]++;
  // One tap at a time: exact contiguous classes of each axis by the entropy they leave.
  const axisClasses = (P: number, massAt: (j: number, g: number) => number): number[][] => {
    const pre = new Float64Array((P + 1) * G);
    for (let j = 0; j < P; j++) for (let g = 0; g < G; g++) pre[(j + 1) * G + g] = pre[j * G + g] + massAt(j, g);
    const m = new Float64Array(G);
    return clusterAxis(P, MAX_CLASSES, (lo, hi) => {
      for (let g = 0; g < G; g++) m[g] = pre[hi * G + g] - pre[lo * G + g];
      return entropyCost(m);
    });
  };
  const b1 = axisClasses(P1, (j, g) => {
    let s = 0;
    for (let j2 = 0; j2 < P2; j2++) s += joint[(j * P2 + j2) * G + g];
    return s;
  });
  const b2 = axisClasses(P2, (j, g) => {
    let s = 0;
    for (let j1 = 0; j1 < P1; j1++) s += joint[(j1 * P2 + j) * G + g];
    return s;
  });
  let best: AFit | undefined;
  // Per candidate of the first axis, its classes' counts as prefix sums along the second axis
  // (P1 and P2 are up to 256 neighbour bytes in whole, delta and palette modes): a second-axis
  // class [lo, hi) is then one difference per group. The counts are integers, so every sum and
  // difference is exact, the same as adding the cells one by one.
  const W = (P2 + 1) * G;
  const rowMemo = new Map<number, { counts: number[]; bits: number }>();
  const rowMass: number[] = new Array<number>(G).fill(0);
  // prefix sums of the joint counts along the first axis: a first-axis class [lo, hi) is one difference
  const cum1 = new Float64Array((P1 + 1) * P2 * G);
  for (let t = 0; t < P1 * P2 * G; t++) cum1[t + P2 * G] = cum1[t] + joint[t];
  for (const bounds1 of b1) {
    const k1 = bounds1.length - 1;
    const pre = new Float64Array(k1 * W);
    for (let a = 0; a < k1; a++) {
      const hi = bounds1[a + 1] * P2 * G;
      const lo = bounds1[a] * P2 * G;
      const row = a * W + G;
      for (let t = 0; t < P2 * G; t++) pre[row + t] = cum1[hi + t] - cum1[lo + t];
    }
    for (let a = 0; a < k1; a++) for (let t = a * W + G; t < (a + 1) * W; t++) pre[t] += pre[t - G];
    for (const bounds2 of b2) {
      const k2 = bounds2.length - 1;
      if (k1 * k2 > MAX_A_ROWS) break;
      const rows: number[][] = [];
      let bits = 8 + (k1 - 1 + k2 - 1) * (plan.exp + 1);
      for (let a = 0; a < k1; a++) {
        for (let c = 0; c < k2; c++) {
          // a row depends only on its two classes, which recur across the candidates (P <= 256)
          const key = ((bounds1[a] * 257 + bounds1[a + 1]) * 257 + bounds2[c]) * 257 + bounds2[c + 1];
          let fit = rowMemo.get(key);
          if (fit === undefined) {
            const hi = a * W + bounds2[c + 1] * G;
            const lo = a * W + bounds2[c] * G;
            for (let g = 0; g < G; g++) rowMass[g] = pre[hi + g] - pre[lo + g];
            fit = rowFor(vmin, rowMass);
            rowMemo.set(key, fit);
          }
          rows.push(fit.counts);
          bits += fit.bits;
        }
      }
      const table = { vmin, counts: rows };
      bits += tableBits(table, SA);
      if (!best || bits < best.bits) {
        best = { bits, classes: toExpBounds(bounds1, present1, E), classes2: D2 > 0 && k2 > 1 ? toExpBounds(bounds2, present2, E) : [0, E], d2: k2 > 1 ? D2 : 0, table };
      }
    }
  }
  return best!;
}

/**
 * Symbol B (sign and mantissa) given the class of the value's own exponent.
 * Every B class is a union of A's groups (`aGroups`: A's partition of the
 * exponent axis), so a decoder knows the B class from A's group alone, i.e.
 * from A's rANS slot, before A's offset is read: B's rANS step then follows
 * A's without waiting for the exponent (docs/float.md, speed).
 */
function fitB(vals: Uint16Array, ex: Uint8Array, plan: FieldPlan, aGroups: readonly number[]): BFit {
  const n = vals.length;
  const SB = plan.bSpace;
  const E = plan.expSpace;
  const joint = new Float64Array(E * SB);
  const ctxCount = new Float64Array(E);
  const mMask = (1 << plan.mant) - 1;
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    const b = ((v >> (plan.bits - 1)) << plan.mant) | (v & mMask);
    joint[ex[i] * SB + b]++;
    ctxCount[ex[i]]++;
  }
  // The axis: A's groups that hold a value (each at its first exponent); a class bound is a group's start.
  const present: number[] = [];
  const units: [number, number][] = [];
  for (let g = 0; g + 1 < aGroups.length; g++) {
    let m = 0;
    for (let e = aGroups[g]; e < aGroups[g + 1]; e++) m += ctxCount[e];
    if (m > 0) {
      present.push(aGroups[g]);
      units.push([aGroups[g], aGroups[g + 1]]);
    }
  }
  if (present.length === 0) {
    present.push(0);
    units.push([0, 0]);
  }
  const P = present.length;
  const pre = new Float64Array((P + 1) * SB);
  for (let j = 0; j < P; j++) {
    for (let b = 0; b < SB; b++) {
      let m = 0;
      for (let e = units[j][0]; e < units[j][1]; e++) m += joint[e * SB + b];
      pre[(j + 1) * SB + b] = pre[j * SB + b] + m;
    }
  }
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
      const r = rowFor(vmin, groupMasses(h, vmin));
      const table = { vmin, counts: [r.counts] };
      t = { table, bits: r.bits + tableBits(table, SB) };
      cache.set(key, t);
    }
    return t;
  };
  let best: BFit | undefined;
  for (const bounds of partitions) {
    let bits = 4 + (bounds.length - 2) * (plan.exp + 1);
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

/** Symbol A of every value: the exponent (split), the byte (whole) or the order-preserving difference to x[i-D] (delta). */
function symbolsA(mode: FpackMode, vals: Uint16Array, ex: Uint8Array, D: number, blockValues: number): Uint16Array {
  if (mode === 'split') return Uint16Array.from(ex);
  if (mode === 'whole') return vals;
  const R = ORDER_CODE;
  const out = new Uint16Array(vals.length);
  for (let i = 0; i < vals.length; i++) out[i] = (R[vals[i]] - (i % blockValues >= D ? R[vals[i - D]] : NO_PREDICTION)) & 255;
  return out;
}

/** The distinct bit patterns, most frequent first (ties by value), or undefined above MAX_PALETTE of them. */
function distinctValues(vals: Uint16Array): number[] | undefined {
  const freq = new Float64Array(65536);
  let k = 0;
  for (let i = 0; i < vals.length; i++) {
    if (freq[vals[i]]++ === 0 && ++k > MAX_PALETTE) return undefined;
  }
  const out: number[] = [];
  for (let v = 0; v < 65536; v++) if (freq[v] > 0) out.push(v);
  out.sort((a, b) => freq[b] - freq[a] || a - b);
  // An empty tensor still gets a valid (one-entry) palette.
  if (out.length === 0) out.push(0);
  return out;
}

/**
 * Palette mode: symbol A is each value's index in the palette, coded as
 * whole mode codes a byte, its context the classes of the neighbours'
 * indices (exact contiguous classes of the index axis, as for exponents).
 * The most frequent values come first: A's contiguous groups then follow a
 * decreasing distribution, as APack's do over sorted symbols.
 */
function fitPalette(data: Uint8Array, dtype: FloatDtype, S: number): { bits: number; params: FpackParams } | undefined {
  const vals = valuesOf(data, fieldPlan(dtype, 'split'));
  const palette = distinctValues(vals);
  if (palette === undefined) return undefined;
  const plan = fieldPlan(dtype, 'palette');
  const at = new Uint16Array(65536);
  palette.forEach((v, i) => (at[v] = i));
  const idx = new Uint8Array(vals.length);
  for (let i = 0; i < vals.length; i++) idx[i] = at[vals[i]];
  const sym = Uint16Array.from(idx);
  const width = fieldPlan(dtype, 'split').bits;
  const blockValues = FIT_BLOCK_BYTES / (width / 8);
  let best: { bits: number; params: FpackParams } | undefined;
  for (const [D1, D2] of taps(S, blockValues)) {
    const a = fitA(sym, idx, plan, D1, D2, blockValues);
    const bits = 40 + 8 + width * palette.length + a.bits;
    if (!best || bits < best.bits) {
      best = { bits, params: { dtype, mode: 'palette', distance: D1, distance2: a.d2, aClasses: a.classes, aClasses2: a.classes2, a: a.table, bClasses: [], b: [], palette } };
    }
  }
  return best;
}

/** Neighbour taps tried: with a stride S (S, 2S), (S), none; without, (1, 2), (1), none. */
function taps(S: number, blockValues: number): [number, number][] {
  return S > 1 ? [[S, 2 * S < blockValues ? 2 * S : 0], [S, 0], [0, 0], [1, 0], [S, 1], [1, 2]] : [[1, 2], [1, 0], [0, 0]];
}

/** The header that codes `data` smallest (estimated with exact table costs, before rANS overhead). */
export function fitParams(data: Uint8Array, dtype: FloatDtype, options: FitOptions = {}): FpackParams {
  const modes: FpackMode[] = [];
  const bits8 = fieldPlan(dtype, 'split').bits === 8;
  const auto = options.mode === undefined || options.mode === 'auto';
  if (auto) modes.push(...(bits8 ? (['split', 'whole', 'delta', 'palette'] as const) : (['split', 'palette'] as const)));
  else modes.push(options.mode as FpackMode);
  let best: { bits: number; params: FpackParams } | undefined;
  for (const mode of modes) {
    if (mode === 'palette') {
      const bv = FIT_BLOCK_BYTES / (bits8 ? 1 : 2);
      const pal = fitPalette(data, dtype, options.stride !== undefined && options.stride < bv ? options.stride : 0);
      if (pal === undefined) {
        if (!auto) throw badArgument(`fpack mode "palette" needs at most ${MAX_PALETTE} distinct values`);
        continue;
      }
      if (!best || pal.bits < best.bits) best = pal;
      continue;
    }
    const plan = fieldPlan(dtype, mode);
    const vals = valuesOf(data, plan);
    const ex = new Uint8Array(vals.length);
    for (let i = 0; i < vals.length; i++) ex[i] = (vals[i] >> plan.mant) & (plan.expSpace - 1);
    const b = mode === 'split' ? fitB(vals, ex, plan, exponentGroups(ex, plan)) : undefined;
    const blockValues = FIT_BLOCK_BYTES / (plan.bits / 8);
    const S = options.stride !== undefined && options.stride < blockValues ? options.stride : 0;
    for (const [D1, D2] of taps(S, blockValues)) {
      if (mode === 'delta' && D1 === 0) continue;
      const a = fitA(symbolsA(mode, vals, ex, D1, blockValues), ex, plan, D1, D2);
      const bits = 40 + a.bits + (b ? b.bits : 0);
      if (!best || bits < best.bits) {
        best = {
          bits,
          params: { dtype, mode, distance: D1, distance2: a.d2, aClasses: a.classes, aClasses2: a.classes2, a: a.table, bClasses: b ? b.classes : [], b: b ? b.tables : [] },
        };
      }
    }
  }
  return { ...best!.params, states: FIT_STATES, version: FIT_VERSION };
}
