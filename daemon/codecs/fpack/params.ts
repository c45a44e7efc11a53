import { BitReader, BitWriter } from '../bits.ts';
import { floatLayout, type FloatDtype } from '../dtype.ts';
import { CodecError, corrupt } from '../errors.ts';
import { MAX_STRIDE } from '../stride.ts';

/**
 * The fpack tensor header (docs/float.md): the per-tensor tables of the
 * exponent-aware float codec and their strict serialisation.
 *
 * A value is cut into fields by its dtype's layout (sign | exponent E |
 * mantissa M). Two ways to code it:
 * - split: symbol A is the exponent field, coded given the classes of two
 *   neighbours' exponents (x[i-D1], x[i-D2]); symbol B is the sign and the
 *   mantissa, coded given the class of the value's own exponent.
 * - whole (8-bit dtypes only): symbol A is the whole byte, coded given the
 *   classes of the neighbours' exponents.
 * - delta (8-bit dtypes only): symbol A is the difference mod 256 between
 *   the byte and the first neighbour's byte, both mapped to an
 *   order-preserving code (sign-magnitude -> offset binary), given the same
 *   contexts: smooth activation maps leave small differences.
 * - palette: the tensor holds at most 256 distinct bit patterns (e.g.
 *   dequantised 8-bit codes); the header lists them (the fit puts the most
 *   frequent first), symbol A is a value's index in that list, coded as
 *   whole mode codes a byte, given the classes of the neighbours' indices
 *   (palette.ts).
 * Each symbol is APack's group + offset: a table of at most 16 contiguous
 * groups tiling the symbol's space, the group entropy-coded with a 10-bit
 * count, the offset in the group raw.
 */

export const MAX_GROUPS = 16;
export const MAX_CLASSES = 16;
/** Most count rows of symbol A (k1 * k2). */
export const MAX_A_ROWS = 64;
export const COUNT_BITS = 10;
export const COUNT_TOTAL = 1 << COUNT_BITS;
/** Header versions: 1, every rANS state starts at L; 2, the block's last values ride in the initial states (docs/float.md, blocks). */
export const FPACK_VERSIONS = [1, 2] as const;
export type FpackVersion = (typeof FPACK_VERSIONS)[number];

export const FPACK_MODES = ['split', 'whole', 'delta', 'palette'] as const;
/** Most entries of a palette (its indices are bytes). */
export const MAX_PALETTE = 256;
/** rANS states per block: value i is coded with state i mod K (docs/float.md, blocks). */
export const FPACK_STATES = [1, 2, 4] as const;
export type FpackStates = (typeof FPACK_STATES)[number];
export type FpackMode = (typeof FPACK_MODES)[number];

/** One group table: vmin[0] = 0 < ... (non-decreasing) ... vmin[G] = space; one count row per context class. */
export interface GroupTable {
  readonly vmin: readonly number[];
  /** counts[class][group], each row summing to COUNT_TOTAL; 0 exactly for empty groups. */
  readonly counts: readonly (readonly number[])[];
}

export interface FpackParams {
  readonly dtype: FloatDtype;
  readonly mode: FpackMode;
  /** First neighbour's distance in values (the stride S, 1, or 0 for none). */
  readonly distance: number;
  /** Second neighbour's distance (typically 1 when the first is S; 0 for none). */
  readonly distance2: number;
  /** Class bounds over the first neighbour's exponent axis [0, 2^E]: k1 + 1 entries. */
  readonly aClasses: readonly number[];
  /** Class bounds over the second neighbour's exponent axis: k2 + 1 entries (one class without a second neighbour). */
  readonly aClasses2: readonly number[];
  /** Symbol A's table: one partition, one count row per context (c1 * k2 + c2). */
  readonly a: GroupTable;
  /** Split mode: class bounds over the value's own exponent axis: kB + 1 entries. */
  readonly bClasses: readonly number[];
  /** Split mode: one table (own partition, one count row) per B class. */
  readonly b: readonly GroupTable[];
  /**
   * Palette mode: 1 ... 256 distinct bit patterns of the dtype, in the
   * order of their indices (the fit: most frequent first, so that A's
   * contiguous groups fit the index distribution); empty in the other
   * modes. The A classes are then over the neighbours' indices (axis
   * 0 ... 256), A's table over the index byte.
   */
  readonly palette?: readonly number[];
  /** rANS states per block, interleaved value by value; absent: 1 (the first layout, header bits 0). */
  readonly states?: FpackStates;
  /**
   * Header version; absent: 1. Version 2 blocks carry their last values raw
   * in the encoder's initial rANS states (engine.ts `tail`), what fits write.
   */
  readonly version?: FpackVersion;
}

/** Spaces and widths a dtype and mode give. */
export interface FieldPlan {
  readonly bits: 8 | 16;
  readonly exp: number;
  readonly mant: number;
  readonly expSpace: number;
  readonly aSpace: number;
  readonly bSpace: number;
}

export function fieldPlan(dtype: FloatDtype, mode: FpackMode): FieldPlan {
  const l = floatLayout(dtype);
  if (mode === 'palette') {
    // The plan of the index bytes: whole mode over an 8-bit symbol whose "exponent" axis is the index itself.
    return { bits: 8, exp: 8, mant: 0, expSpace: 256, aSpace: 256, bSpace: 0 };
  }
  if (mode !== 'split' && l.bits !== 8) throw new CodecError('E_BAD_ARGUMENT', `fpack mode "${mode}" is for 8-bit floats, not ${dtype}`);
  return {
    bits: l.bits,
    exp: l.exp,
    mant: l.mant,
    expSpace: 1 << l.exp,
    aSpace: mode !== 'split' ? 256 : 1 << l.exp,
    bSpace: mode !== 'split' ? 0 : 1 << (1 + l.mant),
  };
}

const log2 = (space: number): number => Math.round(Math.log2(space));

/** Checks a table's invariants; throws E_CORRUPT. */
function checkTable(t: GroupTable, space: number, rows: number, what: string): void {
  const g = t.vmin.length - 1;
  if (g < 1 || g > MAX_GROUPS) throw corrupt(`${what}: ${g} groups (1 ... ${MAX_GROUPS})`);
  if (t.vmin[0] !== 0 || t.vmin[g] !== space) throw corrupt(`${what}: groups must tile 0 ... ${space - 1}`);
  if (t.counts.length !== rows) throw corrupt(`${what}: ${t.counts.length} count rows, expected ${rows}`);
  for (let i = 0; i < g; i++) if (!(t.vmin[i + 1] >= t.vmin[i])) throw corrupt(`${what}: boundaries must be non-decreasing`);
  for (const row of t.counts) {
    if (row.length !== g) throw corrupt(`${what}: a count row has ${row.length} entries for ${g} groups`);
    let sum = 0;
    for (let i = 0; i < g; i++) {
      const c = row[i];
      const empty = t.vmin[i + 1] === t.vmin[i];
      if (!Number.isInteger(c) || c < 0 || c > COUNT_TOTAL || (empty ? c !== 0 : c === 0)) throw corrupt(`${what}: count ${c} of group ${i} is invalid`);
      sum += c;
    }
    if (sum !== COUNT_TOTAL) throw corrupt(`${what}: counts sum to ${sum}, not ${COUNT_TOTAL}`);
  }
}

function checkDistinct(pal: readonly number[]): void {
  const seen = new Set<number>();
  for (const v of pal) {
    if (seen.has(v)) throw corrupt(`fpack palette holds ${v} twice`);
    seen.add(v);
  }
}

function checkClasses(bounds: readonly number[], axis: number, what: string): void {
  const k = bounds.length - 1;
  if (k < 1 || k > MAX_CLASSES) throw corrupt(`${what}: ${k} classes (1 ... ${MAX_CLASSES})`);
  if (bounds[0] !== 0 || bounds[k] !== axis) throw corrupt(`${what}: classes must tile 0 ... ${axis - 1}`);
  for (let i = 0; i < k; i++) if (!(bounds[i + 1] > bounds[i])) throw corrupt(`${what}: class bounds must increase`);
}

/** Throws E_CORRUPT unless the parameters are a valid model for their dtype. */
export function checkParams(p: FpackParams): FieldPlan {
  const f = fieldPlan(p.dtype, p.mode);
  for (const d of [p.distance, p.distance2]) if (!Number.isInteger(d) || d < 0 || d > MAX_STRIDE) throw corrupt(`fpack neighbour distance ${d} is out of range`);
  checkClasses(p.aClasses, f.expSpace, 'fpack A classes');
  checkClasses(p.aClasses2, f.expSpace, 'fpack A classes of the second neighbour');
  if (p.distance2 === 0 && p.aClasses2.length !== 2) throw corrupt('fpack has classes for a second neighbour it does not use');
  const rows = (p.aClasses.length - 1) * (p.aClasses2.length - 1);
  if (rows > MAX_A_ROWS) throw corrupt(`fpack A table has ${rows} contexts (at most ${MAX_A_ROWS})`);
  checkTable(p.a, f.aSpace, rows, 'fpack A table');
  if (p.mode === 'split') {
    checkClasses(p.bClasses, f.expSpace, 'fpack B classes');
    if (p.b.length !== p.bClasses.length - 1) throw corrupt(`fpack has ${p.b.length} B tables for ${p.bClasses.length - 1} classes`);
    p.b.forEach((t, i) => checkTable(t, f.bSpace, 1, `fpack B table ${i}`));
  } else if (p.b.length !== 0 || p.bClasses.length !== 0) throw corrupt(`fpack ${p.mode} mode carries B tables`);
  if (p.mode === 'delta' && p.distance === 0) throw corrupt('fpack delta mode needs a neighbour');
  const pal = p.palette ?? [];
  if (p.mode === 'palette') {
    if (pal.length < 1 || pal.length > MAX_PALETTE) throw corrupt(`fpack palette of ${pal.length} entries (1 ... ${MAX_PALETTE})`);
    const bits = floatLayout(p.dtype).bits;
    for (const v of pal) if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw corrupt(`fpack palette entry ${v} is not a ${bits}-bit pattern`);
    checkDistinct(pal);
  } else if (pal.length !== 0) throw corrupt(`fpack ${p.mode} mode carries a palette`);
  if (p.states !== undefined && !(FPACK_STATES as readonly number[]).includes(p.states)) throw corrupt(`fpack blocks have 1, 2 or 4 rANS states, not ${p.states}`);
  if (p.version !== undefined && !(FPACK_VERSIONS as readonly number[]).includes(p.version)) throw corrupt(`fpack header version ${p.version} is not 1 or 2`);
  return f;
}

// Layout, MSB-first, zero-padded to a byte:
//   4 bits version (1 or 2: the same fields; 2 changes the blocks, docs/float.md) | 2 bits mode (0 split, 1 whole, 2 delta, 3 palette) | 2 bits log2(rANS states) (0, 1, 2; 0 in headers
//   older than the interleaved states) | 16 bits distance | 16 bits distance2
//   palette: 8 bits K-1 | K x (8 or 16: the dtype's width) bits entries, distinct
//   A: classes (first neighbour) | classes (second neighbour) | table(aSpace, k1 x k2 rows)
//   classes: 4 bits k-1 | (k-1) x (E+1) bits inner bounds
//   split: classes (own exponent) | kB x table(bSpace, 1 row)
//   table(space, rows): 4 bits G-1 | (G-1) x (log2 space + 1) bits inner vmin | rows x (count-1, 10 bits per non-empty group)

function writeTable(w: BitWriter, t: GroupTable, space: number): void {
  const g = t.vmin.length - 1;
  w.write(g - 1, 4);
  for (let i = 1; i < g; i++) w.write(t.vmin[i], log2(space) + 1);
  for (const row of t.counts) for (let i = 0; i < g; i++) if (t.vmin[i + 1] > t.vmin[i]) w.write(row[i] - 1, COUNT_BITS);
}

function readTable(r: BitReader, space: number, rows: number): GroupTable {
  const g = r.read(4) + 1;
  const vmin = [0];
  for (let i = 1; i < g; i++) vmin.push(r.read(log2(space) + 1));
  vmin.push(space);
  for (let i = 1; i <= g; i++) if (vmin[i] < vmin[i - 1] || vmin[i] > space) throw corrupt('fpack table boundaries must be non-decreasing and within the space');
  const counts: number[][] = [];
  for (let c = 0; c < rows; c++) {
    const row: number[] = [];
    for (let i = 0; i < g; i++) row.push(vmin[i + 1] > vmin[i] ? r.read(COUNT_BITS) + 1 : 0);
    counts.push(row);
  }
  return { vmin, counts };
}

/** Bits of a table in the header. */
export function tableBits(t: GroupTable, space: number): number {
  const g = t.vmin.length - 1;
  let nonEmpty = 0;
  for (let i = 0; i < g; i++) if (t.vmin[i + 1] > t.vmin[i]) nonEmpty++;
  return 4 + (g - 1) * (log2(space) + 1) + t.counts.length * nonEmpty * COUNT_BITS;
}

export function serialiseParams(p: FpackParams): Uint8Array {
  const f = checkParams(p);
  const buf = new Uint8Array(4096);
  const w = new BitWriter(buf);
  w.write(p.version ?? 1, 4);
  w.write(FPACK_MODES.indexOf(p.mode), 2);
  w.write(Math.log2(p.states ?? 1), 2);
  w.write(p.distance, 16);
  w.write(p.distance2, 16);
  if (p.mode === 'palette') {
    const pal = p.palette!;
    w.write(pal.length - 1, 8);
    for (const v of pal) w.write(v, floatLayout(p.dtype).bits);
  }
  const classes = (bounds: readonly number[]): void => {
    w.write(bounds.length - 2, 4);
    for (let i = 1; i + 1 < bounds.length; i++) w.write(bounds[i], f.exp + 1);
  };
  classes(p.aClasses);
  classes(p.aClasses2);
  writeTable(w, p.a, f.aSpace);
  if (p.mode === 'split') {
    classes(p.bClasses);
    for (const t of p.b) writeTable(w, t, f.bSpace);
  }
  return buf.slice(0, w.finish());
}

/** Strict inverse of serialiseParams: anything malformed throws E_CORRUPT. */
export function parseParams(buf: Uint8Array, dtype: FloatDtype): FpackParams {
  if (buf.length < 5) throw corrupt(`fpack header of ${buf.length} bytes is too short`);
  try {
    const r = new BitReader(buf);
    const version = r.read(4);
    if (version !== 1 && version !== 2) throw corrupt(`fpack header version ${version} is not 1 or 2`);
    const m = r.read(2);
    if (m >= FPACK_MODES.length) throw corrupt(`fpack mode ${m} is unknown`);
    const mode: FpackMode = FPACK_MODES[m];
    const log2States = r.read(2);
    if (log2States >= FPACK_STATES.length) throw corrupt(`fpack header asks for ${1 << log2States} rANS states (1, 2 or 4)`);
    const states = FPACK_STATES[log2States];
    const distance = r.read(16);
    const distance2 = r.read(16);
    const f = fieldPlan(dtype, mode);
    let palette: number[] | undefined;
    if (mode === 'palette') {
      const k = r.read(8) + 1;
      palette = [];
      const bits = floatLayout(dtype).bits;
      for (let i = 0; i < k; i++) palette.push(r.read(bits));
      checkDistinct(palette);
    }
    const classes = (): number[] => {
      const k = r.read(4) + 1;
      const b = [0];
      for (let i = 1; i < k; i++) b.push(r.read(f.exp + 1));
      b.push(f.expSpace);
      return b;
    };
    const aClasses = classes();
    checkClasses(aClasses, f.expSpace, 'fpack A classes');
    const aClasses2 = classes();
    checkClasses(aClasses2, f.expSpace, 'fpack A classes of the second neighbour');
    const rows = (aClasses.length - 1) * (aClasses2.length - 1);
    if (rows > MAX_A_ROWS) throw corrupt(`fpack A table has ${rows} contexts (at most ${MAX_A_ROWS})`);
    const a = readTable(r, f.aSpace, rows);
    let bClasses: number[] = [];
    const b: GroupTable[] = [];
    if (mode === 'split') {
      bClasses = classes();
      checkClasses(bClasses, f.expSpace, 'fpack B classes');
      for (let i = 0; i + 1 < bClasses.length; i++) b.push(readTable(r, f.bSpace, 1));
    }
    if (Math.ceil(r.position / 8) !== buf.length) throw corrupt(`fpack header is ${buf.length} bytes, its fields use ${Math.ceil(r.position / 8)}`);
    if (r.bitsLeft > 0 && r.read(r.bitsLeft) !== 0) throw corrupt('fpack header padding bits are not zero');
    // one state and version 1 are written as the fields' absence, so a header of the first layout parses back to the same object
    const p: FpackParams = {
      dtype,
      mode,
      distance,
      distance2,
      aClasses,
      aClasses2,
      a,
      bClasses,
      b,
      ...(states === 1 ? {} : { states }),
      ...(palette ? { palette } : {}),
      ...(version === 1 ? {} : { version }),
    };
    checkParams(p);
    return p;
  } catch (e) {
    if (e instanceof CodecError && e.code !== 'E_CORRUPT') throw corrupt(`malformed fpack header: ${e.message}`);
    throw e;
  }
}
