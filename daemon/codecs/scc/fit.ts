import { optimalTable } from '../apack/table.ts';
import { histogram } from '../apack/histogram.ts';
import { FIT_BLOCK, classesA, classesB, usesValueTaps, type SccConfig, type SccParams, type TapA, type TapB } from './config.ts';
import { channelClasses, fineHistograms, type ConfigShape } from './context.ts';
import { clusterContexts } from './cluster.ts';
import { classOfValue } from './engine.ts';
import { sharedPartition, tablesFor } from './partition.ts';

/**
 * The encoder's choices (context-codec.md §5): fit each candidate
 * configuration to the tensor, then keep whichever codes the tensor in the
 * fewest bytes — measured by really coding it, so the choice is exact.
 */

export interface ConfigPlan extends ConfigShape {
  readonly name: string;
  readonly adaptive: boolean;
}

const plan = (name: string, predictor: boolean, tapA: TapA, tapB: TapB, adaptive: boolean): ConfigPlan => ({ name, predictor, tapA, tapB, adaptive });

/** Plain order-0: the APack-like fallback (one table, no taps). */
export const ORDER0 = plan('order-0', false, 'none', 'none', false);
/** Weights: output-channel class with x[i−S], static. */
export const WEIGHT_CC = plan('CC/x[i-S] static', false, 'cc', 'xS', false);
/** Weights: neighbours x[i−1], x[i−2], adaptive. */
export const WEIGHT_NEIGHBOURS = plan('x[i-1],x[i-2] adaptive', false, 'x1', 'x2', true);
/** Activations P: predictor x[i−S], taps x[i−S], x[i−2S], adaptive. */
export const ACT_P = plan('P', true, 'xS', 'x2S', true);
/** Activations Q: no predictor, taps CC and x[i−S], adaptive. */
export const ACT_Q = plan('Q', false, 'cc', 'xS', true);

/** What the encoder needs from the tensor once, whatever the configuration. */
export interface FitContext {
  readonly data: Uint8Array;
  readonly stride: number;
  /** Order-0 partition of the raw values: classifies tap values. */
  readonly contextVmin: readonly number[];
  readonly ctxClass: Uint8Array;
  readonly cc: Uint8Array;
  /** Channel class of every block position. */
  readonly ccAt: Uint8Array;
}

export function fitContext(data: Uint8Array, stride: number): FitContext {
  const contextVmin = optimalTable(histogram(data, 'uint8')).vmin.slice();
  const ctxClass = classOfValue(contextVmin);
  const cc = channelClasses(data, stride, ctxClass);
  const ccAt = new Uint8Array(FIT_BLOCK);
  for (let p = 0, c = 0; p < FIT_BLOCK; p++) {
    ccAt[p] = c < cc.length ? cc[c] : 0;
    if (++c === stride) c = 0;
  }
  return { data, stride, contextVmin, ctxClass, cc, ccAt };
}

/** Fit one configuration: fine histograms → context map → shared partition → tables. */
export function fitConfig(fc: FitContext, p: ConfigPlan): SccConfig {
  const fine = fineHistograms(fc.data, p, fc.stride, fc.ctxClass, fc.ccAt);
  const cells = classesA(p.tapA) * classesB(p.tapB);
  const contextVmin = usesValueTaps(p) ? fc.contextVmin : [0, 256];
  const base = { predictor: p.predictor, tapA: p.tapA, tapB: p.tapB, adaptive: p.adaptive, contextVmin };
  if (cells === 1) {
    const vmin = sharedPartition(fine, 1);
    return { ...base, codingVmin: vmin, tables: tablesFor(fine, 1, vmin), map: new Uint8Array(1) };
  }
  // Cluster on the group histograms of the pooled order-0 partition, then
  // re-run the exact partition DP on the clustered histograms.
  const pooled = new Float64Array(256);
  for (let f = 0; f < cells; f++) for (let v = 0; v < 256; v++) pooled[v] += fine[f * 256 + v];
  const v0 = optimalTable(pooled).vmin;
  const g0 = v0.length - 1;
  const groupHist = new Float64Array(cells * g0);
  for (let f = 0; f < cells; f++) {
    for (let g = 0; g < g0; g++) {
      let m = 0;
      for (let v = v0[g]; v < v0[g + 1]; v++) m += fine[f * 256 + v];
      groupHist[f * g0 + g] = m;
    }
  }
  const cm = clusterContexts(groupHist, cells, g0);
  const clustered = new Float64Array(cm.tables * 256);
  for (let f = 0; f < cells; f++) {
    const k = cm.map[f];
    for (let v = 0; v < 256; v++) clustered[k * 256 + v] += fine[f * 256 + v];
  }
  const vmin = sharedPartition(clustered, cm.tables);
  return { ...base, codingVmin: vmin, tables: tablesFor(clustered, cm.tables, vmin), map: cm.tables > 1 ? cm.map : new Uint8Array(cells) };
}

/** Header of one or two configurations (the CC map only when one uses it). */
export function paramsOf(stride: number, configs: readonly SccConfig[], cc: Uint8Array): SccParams {
  const kind = configs.length === 0 ? 'raw' : configs.length === 1 ? 'single' : 'switch';
  return { kind, stride, configs, cc: configs.some((c) => c.tapA === 'cc') ? cc : new Uint8Array(0) };
}

/** Largest header the SHPK container stores (container.ts MAX_PARAMS_BYTES). */
export const MAX_HEADER_BYTES = 4096;

export type TensorKind = 'weight' | 'activation' | 'other';

export interface Candidate {
  readonly name: string;
  readonly params: SccParams;
}

/** The candidates of §5 for a tensor kind (raw is always added). */
export function candidatesFor(fc: FitContext, kind: TensorKind): Candidate[] {
  const single = (p: ConfigPlan): Candidate => ({ name: p.name, params: paramsOf(fc.stride, [fitConfig(fc, p)], fc.cc) });
  const out: Candidate[] = [{ name: 'raw', params: paramsOf(fc.stride, [], fc.cc) }, single(ORDER0)];
  if (kind === 'activation') {
    const p = fitConfig(fc, ACT_P);
    out.push({ name: 'P', params: paramsOf(fc.stride, [p], fc.cc) });
    out.push({ name: 'P/Q switch', params: paramsOf(fc.stride, [p, fitConfig(fc, ACT_Q)], fc.cc) });
  } else {
    out.push(single(WEIGHT_CC), single(WEIGHT_NEIGHBOURS));
    if (kind === 'other') out.push(single(ACT_P));
  }
  return out;
}
