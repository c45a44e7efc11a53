import { COUNT_TOTAL, UNAVAILABLE, classesB, offsetLength, type SccConfig, type SccParams } from './config.ts';
import { ADAPTIVE_INIT_FLOOR, ADAPTIVE_ONE } from './adaptive.ts';

/**
 * A configuration compiled into the lookup tables the block coder reads per
 * value (built once per model, never per block).
 */
export interface Engine {
  readonly adaptive: boolean;
  readonly predictor: boolean;
  /** 0 none, 1 x[i−1], 2 x[i−S], 3 CC. */
  readonly tapA: number;
  /** Distance of tap A, 0 when it is not a value tap. */
  readonly dA: number;
  /** Distance of tap B, 0 when there is none. */
  readonly dB: number;
  /** Classes of tap B (the row length of the context map). */
  readonly nB: number;
  readonly stride: number;
  /** Context-partition class of every raw value (index 256 is never read). */
  readonly ctxClass: Uint8Array;
  readonly map: Uint8Array;
  readonly tables: number;
  readonly groups: number;
  /** Per coded symbol u: group, offset inside it, offset length. */
  readonly symOf: Uint8Array;
  readonly offOf: Uint8Array;
  readonly olOf: Uint8Array;
  /** Per group: first value, size, offset length, 1 when the group is non-empty. */
  readonly groupBase: Int32Array;
  readonly groupSize: Int32Array;
  readonly groupOl: Int32Array;
  readonly live: Int32Array;
  /** Static: per table × 16 groups: count and cumulative count; per table × 1024 slots: the group. */
  readonly freq: Int32Array;
  readonly cum: Int32Array;
  readonly slot: Uint8Array;
  /** Adaptive: initial estimator value per table × 16 groups (both estimators start equal). */
  readonly init: Int32Array;
  /** Adaptive: initial coding probability per table × 16 and its total per table. */
  readonly initQ: Int32Array;
  readonly initTotal: Int32Array;
  /** Adaptive: per table the list of groups whose estimators still move (absolute index table·16 + group), its length, and a flag per group. */
  readonly initActive: Int32Array;
  readonly initActiveCount: Int32Array;
  readonly initIsActive: Uint8Array;
  /** Worst-case bits of one value (prefix + offset), for buffer bounds. */
  readonly maxBitsPerValue: number;
}

const TAP_A_CODE = { none: 0, x1: 1, xS: 2, cc: 3 } as const;

export function tapDistance(tap: string, stride: number): number {
  switch (tap) {
    case 'x1':
      return 1;
    case 'x2':
      return 2;
    case 'xS':
      return stride;
    case 'x2S':
      return 2 * stride;
    default:
      return 0;
  }
}

/** Class of every raw value under a partition (groups 0..15). */
export function classOfValue(vmin: readonly number[]): Uint8Array {
  const cls = new Uint8Array(257);
  for (let g = 0; g + 1 < vmin.length; g++) cls.fill(g, vmin[g], vmin[g + 1]);
  cls[256] = UNAVAILABLE;
  return cls;
}

export function buildEngine(c: SccConfig, stride: number): Engine {
  const groups = c.codingVmin.length - 1;
  const k = c.tables.length;
  const symOf = new Uint8Array(256);
  const offOf = new Uint8Array(256);
  const olOf = new Uint8Array(256);
  const groupBase = new Int32Array(16);
  const groupSize = new Int32Array(16);
  const groupOl = new Int32Array(16);
  const live = new Int32Array(16);
  for (let g = 0; g < groups; g++) {
    const a = c.codingVmin[g];
    const b = c.codingVmin[g + 1];
    const ol = offsetLength(b - a);
    groupBase[g] = a;
    groupSize[g] = b - a;
    groupOl[g] = ol;
    live[g] = b > a ? 1 : 0;
    for (let v = a; v < b; v++) {
      symOf[v] = g;
      offOf[v] = v - a;
      olOf[v] = ol;
    }
  }
  const freq = new Int32Array(k * 16);
  const cum = new Int32Array(k * 16);
  const slot = new Uint8Array(k * COUNT_TOTAL);
  const init = new Int32Array(k * 16);
  const initQ = new Int32Array(k * 16);
  const initTotal = new Int32Array(k);
  const initActive = new Int32Array(k * 16);
  const initActiveCount = new Int32Array(k);
  const initIsActive = new Uint8Array(k * 16);
  let maxBits = 0;
  for (let t = 0; t < k; t++) {
    let acc = 0;
    let tot = 0;
    for (let g = 0; g < groups; g++) {
      const q = c.tables[t][g];
      freq[t * 16 + g] = q;
      cum[t * 16 + g] = acc;
      slot.fill(g, t * COUNT_TOTAL + acc, t * COUNT_TOTAL + acc + q);
      acc += q;
      if (live[g]) {
        const e = Math.max(ADAPTIVE_ONE / COUNT_TOTAL * q, ADAPTIVE_INIT_FLOOR);
        init[t * 16 + g] = e;
        initQ[t * 16 + g] = Math.max(1, (2 * e) >> 4);
        tot += initQ[t * 16 + g];
        // 32·count ≥ 32: every non-empty group starts out moving
        initActive[t * 16 + initActiveCount[t]++] = t * 16 + g;
        initIsActive[t * 16 + g] = 1;
        maxBits = Math.max(maxBits, groupOl[g]);
      }
    }
    initTotal[t] = tot;
  }
  // Prefix bits: at most log2(1024) static, log2(total) ≤ 16 adaptive, plus coder slack.
  maxBits += c.adaptive ? 17 : 11;
  return {
    adaptive: c.adaptive,
    predictor: c.predictor,
    tapA: TAP_A_CODE[c.tapA],
    dA: c.tapA === 'x1' || c.tapA === 'xS' ? tapDistance(c.tapA, stride) : 0,
    dB: tapDistance(c.tapB, stride),
    nB: classesB(c.tapB),
    stride,
    ctxClass: classOfValue(c.contextVmin),
    map: c.map,
    tables: k,
    groups,
    symOf,
    offOf,
    olOf,
    groupBase,
    groupSize,
    groupOl,
    live,
    freq,
    cum,
    slot,
    init,
    initQ,
    initTotal,
    initActive,
    initActiveCount,
    initIsActive,
    maxBitsPerValue: maxBits,
  };
}

/** Channel class of every block position below `length` (CC[p mod S]; 0 past the stored map). */
export function ccPositions(p: SccParams, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (p.cc.length === 0) return out;
  for (let i = 0, c = 0; i < length; i++) {
    out[i] = c < p.cc.length ? p.cc[c] : 0;
    if (++c === p.stride) c = 0;
  }
  return out;
}
