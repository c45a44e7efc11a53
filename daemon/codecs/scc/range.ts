import { corrupt, truncated } from '../errors.ts';
import type { Engine } from './engine.ts';
import { ADAPTIVE_ONE as A_ONE, PROBABILITY_SHIFT as Q_SHIFT, SHIFT_FAST, SHIFT_SLOW } from './adaptive.ts';
import { offsetScratch } from './offsets.ts';
import { WASM_MAX_ENCODE, WASM_OK, WASM_UNSUPPORTED, wasmDecoder, wasmError, wasmFits, wasmTakes } from './wasm/instance.ts';

const wasm = wasmDecoder;

/**
 * SCC blocks with adaptive tables: group symbols through a 32-bit range
 * coder with carry propagation (LZMA-style byte output), because the total of
 * the adaptive probabilities varies from value to value; offsets as raw
 * MSB-first bits.
 *
 * Block layout (docs/scc.md):
 *   [range-coder bytes →][← offset bytes, stored in reverse]
 * The range coder runs forwards from the block start, the offset stream
 * backwards from the block end, so the block needs no length field. A
 * switched tensor's select bit is the top bit of the first byte (the coder
 * starts in the half [sel·2^31, (sel+1)·2^31) of its interval).
 *
 * Termination: the encoder ends on a value V whose low 24 (or 16) bits are
 * "don't care" — the aligned interval [V, V + 2^k) lies inside the final
 * range — so it emits only 1–2 flush bytes beyond what the decoder has
 * consumed, and the decoder may read the offset bytes (or zeros past the end)
 * as the rest. The decoder checks that the two streams meet where the
 * encoder's flush rules say they must.
 *
 * The adaptive update of adaptive.ts is one local
 * function (adaptAfter) over only the groups whose estimators still move,
 * shared by the JS encoder and decoder. The wasm coders are the fast path;
 * these JS ones are their reference and fallback.
 */

const TOP = 1 << 24;
const TWO32 = 4294967296;

// Per-thread adaptive state, reset at every block start.
/** Both estimators of a group in one word: A in the low 16 bits, B in the high 16 (each ≤ 2^15). */
const estAB = new Int32Array(256);
const estQ = new Int32Array(256);
const estT = new Int32Array(16);
const actList = new Int32Array(256);
const actN = new Int32Array(16);
const isAct = new Uint8Array(256);
/** Below these both estimators no longer move when another group is coded. */
const FIXED_A = 1 << SHIFT_FAST;
const FIXED_B = 1 << SHIFT_SLOW;

function resetAdaptiveState(e: Engine): void {
  const init = e.init;
  for (let i = 0; i < init.length; i++) estAB[i] = init[i] | (init[i] << 16);
  estQ.set(e.initQ);
  estT.set(e.initTotal);
  actList.set(e.initActive);
  actN.set(e.initActiveCount);
  isAct.set(e.initIsActive);
}

/**
 * After coding group s with table k: the dual-rate update (adaptive.ts) of
 * the per-thread state, only over the table's active groups: a group with
 * A < 32 and B < 256 is a fixed point of the decay. Shared by the JS encoder
 * and decoder, so both move the estimators identically.
 */
function adaptAfter(k: number, s: number): void {
  const base = k << 4;
  const js = base + s;
  const ab0 = estAB[js];
  const as0 = ab0 & 0xffff;
  const bs0 = ab0 >>> 16;
  let tot = estT[k];
  let na = actN[k];
  for (let i = 0; i < na; ) {
    const j = actList[base + i];
    const v = estAB[j];
    const ea = (v & 0xffff) - ((v & 0xffff) >> SHIFT_FAST);
    const eb = (v >>> 16) - (v >>> (16 + SHIFT_SLOW));
    estAB[j] = ea | (eb << 16);
    let qj = (ea + eb) >> Q_SHIFT;
    if (qj === 0) qj = 1;
    tot += qj - estQ[j];
    estQ[j] = qj;
    if (ea < FIXED_A && eb < FIXED_B) {
      actList[base + i] = actList[base + na - 1];
      na--;
      isAct[j] = 0;
    } else i++;
  }
  const sa = as0 + ((A_ONE - as0) >> SHIFT_FAST);
  const sb = bs0 + ((A_ONE - bs0) >> SHIFT_SLOW);
  estAB[js] = sa | (sb << 16);
  const qs = (sa + sb) >> Q_SHIFT;
  tot += qs - estQ[js];
  estQ[js] = qs;
  if (isAct[js] === 0) {
    isAct[js] = 1;
    actList[base + na] = js;
    na++;
  }
  actN[k] = na;
  estT[k] = tot;
}

/**
 * Encode `src` with one configuration into `out` (room for maxBlockBytes);
 * `select` is NO_SELECT or the select bit to code first. `cc` holds the
 * channel class of every block position. Returns the bytes written.
 */
export function encodeAdaptive(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number {
  const n = src.length;
  // the wasm encoder (../wasm/assembly/scc.ts, byte-identical) where it can take the block
  if (wasm !== null && n > 0 && n <= WASM_MAX_ENCODE && wasmFits(e)) return wasm.encodeAdaptive(e, cc, src, out, select);
  return encodeAdaptiveJs(e, cc, src, out, select);
}

/** The reference adaptive encoder (and the fallback where wasm SIMD is missing). */
export function encodeAdaptiveJs(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number {
  const n = src.length;
  if (n === 0) return 0;
  const ob = offsetScratch(n);
  const { ctxClass, map, symOf, offOf, olOf, nB, dA, dB, tapA } = e;
  const S = e.predictor ? e.stride : 0;
  resetAdaptiveState(e);
  // range coder: low may carry into bit 32 (held in a double), range < 2^32
  let low = 0;
  let range = 0xffffffff;
  let cache = 0;
  let pending = 0;
  let w = -1; // the first byte LZMA-style coders emit is always 0: skipped
  if (select >= 0) {
    // the select bit is the top bit of the first byte
    low = select * 2147483648;
    range = 2147483648;
  }
  // offset bit stream
  let acc = 0;
  let nb = 0;
  let m = 0;
  for (let p = 0; p < n; p++) {
    const x = src[p];
    let a = 0;
    if (tapA === 3) a = cc[p];
    else if (dA > 0) a = p >= dA ? ctxClass[src[p - dA]] : 16;
    let b = 0;
    if (dB > 0) b = p >= dB ? ctxClass[src[p - dB]] : 16;
    const k = map[a * nB + b];
    const u = S > 0 && p >= S ? (x - src[p - S]) & 255 : x;
    const s = symOf[u];
    const ol = olOf[u];
    if (ol > 0) {
      acc = (acc << ol) | offOf[u];
      nb += ol;
      if (nb >= 8) {
        nb -= 8;
        ob[m++] = acc >>> nb;
      }
    }
    const base = k << 4;
    {
      let c = 0;
      for (let j = 0; j < s; j++) c += estQ[base + j];
      const r = (range / estT[k]) >>> 0; // range < 2^32: truncation is floor
      low += r * c;
      range = r * estQ[base + s];
      adaptAfter(k, s);
    }
    while (range < TOP) {
      range *= 256;
      // shift out the top byte of low, propagating a carry into pending 0xFF bytes
      if (low < 0xff000000 || low >= TWO32) {
        const carry = low >= TWO32 ? 1 : 0;
        if (w >= 0) out[w] = cache + carry;
        w++;
        for (; pending > 0; pending--) out[w++] = 255 + carry;
        cache = Math.floor(low / TOP) & 255;
      } else pending++;
      low = (low % TOP) * 256;
    }
  }
  if (nb > 0) ob[m++] = acc << (8 - nb);

  // Flush: the value with the most don't-care low bits inside [low, low + range).
  let keep = 24;
  let v = Math.ceil(low / TOP) * TOP;
  if (v + TOP > low + range) {
    keep = 16;
    v = Math.ceil(low / 65536) * 65536;
  }
  low = v;
  for (let f = keep === 24 ? 2 : 3; f > 0; f--) {
    if (low < 0xff000000 || low >= TWO32) {
      const carry = low >= TWO32 ? 1 : 0;
      if (w >= 0) out[w] = cache + carry;
      w++;
      for (; pending > 0; pending--) out[w++] = 255 + carry;
      cache = Math.floor(low / TOP) & 255;
    } else pending++;
    low = (low % TOP) * 256;
  }
  // offsets, reversed, at the end
  for (let j = 0; j < m; j++) out[w + j] = ob[m - 1 - j];
  return w + m;
}

function initialCode(src: Uint8Array): number {
  const b0 = src.length > 0 ? src[0] : 0;
  const b1 = src.length > 1 ? src[1] : 0;
  const b2 = src.length > 2 ? src[2] : 0;
  const b3 = src.length > 3 ? src[3] : 0;
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/**
 * Decode exactly out.length values with one configuration. `select` is
 * NO_SELECT or the already-read select bit (which the decoder re-applies to
 * its range). Throws CodecError on any inconsistency; never reads out of range.
 *
 * Uses the wasm SIMD decoder (../wasm/assembly/scc.ts, bit-identical, several times
 * faster) where the runtime has it and the block fits its buffers, else the
 * JS reference below.
 */
export function decodeAdaptive(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): void {
  const n = out.length;
  const len = src.length;
  if (
    wasm === null ||
    n === 0 ||
    len === 0 ||
    !wasmTakes(len, n) ||
    (select >= 0 && select !== src[0] >> 7) || // only the reference defines a select bit that disagrees with the block
    !wasmFits(e)
  ) {
    decodeAdaptiveJs(e, cc, src, out, select);
    return;
  }
  const rc = wasm.adaptive(e, cc, src, out, select);
  if (rc === WASM_UNSUPPORTED) decodeAdaptiveJs(e, cc, src, out, select);
  else if (rc !== WASM_OK) throw wasmError(rc, 0);
}

/** The reference adaptive decoder (and the fallback where wasm SIMD is missing). */
export function decodeAdaptiveJs(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): void {
  const n = out.length;
  const len = src.length;
  if (n === 0) {
    if (len !== 0) throw corrupt(`SCC block for 0 values holds ${len} bytes`);
    return;
  }
  if (len === 0) throw truncated('SCC block is empty');
  const { ctxClass, map, groupBase, groupSize, groupOl, nB, dA, dB, tapA } = e;
  const S = e.predictor ? e.stride : 0;
  resetAdaptiveState(e);
  let code = initialCode(src);
  let range = 0xffffffff;
  let p4 = 4; // next range-coder byte (reads past the end give 0)
  if (select >= 0) {
    code -= select * 2147483648;
    range = 2147483648;
  }
  let q = len; // offset bytes are read backwards from the end
  let acc = 0;
  let nb = 0;
  for (let p = 0; p < n; p++) {
    let a = 0;
    if (tapA === 3) a = cc[p];
    else if (dA > 0) a = p >= dA ? ctxClass[out[p - dA]] : 16;
    let b = 0;
    if (dB > 0) b = p >= dB ? ctxClass[out[p - dB]] : 16;
    const k = map[a * nB + b];
    const base = k << 4;
    let s: number;
    {
      const r = (range / estT[k]) >>> 0; // range < 2^32: truncation is floor
      const t = (code / r) >>> 0;
      if (t >= estT[k]) throw corrupt('SCC range-coder value is outside its table');
      let c = 0;
      s = 0;
      for (;;) {
        const f = estQ[base + s];
        if (c + f > t) break;
        c += f;
        s++;
      }
      code -= r * c;
      range = r * estQ[base + s];
      adaptAfter(k, s);
    }
    while (range < TOP) {
      range *= 256;
      code = code * 256 + (p4 < len ? src[p4] : 0);
      p4++;
    }
    let u = groupBase[s];
    const ol = groupOl[s];
    if (ol > 0) {
      if (nb < ol) {
        if (q <= 0) throw truncated('SCC offset stream ends early');
        acc = (acc << 8) | src[--q];
        nb += 8;
      }
      nb -= ol;
      const off = (acc >> nb) & ((1 << ol) - 1);
      if (off >= groupSize[s]) throw corrupt('SCC offset is outside its group');
      u += off;
    }
    out[p] = S > 0 && p >= S ? (u + out[p - S]) & 255 : u;
  }
  if ((acc & ((1 << nb) - 1)) !== 0) throw corrupt('SCC offset padding bits are not zero');
  // The encoder's range-coder bytes end 2 or 3 bytes before where the decoder's reads do.
  if (q < p4 - 3 || q > p4 - 2) throw corrupt('SCC range-coder and offset streams do not meet: corrupt block');
}
