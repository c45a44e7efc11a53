import { corrupt, truncated } from '../errors.ts';
import type { Engine } from './engine.ts';
import { RANS_L, RENORM_SHIFT } from '../apack/rans.ts';
import { COUNT_BITS } from './config.ts';
import { offsetScratch } from './offsets.ts';

/**
 * SCC blocks with static tables: group symbols through rANS (32-bit state,
 * byte-wise renormalisation, 10-bit counts — APack's coder, docs/apack.md),
 * whose decoder needs no division; offsets as raw MSB-first bits.
 *
 * Block layout (docs/scc.md):
 *   [4-byte final state, big-endian][renormalisation bytes →][← offset bytes, stored in reverse]
 * The state is below 2^31, so the top bit of the first byte is free: it
 * carries a switched tensor's select bit. The encoder starts from state L and
 * runs backwards; the decoder must end in state L exactly where the offset
 * bytes begin. The state bounds are APack's (apack/rans.ts).
 */

// Per-thread scratch for the backwards-written rANS bytes.
let ransScratch = new Uint8Array(8192);

export function encodeStatic(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number {
  const n = src.length;
  if (n === 0) return 0;
  const { ctxClass, map, symOf, offOf, olOf, freq, cum, nB, dA, dB, tapA } = e;
  const S = e.predictor ? e.stride : 0;
  // offsets, forwards
  const ob = offsetScratch(n);
  let acc = 0;
  let nb = 0;
  let m = 0;
  for (let p = 0; p < n; p++) {
    const x = src[p];
    const u = S > 0 && p >= S ? (x - src[p - S]) & 255 : x;
    const ol = olOf[u];
    if (ol > 0) {
      acc = (acc << ol) | offOf[u];
      nb += ol;
      if (nb >= 8) {
        nb -= 8;
        ob[m++] = acc >>> nb;
      }
    }
  }
  if (nb > 0) ob[m++] = acc << (8 - nb);
  // symbols, backwards (every tap is a raw value the encoder already has)
  if (ransScratch.length < 2 * n + 8) ransScratch = new Uint8Array(2 * n + 8);
  const buf = ransScratch;
  let q = buf.length;
  let x = RANS_L;
  for (let p = n - 1; p >= 0; p--) {
    let a = 0;
    if (tapA === 3) a = cc[p];
    else if (dA > 0) a = p >= dA ? ctxClass[src[p - dA]] : 16;
    let b = 0;
    if (dB > 0) b = p >= dB ? ctxClass[src[p - dB]] : 16;
    const k = map[a * nB + b];
    const v = src[p];
    const u = S > 0 && p >= S ? (v - src[p - S]) & 255 : v;
    const i = (k << 4) + symOf[u];
    const f = freq[i];
    const xmax = f * (1 << RENORM_SHIFT) - 1;
    while (x > xmax) {
      buf[--q] = x;
      x >>>= 8;
    }
    const d = (x / f) | 0;
    x = (d << COUNT_BITS) + (x - d * f) + cum[i];
  }
  out[0] = (x >>> 24) | (select > 0 ? 0x80 : 0);
  out[1] = x >>> 16;
  out[2] = x >>> 8;
  out[3] = x;
  const r = buf.length - q;
  out.set(buf.subarray(q), 4);
  const w = 4 + r;
  for (let j = 0; j < m; j++) out[w + j] = ob[m - 1 - j];
  return w + m;
}

export function decodeStatic(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): void {
  const n = out.length;
  const len = src.length;
  if (n === 0) {
    if (len !== 0) throw corrupt(`SCC block for 0 values holds ${len} bytes`);
    return;
  }
  if (len < 4) throw truncated(`SCC block of ${len} bytes is shorter than its rANS state`);
  if (select < 0 && src[0] >= 0x80) throw corrupt('SCC rANS state is out of range');
  const { ctxClass, map, groupBase, groupSize, groupOl, freq, cum, slot, nB, dA, dB, tapA } = e;
  const S = e.predictor ? e.stride : 0;
  let x = ((src[0] & 0x7f) << 24) | (src[1] << 16) | (src[2] << 8) | src[3];
  if (x < RANS_L) throw corrupt('SCC rANS state is out of range');
  let p4 = 4;
  let q = len; // offset bytes, read backwards from the end
  let acc = 0;
  let nb = 0;
  for (let p = 0; p < n; p++) {
    let a = 0;
    if (tapA === 3) a = cc[p];
    else if (dA > 0) a = p >= dA ? ctxClass[out[p - dA]] : 16;
    let b = 0;
    if (dB > 0) b = p >= dB ? ctxClass[out[p - dB]] : 16;
    const k = map[a * nB + b];
    const t = x & 1023;
    const s = slot[(k << COUNT_BITS) + t];
    const i = (k << 4) + s;
    x = freq[i] * (x >>> COUNT_BITS) + t - cum[i];
    while (x < RANS_L) {
      if (p4 >= q) throw corrupt('SCC rANS stream runs into the offset stream');
      x = (x << 8) | src[p4++];
    }
    let u = groupBase[s];
    const ol = groupOl[s];
    if (ol > 0) {
      if (nb < ol) {
        if (q <= p4) throw truncated('SCC offset stream ends early');
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
  if (x !== RANS_L) throw corrupt('SCC rANS final state does not match the encoder start: corrupt block');
  if (p4 !== q) throw corrupt(`SCC block has ${q - p4} bytes between its rANS and offset streams`);
}
