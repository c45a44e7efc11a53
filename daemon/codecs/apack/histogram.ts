import { dtypeBits, type Dtype } from '../dtype.ts';
import { CodecError } from '../errors.ts';

/**
 * Value histograms for APack. 8-bit data (uint8, int8 read as its unsigned
 * byte) has a 256-value space; 4-bit data (uint4, int4 read as its unsigned
 * nibble) a 16-value space, two values per byte with the lower index in the
 * low nibble.
 */
export type ValueSpace = 256 | 16;

export function valueSpaceOf(dtype: Dtype): ValueSpace {
  const bits = dtypeBits(dtype);
  if (bits === 8) return 256;
  if (bits === 4) return 16;
  throw new CodecError('E_UNSUPPORTED_DTYPE', `APack has no value space for dtype ${dtype}`);
}

/** Number of values held by `byteLength` bytes of this dtype. */
export function valueCount(dtype: Dtype, byteLength: number): number {
  return valueSpaceOf(dtype) === 16 ? byteLength * 2 : byteLength;
}

/** Counts of every value of the space in `data`. */
export function histogram(data: Uint8Array, dtype: Dtype): Float64Array {
  const space = valueSpaceOf(dtype);
  // Uint32 counting is fastest; bytes of a single call never exceed 2^32.
  const h = new Uint32Array(space);
  if (space === 256) {
    for (let i = 0; i < data.length; i++) h[data[i]]++;
  } else {
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      h[b & 15]++;
      h[b >>> 4]++;
    }
  }
  return Float64Array.from(h);
}

/** Sum of a histogram's counts. */
export function histogramTotal(hist: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < hist.length; i++) n += hist[i];
  return n;
}

/**
 * Order-0 (memoryless) entropy of the histogram, in bits for all its values
 * together: the bound no per-value code with one static model can beat.
 */
export function entropyBits(hist: ArrayLike<number>): number {
  const n = histogramTotal(hist);
  if (n === 0) return 0;
  let bits = 0;
  for (let i = 0; i < hist.length; i++) {
    const c = hist[i];
    if (c > 0) bits -= c * Math.log2(c / n);
  }
  return bits;
}

/** Reject histograms that are not a count per value of a known space. */
export function checkHistogram(hist: ArrayLike<number>): ValueSpace {
  if (hist.length !== 256 && hist.length !== 16) {
    throw new CodecError('E_BAD_ARGUMENT', `an APack histogram has 256 or 16 bins, got ${hist.length}`);
  }
  for (let i = 0; i < hist.length; i++) {
    const c = hist[i];
    if (!Number.isFinite(c) || c < 0) throw new CodecError('E_BAD_ARGUMENT', `histogram bin ${i} is ${c}: counts must be finite and >= 0`);
  }
  return hist.length as ValueSpace;
}
