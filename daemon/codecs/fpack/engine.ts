import { COUNT_TOTAL, checkParams, type FieldPlan, type FpackParams, type GroupTable } from './params.ts';

/**
 * Lookup tables compiled once per model from the fpack header: what the
 * encoder and decoder loops index per value (docs/float.md lists them as the
 * per-lane state of a hardware coder).
 */
export interface Engine {
  readonly plan: FieldPlan;
  /** Symbol A is the whole byte (modes whole and delta). */
  readonly whole: boolean;
  /** Delta mode: symbol A is (R[v] - R[x[i-D]]) mod 256. */
  readonly delta: boolean;
  readonly distance: number;
  readonly distance2: number;
  /** rANS states per block (1, 2 or 4): value i is coded with state i mod states. */
  readonly states: number;
  /**
   * Exponent field -> A context part of the first neighbour (class * k2), of
   * the second neighbour (class), and B class (of the value itself).
   */
  readonly aClassOf: Uint8Array;
  readonly aClassOf2: Uint8Array;
  readonly bClassOf: Uint8Array;
  // Encoder: per (class, symbol value): f | cum << 11; per symbol value: offset | OL << 12.
  readonly aEnc: Int32Array;
  readonly aOff: Int32Array;
  readonly bEnc: Int32Array;
  readonly bOff: Int32Array;
  // Decoder: per (context, rANS slot) its group, one byte (1 KiB per context: the tables of many
  // regions stay in cache); per (context, group) f | cum << 11; per group (A: shared partition;
  // B: per class) vmin | OL << 11 | size << 15.
  readonly aSlot: Uint8Array;
  readonly aFC: Int32Array;
  readonly aGI: Int32Array;
  readonly bSlot: Uint8Array;
  readonly bFC: Int32Array;
  readonly bGI: Int32Array;
  /** 8-bit floats: byte -> the A context part of a first / second neighbour with that byte. */
  readonly byteClass1: Uint8Array;
  readonly byteClass2: Uint8Array;
  /**
   * Version-2 headers: at most this many of a block's last values are not
   * rANS-coded but carried, raw, in the encoder's initial states (0 in
   * version 1): floor(TAIL_BITS_PER_STATE * states / tailWidth).
   */
  readonly tail: number;
  /** Bits of one tail value: 16 for 16-bit split mode, 8 otherwise (the byte; in palette mode the index byte). */
  readonly tailWidth: number;
  /** Worst coded bits of one value (prefixes + offsets + raw bits). */
  readonly maxBitsPerValue: number;
}

/**
 * Tail bits a version-2 block puts in each rANS state (docs/float.md,
 * blocks). An initial state L + r costs the encoder log2((L + r) / L) bits
 * of renormalisation output, paid back when the decoder recovers r: under
 * a bit for r < 2^24 (L = 2^23), about one more per bit above. 24 bits
 * carry one bf16 value and a half per state almost for free.
 */
export const TAIL_BITS_PER_STATE = 24;

/** Order-preserving code of an 8-bit float (sign-magnitude -> offset binary), and its inverse. */
export const ORDER_CODE = Uint8Array.from({ length: 256 }, (_, b) => (b & 0x80 ? 0x7f - (b & 0x7f) : 0x80 | b));
export const ORDER_DECODE = (() => {
  const inv = new Uint8Array(256);
  ORDER_CODE.forEach((c, b) => (inv[c] = b));
  return inv;
})();
/** The prediction where a value has no neighbour: +0. */
export const NO_PREDICTION = 0x80;

function classMap(bounds: readonly number[], axis: number): Uint8Array {
  const m = new Uint8Array(axis);
  for (let c = 0; c + 1 < bounds.length; c++) m.fill(c, bounds[c], bounds[c + 1]);
  return m;
}

const offsetLength = (size: number): number => (size <= 1 ? 0 : 32 - Math.clz32(size - 1));

/** Fills the coder tables of one table row (class c) and returns its worst bits per symbol. */
/** Fills the coder tables of one table row and returns its worst bits per symbol. */
function fillRow(
  t: GroupTable,
  row: number,
  space: number,
  enc: Int32Array,
  off: Int32Array,
  slot: Uint8Array,
  fc: Int32Array,
  gi: Int32Array,
  encBase: number,
  row16: number,
): number {
  const counts = t.counts[row];
  let cum = 0;
  let worst = 0;
  for (let g = 0; g + 1 < t.vmin.length; g++) {
    const a = t.vmin[g];
    const b = t.vmin[g + 1];
    const f = counts[g];
    const ol = offsetLength(b - a);
    for (let v = a; v < b; v++) {
      enc[encBase + v] = f | (cum << 11);
      off[encBase + v] = (v - a) | (ol << 12);
    }
    slot.fill(g, (row16 << 6) + cum, (row16 << 6) + cum + f);
    fc[row16 + g] = f | (cum << 11);
    gi[row16 + g] = a | (ol << 11) | ((b - a) << 15);
    if (b > a) worst = Math.max(worst, Math.log2(COUNT_TOTAL / f) + ol);
    cum += f;
  }
  if (space !== t.vmin[t.vmin.length - 1]) throw new Error('fpack table does not tile its space');
  return worst;
}

export function buildEngine(p: FpackParams): Engine {
  const plan = checkParams(p);
  const whole = p.mode !== 'split';
  const k2 = p.aClasses2.length - 1;
  const kA = (p.aClasses.length - 1) * k2;
  const kB = whole ? 0 : p.bClasses.length - 1;
  const aClassOf = classMap(p.aClasses, plan.expSpace).map((c) => c * k2);
  const aClassOf2 = classMap(p.aClasses2, plan.expSpace);
  const aEnc = new Int32Array(kA * plan.aSpace);
  const aOffAll = new Int32Array(kA * plan.aSpace);
  const aSlot = new Uint8Array(kA * COUNT_TOTAL);
  const aFC = new Int32Array(kA * 16);
  const aGIAll = new Int32Array(kA * 16);
  let worstA = 0;
  for (let c = 0; c < kA; c++) worstA = Math.max(worstA, fillRow(p.a, c, plan.aSpace, aEnc, aOffAll, aSlot, aFC, aGIAll, c * plan.aSpace, c * 16));
  const bSpace = Math.max(1, plan.bSpace);
  const bEnc = new Int32Array(Math.max(1, kB) * bSpace);
  const bOff = new Int32Array(Math.max(1, kB) * bSpace);
  const bSlot = new Uint8Array(Math.max(1, kB) * COUNT_TOTAL);
  const bFC = new Int32Array(Math.max(1, kB) * 16);
  const bGI = new Int32Array(Math.max(1, kB) * 16);
  let worstB = 0;
  for (let c = 0; c < kB; c++) worstB = Math.max(worstB, fillRow(p.b[c], 0, plan.bSpace, bEnc, bOff, bSlot, bFC, bGI, c * bSpace, c * 16));
  // 8-bit floats: a neighbour's context part straight from its byte.
  const byteClass1 = new Uint8Array(256);
  const byteClass2 = new Uint8Array(256);
  if (plan.bits === 8) {
    for (let v = 0; v < 256; v++) {
      byteClass1[v] = aClassOf[(v >> plan.mant) & (plan.expSpace - 1)];
      byteClass2[v] = aClassOf2[(v >> plan.mant) & (plan.expSpace - 1)];
    }
  }
  const states = p.states ?? 1;
  const tailWidth = !whole && plan.bits === 16 ? 16 : 8;
  return {
    plan,
    whole,
    tail: (p.version ?? 1) === 2 ? Math.floor((TAIL_BITS_PER_STATE * states) / tailWidth) : 0,
    tailWidth,
    delta: p.mode === 'delta',
    distance: p.distance,
    distance2: p.distance2,
    states,
    aClassOf,
    aClassOf2,
    byteClass1,
    byteClass2,
    bClassOf: whole ? new Uint8Array(plan.expSpace) : classMap(p.bClasses, plan.expSpace),
    aEnc,
    aOff: aOffAll.subarray(0, plan.aSpace),
    bEnc,
    bOff,
    aSlot,
    aFC,
    aGI: aGIAll.subarray(0, 16),
    bSlot,
    bFC,
    bGI,
    maxBitsPerValue: worstA + worstB,
  };
}
