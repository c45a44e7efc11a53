import { BitReader, BitWriter } from '../bits.ts';
import { CodecError, corrupt } from '../errors.ts';
import { MAX_STRIDE } from '../stride.ts';

/**
 * The SCC tensor header (docs/scc.md): the per-tensor parameters of the
 * shimpack context codec, and their strict serialisation.
 *
 * A configuration is one setting of the datapath: an optional x[i−S]
 * predictor, two context taps, static or adaptive tables, the context
 * partition that classifies tap values, the coding partition shared by all
 * tables, K ≤ 16 tables of 10-bit counts and the context map from the fine
 * context (tap A class, tap B class) to a table.
 */

/** Values per block the encoder assumes when it fits (the design's 4 KiB blocks). */
export const FIT_BLOCK = 4096;
/** Channel classes are stored for block positions mod S below this (positions never exceed a block). */
export const CC_MAP_LIMIT = 4096;
export const MAX_TABLES = 16;
export const MAX_GROUPS = 16;
export const COUNT_BITS = 10;
export const COUNT_TOTAL = 1 << COUNT_BITS;
/** Tap class of a value outside the block (classes 0..15 are context-partition groups). */
export const UNAVAILABLE = 16;
export const TAP_CLASSES = 17;

/** Tap A: none (order-0), x[i−1], x[i−S], or the channel class CC[i mod S]. */
export const TAP_A = ['none', 'x1', 'xS', 'cc'] as const;
/** Tap B: none, x[i−2], x[i−S], x[i−2S]. */
export const TAP_B = ['none', 'x2', 'xS', 'x2S'] as const;
export type TapA = (typeof TAP_A)[number];
export type TapB = (typeof TAP_B)[number];

/** How a tensor is coded: stored raw, one configuration, or two with a per-block select bit. */
export const SCC_KINDS = ['raw', 'single', 'switch'] as const;
export type SccKind = (typeof SCC_KINDS)[number];

export interface SccConfig {
  readonly predictor: boolean;
  readonly tapA: TapA;
  readonly tapB: TapB;
  readonly adaptive: boolean;
  /** Context partition (group boundaries, 0 ... 256) classifying tap values; [0, 256] when no value tap. */
  readonly contextVmin: readonly number[];
  /** Coding partition of the coded symbol u, shared by all tables. */
  readonly codingVmin: readonly number[];
  /** K tables, one count per coding group (0 exactly for empty groups), each summing to 1024. */
  readonly tables: readonly (readonly number[])[];
  /** Table of every fine context a·nB + b; all zeros when K = 1. */
  readonly map: Uint8Array;
}

export interface SccParams {
  readonly kind: SccKind;
  readonly stride: number;
  readonly configs: readonly SccConfig[];
  /** Channel class (0..3) of block positions p mod S, for p mod S < min(S, 4096); empty when no configuration uses CC. */
  readonly cc: Uint8Array;
}

/** Number of classes of tap A / tap B (the fine-context grid is nA × nB). */
export const classesA = (t: TapA): number => (t === 'none' ? 1 : t === 'cc' ? 4 : TAP_CLASSES);
export const classesB = (t: TapB): number => (t === 'none' ? 1 : TAP_CLASSES);
/** Does the configuration classify tap values with its context partition? */
export const usesValueTaps = (c: Pick<SccConfig, 'tapA' | 'tapB'>): boolean => c.tapA === 'x1' || c.tapA === 'xS' || c.tapB !== 'none';
export const ccMapLength = (stride: number): number => Math.min(stride, CC_MAP_LIMIT);

/** ceil(log2(size)); 0 for groups of 0 or 1 value. */
export function offsetLength(size: number): number {
  let ol = 0;
  while (1 << ol < size) ol++;
  return ol;
}

function checkPartition(vmin: readonly number[], what: string): void {
  const g = vmin.length - 1;
  if (g < 1 || g > MAX_GROUPS) throw corrupt(`SCC ${what} has ${g} groups (1 ... ${MAX_GROUPS})`);
  if (vmin[0] !== 0 || vmin[g] !== 256) throw corrupt(`SCC ${what} does not tile 0 ... 255`);
  for (let i = 0; i < g; i++) {
    if (!Number.isInteger(vmin[i + 1]) || vmin[i + 1] < vmin[i]) throw corrupt(`SCC ${what} boundaries are not non-decreasing`);
  }
}

/** Every invariant of a configuration; throws E_CORRUPT (parse) — fit() only builds valid ones. */
export function checkConfig(c: SccConfig): void {
  if (!TAP_A.includes(c.tapA) || !TAP_B.includes(c.tapB)) throw corrupt('SCC configuration has an unknown tap');
  if (c.tapA === 'none' && c.tapB !== 'none') throw corrupt('SCC configuration has tap B without tap A');
  checkPartition(c.contextVmin, 'context partition');
  if (!usesValueTaps(c) && c.contextVmin.length !== 2) throw corrupt('SCC configuration without value taps carries a context partition');
  checkPartition(c.codingVmin, 'coding partition');
  const k = c.tables.length;
  if (k < 1 || k > MAX_TABLES) throw corrupt(`SCC configuration has ${k} tables (1 ... ${MAX_TABLES})`);
  const groups = c.codingVmin.length - 1;
  for (const t of c.tables) {
    if (t.length !== groups) throw corrupt('SCC table does not match its coding partition');
    let sum = 0;
    for (let g = 0; g < groups; g++) {
      const empty = c.codingVmin[g + 1] === c.codingVmin[g];
      if (!Number.isInteger(t[g]) || (empty ? t[g] !== 0 : t[g] < 1 || t[g] > COUNT_TOTAL)) throw corrupt(`SCC table count ${t[g]} is invalid for group ${g}`);
      sum += t[g];
    }
    if (sum !== COUNT_TOTAL) throw corrupt(`SCC table counts sum to ${sum}, not ${COUNT_TOTAL}`);
  }
  const cells = classesA(c.tapA) * classesB(c.tapB);
  if (c.map.length !== cells) throw corrupt(`SCC context map has ${c.map.length} entries, expected ${cells}`);
  for (let i = 0; i < cells; i++) if (c.map[i] >= k) throw corrupt(`SCC context map entry ${c.map[i]} names a missing table`);
}

export function checkParams(p: SccParams): void {
  if (!SCC_KINDS.includes(p.kind)) throw corrupt('SCC header has an unknown kind');
  if (!Number.isInteger(p.stride) || p.stride < 1 || p.stride > MAX_STRIDE) throw corrupt(`SCC stride ${p.stride} is out of range`);
  const want = p.kind === 'raw' ? 0 : p.kind === 'single' ? 1 : 2;
  if (p.configs.length !== want) throw corrupt(`SCC ${p.kind} header holds ${p.configs.length} configurations`);
  p.configs.forEach(checkConfig);
  const needCc = p.configs.some((c) => c.tapA === 'cc');
  if (p.cc.length !== (needCc ? ccMapLength(p.stride) : 0)) throw corrupt('SCC channel-class map has the wrong length');
  for (let i = 0; i < p.cc.length; i++) if (p.cc[i] > 3) throw corrupt('SCC channel class above 3');
}

// ---------------------------------------------------------------------------
// Serialisation: MSB-first bit fields, zero-padded to a whole byte.
//   8 bits kind (0 raw, 1 single, 2 switch) · 16 bits stride
//   per configuration:
//     1 predictor · 2 tap A · 2 tap B · 1 adaptive
//     context partition, only with value taps: 4 bits groups−1, (groups−1) × 9-bit inner boundaries
//     coding partition: 4 bits groups−1, (groups−1) × 9-bit inner boundaries
//     4 bits K−1 · per table, per non-empty group: 10 bits count−1
//     context map, only when K > 1: nA·nB × 4 bits
//   CC map, only when a configuration uses CC: min(S, 4096) × 2 bits

function writePartition(w: BitWriter, vmin: readonly number[]): void {
  w.write(vmin.length - 2, 4);
  for (let i = 1; i < vmin.length - 1; i++) w.write(vmin[i], 9);
}

function partitionBits(vmin: readonly number[]): number {
  return 4 + 9 * (vmin.length - 2);
}

function configBits(c: SccConfig): number {
  let bits = 6 + partitionBits(c.codingVmin) + 4;
  if (usesValueTaps(c)) bits += partitionBits(c.contextVmin);
  for (const t of c.tables) for (const q of t) if (q > 0) bits += COUNT_BITS;
  if (c.tables.length > 1) bits += 4 * c.map.length;
  return bits;
}

export function serialiseParams(p: SccParams): Uint8Array {
  checkParams(p);
  const bits = 24 + p.configs.reduce((s, c) => s + configBits(c), 0) + 2 * p.cc.length;
  const buf = new Uint8Array(Math.ceil(bits / 8));
  const w = new BitWriter(buf);
  w.write(SCC_KINDS.indexOf(p.kind), 8);
  w.write(p.stride, 16);
  for (const c of p.configs) {
    w.write(c.predictor ? 1 : 0, 1);
    w.write(TAP_A.indexOf(c.tapA), 2);
    w.write(TAP_B.indexOf(c.tapB), 2);
    w.write(c.adaptive ? 1 : 0, 1);
    if (usesValueTaps(c)) writePartition(w, c.contextVmin);
    writePartition(w, c.codingVmin);
    w.write(c.tables.length - 1, 4);
    for (const t of c.tables) for (const q of t) if (q > 0) w.write(q - 1, COUNT_BITS);
    if (c.tables.length > 1) for (let i = 0; i < c.map.length; i++) w.write(c.map[i], 4);
  }
  for (let i = 0; i < p.cc.length; i++) w.write(p.cc[i], 2);
  w.finish();
  return buf;
}

function readPartition(r: BitReader, what: string): number[] {
  const groups = r.read(4) + 1;
  const vmin = [0];
  for (let i = 1; i < groups; i++) {
    const b = r.read(9);
    if (b < vmin[i - 1] || b > 256) throw corrupt(`SCC ${what} boundary ${b} is out of order or above 256`);
    vmin.push(b);
  }
  vmin.push(256);
  return vmin;
}

/** Strict inverse of serialiseParams: anything malformed is E_CORRUPT (E_TRUNCATED when short). */
export function parseParams(buf: Uint8Array): SccParams {
  if (buf.length < 3) throw corrupt(`SCC header of ${buf.length} bytes is shorter than its kind and stride`);
  try {
    const r = new BitReader(buf);
    const kindId = r.read(8);
    if (kindId >= SCC_KINDS.length) throw corrupt(`SCC header kind ${kindId} is unknown`);
    const kind = SCC_KINDS[kindId];
    const stride = r.read(16);
    if (stride < 1) throw corrupt('SCC stride 0 is out of range');
    const configs: SccConfig[] = [];
    const n = kind === 'raw' ? 0 : kind === 'single' ? 1 : 2;
    for (let ci = 0; ci < n; ci++) {
      const predictor = r.read(1) === 1;
      const tapA = TAP_A[r.read(2)];
      const tapB = TAP_B[r.read(2)];
      const adaptive = r.read(1) === 1;
      if (tapA === 'none' && tapB !== 'none') throw corrupt('SCC configuration has tap B without tap A');
      const contextVmin = usesValueTaps({ tapA, tapB }) ? readPartition(r, 'context partition') : [0, 256];
      const codingVmin = readPartition(r, 'coding partition');
      const k = r.read(4) + 1;
      const tables: number[][] = [];
      for (let t = 0; t < k; t++) {
        const counts: number[] = [];
        for (let g = 0; g + 1 < codingVmin.length; g++) counts.push(codingVmin[g + 1] > codingVmin[g] ? r.read(COUNT_BITS) + 1 : 0);
        tables.push(counts);
      }
      const map = new Uint8Array(classesA(tapA) * classesB(tapB));
      if (k > 1) for (let i = 0; i < map.length; i++) map[i] = r.read(4);
      configs.push({ predictor, tapA, tapB, adaptive, contextVmin, codingVmin, tables, map });
    }
    const cc = new Uint8Array(configs.some((c) => c.tapA === 'cc') ? ccMapLength(stride) : 0);
    for (let i = 0; i < cc.length; i++) cc[i] = r.read(2);
    if (Math.ceil(r.position / 8) !== buf.length) throw corrupt(`SCC header is ${buf.length} bytes, its fields use ${Math.ceil(r.position / 8)}`);
    if (r.bitsLeft > 0 && r.read(r.bitsLeft) !== 0) throw corrupt('SCC header padding bits are not zero');
    const p: SccParams = { kind, stride, configs, cc };
    checkParams(p);
    return p;
  } catch (e) {
    if (e instanceof CodecError && e.code === 'E_TRUNCATED') throw corrupt(`SCC header is cut short: ${e.message}`);
    throw e;
  }
}

/** One line per configuration, for `shimpack inspect`. */
export function describeConfig(c: SccConfig): string {
  const taps = c.tapA === 'none' ? 'order-0' : c.tapB === 'none' ? `tap ${c.tapA}` : `taps ${c.tapA}, ${c.tapB}`;
  const groups = c.codingVmin.length - 1;
  return `${c.predictor ? 'predictor x[i-S], ' : ''}${taps}, ${c.adaptive ? 'adaptive' : 'static'}, ${c.tables.length} table${c.tables.length > 1 ? 's' : ''}, ${groups} coding groups`;
}
