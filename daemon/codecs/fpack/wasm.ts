import { codecWasm } from '../wasm/instance.ts';
import {
  FPACK_A_CLASS,
  FPACK_A_CLASS2,
  FPACK_A_GI,
  FPACK_A_STEP,
  FPACK_B_CLASS,
  FPACK_B_GI,
  FPACK_B_STEP,
  FPACK_HIST,
  FPACK_HIST_BYTES,
  FPACK_SLOTS,
  FPACK_SLOT_BYTES,
  FPACK_SLOT_COUNT,
  FPACK_W_CLASS1,
  FPACK_W_CLASS2,
  FPACK_W_LIM,
  FPACK_W_MASK,
  FPACK_W_OL,
  FPACK_W_VMIN,
  IN,
  IN_BYTES,
  OUT,
  WASM_MAX_RAW,
} from '../wasm/layout.ts';
import { TableSlots } from '../wasm/table-slots.ts';
import { decodeBlock as decodeBlockJs } from './coder.ts';
import type { Engine } from './engine.ts';

/**
 * fpack's decoder through wasm (wasm/assembly/fpack.ts), bit-identical to
 * coder.ts, which stays the reference and the fallback: for blocks the wasm
 * regions do not take, where the module is off, and to name the error of a
 * block the wasm decoder rejects (it only says "some check failed"). The
 * encoder is coder.ts's (a shim loads its tables once; decode is the read
 * path).
 *
 * Each model's tables live in one of FPACK_SLOT_COUNT (64) slots of wasm memory, filled when a
 * model is first seen (cached by identity, slots reused round-robin), because
 * a lane worker decodes blocks of several regions interleaved.
 */

const wasm = codecWasm;
if (wasm !== null) wasm.exports.fpackPrepare();
const slots = new TableSlots<Engine>(FPACK_SLOTS, FPACK_SLOT_BYTES, FPACK_SLOT_COUNT);

/** Per (row, rANS slot t): f | (t - cum) << 11 | group << 21, from the engine's slot -> group and (row, group) -> f | cum << 11 tables. */
function steps(slot: Uint8Array, fc: Int32Array, to: Uint32Array): void {
  for (let k = 0; k < slot.length; k++) {
    const g = slot[k];
    const e = fc[((k >> 10) << 4) | g];
    to[k] = (e & 2047) | (((k & 1023) - (e >> 11)) << 11) | (g << 21);
  }
}

/** Per A group its B class, when every A group lies within one B class (fit.ts makes such models); else undefined. */
function groupClasses(e: Engine): Uint8Array | undefined {
  const c = new Uint8Array(16);
  for (let g = 0; g < 16; g++) {
    const gi = e.aGI[g];
    const vmin = gi & 2047;
    const size = gi >>> 15;
    for (let v = vmin; v < vmin + size; v++) if (e.bClassOf[v] !== e.bClassOf[vmin]) return undefined;
    if (size > 0) c[g] = e.bClassOf[vmin];
  }
  return c;
}

/** How many neighbours the A context reads: 0 (one context row), 1 (the second has one class) or 2. */
function ctxOf(e: Engine): number {
  if (e.aFC.length <= 16) return 0;
  const k2 = e.whole ? Math.max(...e.byteClass2) + 1 : Math.max(...e.aClassOf2) + 1;
  return k2 === 1 ? 1 : 2;
}

/** Per slot: 1 where its model takes the decoder's by-group path; how many neighbours its A context reads. */
const byGroup = new Uint8Array(FPACK_SLOT_COUNT);
const ctxs = new Uint8Array(FPACK_SLOT_COUNT);

/**
 * Whether a model's blocks can take the two-pass whole / delta loop (assembly/fpack.ts
 * wholeTwoPass): 8-bit floats in whole or delta mode with 2 states (what fits write), whose
 * neighbour classes follow the exponent (every whole and delta model; not palette mode,
 * whose classes are over indices). Per engine, once: how many neighbours its context reads
 * (ctxOf), or -1 when the loop does not take it. twoPassChunk then also needs the
 * neighbours at least 16 values back, which rules out the fit's taps at distance 1 and 2.
 */
const twoPassCtx = new WeakMap<Engine, number>();
function twoPassModel(e: Engine): number {
  const known = twoPassCtx.get(e);
  if (known !== undefined) return known;
  const { bits, mant, expSpace } = e.plan;
  let ok = e.whole && e.states === 2 && bits === 8 && expSpace <= 32;
  for (let v = 0; ok && v < 256; v++) {
    const x = ((v >> mant) & (expSpace - 1)) << mant;
    if (e.byteClass1[v] !== e.byteClass1[x] || e.byteClass2[v] !== e.byteClass2[x]) ok = false;
  }
  const ctx = ok ? ctxOf(e) : -1;
  twoPassCtx.set(e, ctx);
  return ctx;
}

/**
 * The chunk the two-pass loop decodes a block of n values of this model in: the largest
 * power of two up to 256 and up to every neighbour distance the block reads (the first for
 * delta's prediction and the first context, the second for the second context), so that a
 * chunk's neighbours are decoded before it; 0 when the block takes the one-pass loop instead
 * (a model the loop does not take, or a neighbour closer than 16 values).
 */
export function twoPassChunk(e: Engine, n: number): number {
  // a block of fewer than 16 values goes one pass; a shorter block than a distance reads only zeros for that neighbour, which any chunk does
  if (n < 16) return 0;
  const ctx = wasm === null ? -1 : twoPassModel(e);
  if (ctx < 0) return 0;
  let limit = 256;
  if (e.delta || ctx >= 1) limit = Math.min(limit, e.distance);
  if (ctx === 2) limit = Math.min(limit, e.distance2);
  return limit >= 16 ? 1 << (31 - Math.clz32(limit)) : 0;
}

/** The two-pass loop's tables in the slot at `at`: per A group index vmin, OL, mask and size - 1, per exponent each neighbour's A context part. */
function twoPassTables(e: Engine, heap: Uint8Array, at: number): void {
  const { mant, expSpace } = e.plan;
  for (let x = 0; x < expSpace; x++) {
    heap[at + FPACK_W_CLASS1 + x] = e.byteClass1[x << mant];
    heap[at + FPACK_W_CLASS2 + x] = e.byteClass2[x << mant];
  }
  for (let g = 0; g < 16; g++) {
    const gi = e.aGI[g];
    const size = gi >>> 15;
    if (size === 0) continue;
    const ol = (gi >> 11) & 15;
    heap[at + FPACK_W_VMIN + g] = gi & 255;
    heap[at + FPACK_W_OL + g] = ol;
    heap[at + FPACK_W_MASK + g] = (1 << ol) - 1;
    heap[at + FPACK_W_LIM + g] = size - 1;
  }
}

function load(e: Engine): number {
  const cached = slots.find(e);
  if (cached >= 0) return slots.at(cached);
  const { heap, exports } = wasm!;
  const slot = slots.take();
  const at = slots.at(slot);
  heap.fill(0, at, at + FPACK_SLOT_BYTES);
  const buf = exports.memory.buffer;
  const aSteps = new Uint32Array(buf, at + FPACK_A_STEP, e.aSlot.length);
  steps(e.aSlot, e.aFC, aSteps);
  const classOfGroup = e.whole ? undefined : groupClasses(e);
  if (classOfGroup) for (let k = 0; k < aSteps.length; k++) aSteps[k] |= classOfGroup[aSteps[k] >>> 21] << 25;
  byGroup[slot] = classOfGroup ? 1 : 0;
  ctxs[slot] = ctxOf(e);
  new Int32Array(buf, at + FPACK_A_GI, 16).set(e.aGI);
  if (twoPassModel(e) >= 0) twoPassTables(e, heap, at);
  if (e.whole) {
    heap.set(e.byteClass1, at + FPACK_A_CLASS);
    heap.set(e.byteClass2, at + FPACK_A_CLASS2);
  } else {
    heap.set(e.aClassOf, at + FPACK_A_CLASS);
    heap.set(e.aClassOf2, at + FPACK_A_CLASS2);
    heap.set(e.bClassOf, at + FPACK_B_CLASS);
    steps(e.bSlot, e.bFC, new Uint32Array(buf, at + FPACK_B_STEP, e.bSlot.length));
    new Int32Array(buf, at + FPACK_B_GI, e.bGI.length).set(e.bGI);
  }
  slots.own(slot, e);
  return at;
}

/** decodeBlock of coder.ts, through wasm when it takes the block; the same CodecError for a broken one. */
export function decodeBlock(e: Engine, src: Uint8Array, out: Uint8Array): void {
  const wide = e.plan.bits === 16;
  const n = wide ? out.length >> 1 : out.length;
  // the decoder may read 2 bytes per value past the rANS stream and 19 bits per value past the bit stream before its checks catch a broken block
  if (wasm === null || n === 0 || (wide && (out.length & 1) !== 0) || out.length > WASM_MAX_RAW || 2 * n > FPACK_HIST_BYTES || src.length + 5 * n + 8 > IN_BYTES) {
    return decodeBlockJs(e, src, out);
  }
  // the header, as coder.ts reads it; anything unusual goes to coder.ts, which names the error
  let ransLen = 0;
  let p = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (p >= src.length) return decodeBlockJs(e, src, out);
    const b = src[p++];
    ransLen += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (b === 0 && shift > 0) return decodeBlockJs(e, src, out);
      break;
    }
  }
  const ransEnd = p + ransLen;
  const K = e.states;
  if (ransLen < 4 * K || ransEnd > src.length) return decodeBlockJs(e, src, out);
  // every initial state in [2^23, 2^31), as coder.ts checks (the wasm loops rely on it)
  for (let s = p; s < p + 4 * K; s += 4) if (src[s] >= 0x80 || ((src[s] << 24) | (src[s + 1] << 16) | (src[s + 2] << 8) | src[s + 3]) < 1 << 23) return decodeBlockJs(e, src, out);
  const slot = load(e);
  const { heap, exports } = wasm;
  heap.set(src, IN);
  // a block shorter than a distance: its neighbours all lie before the block start (as at distance n)
  const d1 = Math.min(n, e.distance);
  const d2 = Math.min(n, e.distance2);
  const k = (slot - FPACK_SLOTS) / FPACK_SLOT_BYTES;
  // version 2: the last t values come from the final states (coder.ts)
  const t = Math.min(n, e.tail);
  const chunk = twoPassChunk(e, n);
  const rc =
    chunk > 0
      ? exports.fpackDecodeWholeTwoPass(slot, n, e.delta ? 1 : 0, d1, d2, p, ransEnd, src.length, ctxs[k], t, e.plan.mant, e.plan.expSpace - 1, chunk)
      : e.whole
    ? exports.fpackDecodeWhole(slot, n, e.delta ? 1 : 0, d1, d2, K, p, ransEnd, src.length, ctxs[k], t)
    : exports.fpackDecodeSplit(slot, n, wide ? 1 : 0, e.plan.mant, d1, d2, K, p, ransEnd, src.length, byGroup[k], ctxs[k], t);
  if (rc !== 0) {
    decodeBlockJs(e, src, out); // throws the CodecError that names what is wrong
    throw new Error('fpack wasm decoder rejected a block the JS decoder accepts');
  }
  out.set(e.whole ? heap.subarray(FPACK_HIST + n - t, FPACK_HIST + 2 * n - t) : heap.subarray(OUT, OUT + out.length));
}
