import { FIT_BLOCK, UNAVAILABLE, type SccParams } from './config.ts';
import { newAdaptiveState, resetAdaptive, updateAdaptive } from './adaptive.ts';
import { buildEngine, ccPositions, type Engine } from './engine.ts';

/**
 * Ideal code lengths of an SCC model: for every value −log2 of the
 * probability the model assigns its group (count/1024 static; q/total
 * adaptive, with the estimators of adaptive.ts) plus its offset bits. This is
 * the figure the design study reports; the real coder (coder.ts) must stay
 * within 0.2 % of it plus its per-block termination.
 */

/** Ideal bits of one block under one configuration (the select bit of a switched tensor included). */
export function idealBlockBits(e: Engine, cc: Uint8Array, src: Uint8Array, switched: boolean): number {
  const st = newAdaptiveState(e.tables);
  if (e.adaptive) resetAdaptive(st, e.init, e.initQ, e.initTotal);
  let bits = switched ? 1 : 0;
  const S = e.predictor ? e.stride : 0;
  for (let p = 0; p < src.length; p++) {
    const a = e.tapA === 3 ? cc[p] : e.dA > 0 ? (p >= e.dA ? e.ctxClass[src[p - e.dA]] : UNAVAILABLE) : 0;
    const b = e.dB > 0 ? (p >= e.dB ? e.ctxClass[src[p - e.dB]] : UNAVAILABLE) : 0;
    const k = e.map[a * e.nB + b];
    const x = src[p];
    const u = S > 0 && p >= S ? (x - src[p - S]) & 255 : x;
    const s = e.symOf[u];
    bits += e.olOf[u];
    if (e.adaptive) {
      bits -= Math.log2(st.q[k * 16 + s] / st.total[k]);
      updateAdaptive(st, k, s, e.groups, e.live);
    } else {
      bits -= Math.log2(e.freq[k * 16 + s] / 1024);
    }
  }
  return bits;
}

/**
 * Ideal bits of every block of a tensor (blocks of `blockSize` values); a
 * switched tensor takes the cheaper configuration per block.
 */
export function idealTensorBits(p: SccParams, data: Uint8Array, blockSize = FIT_BLOCK): Float64Array {
  const engines = p.configs.map((c) => buildEngine(c, p.stride));
  const cc = ccPositions(p, blockSize);
  const blocks = Math.ceil(data.length / blockSize);
  const out = new Float64Array(blocks);
  for (let i = 0; i < blocks; i++) {
    const blk = data.subarray(i * blockSize, Math.min(data.length, (i + 1) * blockSize));
    if (p.kind === 'raw') out[i] = 8 * blk.length;
    else out[i] = Math.min(...engines.map((e) => idealBlockBits(e, cc, blk, p.kind === 'switch')));
  }
  return out;
}
