import { FIT_BLOCK, UNAVAILABLE, ccMapLength, classesA, classesB, type TapA, type TapB } from './config.ts';
import { tapDistance } from './engine.ts';

/**
 * The contexts of SCC (context-codec.md §2) as the encoder sees them when it
 * fits: taps classified by the context partition (16 = outside the block),
 * the channel class CC, and the fine context a·nB + b of every value. All
 * positions are block-relative (blocks of FIT_BLOCK values), exactly as the
 * block coder computes them.
 */

export interface ConfigShape {
  readonly predictor: boolean;
  readonly tapA: TapA;
  readonly tapB: TapB;
}

/**
 * Channel class of every block position mod S (the quartile heuristic):
 * per channel the average frequency rank of its values' context groups
 * (0 = most frequent group), split at the quartiles of those averages.
 * The channel of block position p is p mod S (see docs/scc.md: the block
 * coder does not know where its block sits in the tensor).
 */
export function channelClasses(data: Uint8Array, stride: number, ctxClass: Uint8Array): Uint8Array {
  const m = ccMapLength(stride);
  const groupCount = new Float64Array(16);
  for (let i = 0; i < data.length; i++) groupCount[ctxClass[data[i]]]++;
  const order = Array.from({ length: 16 }, (_, g) => g).sort((a, b) => groupCount[b] - groupCount[a] || a - b);
  const rank = new Float64Array(16);
  order.forEach((g, r) => (rank[g] = r));
  const sum = new Float64Array(m);
  const count = new Float64Array(m);
  for (let start = 0; start < data.length; start += FIT_BLOCK) {
    const end = Math.min(data.length, start + FIT_BLOCK);
    for (let i = start, c = 0; i < end; i++) {
      if (c < m) {
        sum[c] += rank[ctxClass[data[i]]];
        count[c]++;
      }
      if (++c === stride) c = 0;
    }
  }
  const seen: number[] = [];
  const avg = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    avg[c] = count[c] > 0 ? sum[c] / count[c] : -1;
    if (count[c] > 0) seen.push(avg[c]);
  }
  seen.sort((a, b) => a - b);
  const out = new Uint8Array(m);
  if (seen.length === 0) return out;
  const q1 = seen[Math.floor(seen.length / 4)];
  const q2 = seen[Math.floor(seen.length / 2)];
  const q3 = seen[Math.floor((3 * seen.length) / 4)];
  for (let c = 0; c < m; c++) {
    const a = avg[c];
    out[c] = a < 0 || a < q1 ? 0 : a < q2 ? 1 : a < q3 ? 2 : 3;
  }
  return out;
}

/**
 * Histograms of the coded symbol u per fine context: (nA · nB) × 256 counts.
 * `ccAt` is the channel class of every block position (length ≥ FIT_BLOCK).
 */
export function fineHistograms(data: Uint8Array, shape: ConfigShape, stride: number, ctxClass: Uint8Array, ccAt: Uint8Array): Float64Array {
  const nA = classesA(shape.tapA);
  const nB = classesB(shape.tapB);
  const hist = new Float64Array(nA * nB * 256);
  const dA = shape.tapA === 'x1' || shape.tapA === 'xS' ? tapDistance(shape.tapA, stride) : 0;
  const dB = tapDistance(shape.tapB, stride);
  const cc = shape.tapA === 'cc';
  const S = shape.predictor ? stride : 0;
  for (let start = 0; start < data.length; start += FIT_BLOCK) {
    const end = Math.min(data.length, start + FIT_BLOCK);
    for (let i = start; i < end; i++) {
      const p = i - start;
      let a = 0;
      if (cc) a = ccAt[p];
      else if (dA > 0) a = p >= dA ? ctxClass[data[i - dA]] : UNAVAILABLE;
      let b = 0;
      if (dB > 0) b = p >= dB ? ctxClass[data[i - dB]] : UNAVAILABLE;
      const x = data[i];
      const u = S > 0 && p >= S ? (x - data[i - S]) & 255 : x;
      hist[(a * nB + b) * 256 + u]++;
    }
  }
  return hist;
}
