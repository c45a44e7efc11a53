import { BitReader, BitWriter } from '../bits.ts';
import { CodecError, corrupt } from '../errors.ts';
import { decodeBlock as decodeSplitJs, encodeBlock as encodeSplit } from './coder.ts';
import type { Engine } from './engine.ts';

/**
 * Repeat blocks of 16-bit split mode (docs/float.md): where most values of a
 * block equal their neighbour x[i-D] bit for bit (the flat background of an
 * activation map repeats one pixel's channel vector), the block is coded as
 *
 *   [0x01][varint F][F bytes: run lengths, Elias-gamma, MSB-first, zero-padded][a split block of the other values]
 *
 * The runs alternate, starting with values that do not repeat (the first D
 * of a block have no neighbour in it); each run is at least 1 and they sum
 * to the block's values. The values that do not repeat, in order, form a
 * block of their own coded by the model as any block (an empty block codes
 * to nothing). A coded split block never starts with 0x01 (its varint rANS
 * length is at least 4), so the first byte tells the two apart. The encoder
 * keeps whichever is smaller; a decoder lane needs one flag per value and a
 * select between the neighbour and the next decoded value, as ZVC's mask.
 */

export const REPEAT = 0x01;

let residual = new Uint8Array(4096);
let trial = new Uint8Array(8192);
let runs = new Uint8Array(1024);

/** Matches x[i] === x[i - d] (16-bit little-endian values) in the block. */
function repeats(src: Uint8Array, n: number, d: number): number {
  let k = 0;
  for (let i = d; i < n; i++) if (src[2 * i] === src[2 * (i - d)] && src[2 * i + 1] === src[2 * (i - d) + 1]) k++;
  return k;
}

function gamma(w: BitWriter, v: number): void {
  const bits = 32 - Math.clz32(v);
  w.write(0, bits - 1);
  w.write(v, bits);
}

/**
 * Codes a 16-bit split block as a repeat block when that is smaller than
 * `normal` bytes (the plain block already in `out`); returns the length kept.
 */
export function maybeRepeatBlock(e: Engine, src: Uint8Array, out: Uint8Array, normal: number): number {
  const d = e.distance;
  const n = src.length >> 1;
  // below a quarter of repeats the flags rarely pay for themselves: not worth a second encode
  if (d === 0 || d >= n || repeats(src, n, d) < n >> 2) return normal;
  if (residual.length < src.length) residual = new Uint8Array(src.length);
  // a run of v costs 2 floor(log2 v) + 1 <= 31 bits, at most n + 1 runs
  if (runs.length < 4 * n + 8) runs = new Uint8Array(4 * n + 8);
  const w = new BitWriter(runs);
  let m = 0;
  let run = 0;
  let same = false;
  for (let i = 0; i < n; i++) {
    const r = i >= d && src[2 * i] === src[2 * (i - d)] && src[2 * i + 1] === src[2 * (i - d) + 1];
    if (r !== same) {
      gamma(w, run);
      run = 0;
      same = r;
    }
    run++;
    if (!r) {
      residual[2 * m] = src[2 * i];
      residual[2 * m + 1] = src[2 * i + 1];
      m++;
    }
  }
  gamma(w, run);
  const f = w.finish();
  let head = 1;
  const varint: number[] = [];
  for (let r = f; ; r >>>= 7) {
    if (r < 0x80) {
      varint.push(r);
      break;
    }
    varint.push((r & 0x7f) | 0x80);
  }
  head += varint.length;
  if (head + f >= normal) return normal;
  const need = head + f + 5 + 4 + 2 + Math.ceil((m * (e.maxBitsPerValue + 2e-3)) / 8);
  if (trial.length < need) trial = new Uint8Array(need);
  const r = encodeSplit(e, residual.subarray(0, 2 * m), trial.subarray(head + f));
  const total = head + f + r;
  if (total >= normal) return normal;
  trial[0] = REPEAT;
  trial.set(varint, 1);
  trial.set(runs.subarray(0, f), head);
  out.set(trial.subarray(0, total));
  return total;
}

/** Decodes a repeat block (src[0] === REPEAT) into 16-bit values; `decodeSplit` decodes the block of values that do not repeat. */
export function decodeRepeatBlock(e: Engine, src: Uint8Array, out: Uint8Array, decodeSplit: typeof decodeSplitJs): void {
  const d = e.distance;
  const n = out.length >> 1;
  if ((out.length & 1) !== 0) throw corrupt(`fpack block of ${out.length} bytes is not a whole number of 16-bit values`);
  if (d === 0) throw corrupt('fpack repeat block for a model without a neighbour');
  let p = 1;
  let f = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= src.length) throw corrupt('fpack repeat block ends inside its length header');
    if (shift > 28) throw corrupt('fpack repeat block length header is too long');
    const b = src[p++];
    f += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (b === 0 && shift > 0) throw corrupt('fpack repeat block length header is not minimal');
      break;
    }
  }
  if (p + f > src.length) throw corrupt(`fpack repeat block announces ${f} bytes of runs, only ${src.length - p} follow`);
  // flags[i] = 1 where value i repeats x[i - d]
  if (runs.length < n) runs = new Uint8Array(n);
  const flags = runs.subarray(0, n);
  const r = new BitReader(src, p, p + f);
  let i = 0;
  let same = 0;
  let m = 0;
  try {
    while (i < n) {
      let z = 0;
      while (r.read(1) === 0) if (++z > 24) throw corrupt('fpack repeat run is longer than a block');
      const len = (1 << z) | (z > 0 ? r.read(z) : 0);
      if (i + len > n) throw corrupt('fpack repeat runs overrun the block');
      if (same && i < d) throw corrupt('fpack repeat run before the neighbour distance');
      flags.fill(same, i, i + len);
      if (!same) m += len;
      i += len;
      same ^= 1;
    }
    if (r.bitsLeft >= 8 || (r.bitsLeft > 0 && r.read(r.bitsLeft) !== 0)) throw corrupt('fpack repeat runs are followed by stray bits');
  } catch (err) {
    if (err instanceof CodecError && err.code !== 'E_CORRUPT') throw corrupt(`fpack repeat runs: ${err.message}`);
    throw err;
  }
  if (residual.length < 2 * m) residual = new Uint8Array(2 * m);
  const rest = residual.subarray(0, 2 * m);
  decodeSplit(e, src.subarray(p + f), rest);
  for (let k = 0, j = 0; k < n; k++) {
    if (flags[k]) {
      out[2 * k] = out[2 * (k - d)];
      out[2 * k + 1] = out[2 * (k - d) + 1];
    } else {
      out[2 * k] = rest[2 * j];
      out[2 * k + 1] = rest[2 * j + 1];
      j++;
    }
  }
}
