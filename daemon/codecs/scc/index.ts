import type { Codec, CodecModel, CodecOptions } from '../codec.ts';
import type { Dtype } from '../dtype.ts';
import { badArgument } from '../errors.ts';
import { checkHistogram } from '../apack/histogram.ts';
import { checkStride } from '../stride.ts';
import { checkSupported } from '../support.ts';
import { FIT_BLOCK, parseParams, serialiseParams, type SccParams } from './config.ts';
import { MAX_HEADER_BYTES, candidatesFor, fitConfig, fitContext, paramsOf, type ConfigPlan, type TensorKind } from './fit.ts';
import { modelFromParams, type SccModel } from './model.ts';
import { sharedPartition, tablesFor } from './partition.ts';

/**
 * SCC, the shimpack context codec (docs/scc.md; design: context-codec.md §5):
 * APack's group + offset coding with context taps x[i−1], x[i−2], x[i−S],
 * x[i−2S] and a channel class, an optional x[i−S] predictor, ≤ 16 tables
 * behind a context map, static or dual-rate adaptive tables and a range
 * coder. The stride S is part of the parameters, so `load(params)` needs
 * nothing else.
 */
export const SCC_DTYPES: readonly Dtype[] = ['uint8', 'int8'];

export type { SccModel } from './model.ts';
export type { SccParams, SccConfig } from './config.ts';

function strideOption(options: CodecOptions | undefined): number {
  if (options?.stride === undefined) {
    throw badArgument('codec scc needs a stride (the distance to the same channel of the previous pixel: C for NHWC, O for HWIO, C·M for HWCM)');
  }
  return checkStride(options.stride);
}

function kindOption(options: CodecOptions | undefined): TensorKind {
  const k = options?.kind ?? 'other';
  if (k !== 'weight' && k !== 'activation' && k !== 'other') throw badArgument(`unknown tensor kind "${String(k)}" (weight | activation | other)`);
  return k;
}

/** Bytes the tensor takes with this model: header plus every block, raw where coding does not pay. */
export function codedBytes(model: CodecModel, data: Uint8Array, blockSize = FIT_BLOCK): number {
  let total = model.params.length;
  const scratch = new Uint8Array(model.maxEncodedBytes(blockSize));
  for (let off = 0; off < data.length; off += blockSize) {
    const blk = data.subarray(off, Math.min(data.length, off + blockSize));
    total += Math.min(blk.length, model.encodeBlock(blk, scratch));
  }
  return total;
}

/** Fit every candidate configuration of the kind and keep the one that codes smallest. */
export function fitScc(data: Uint8Array, dtype: Dtype, options?: CodecOptions): SccModel {
  checkSupported(scc, dtype);
  const stride = strideOption(options);
  const kind = kindOption(options);
  const fc = fitContext(data, stride);
  let best: SccModel | undefined;
  let bestBytes = Infinity;
  for (const c of candidatesFor(fc, kind)) {
    const params = serialiseParams(c.params);
    if (params.length > MAX_HEADER_BYTES) continue;
    const model = modelFromParams(c.params, dtype, params);
    const bytes = codedBytes(model, data);
    if (bytes < bestBytes) {
      best = model;
      bestBytes = bytes;
    }
  }
  return best!;
}

export const scc: Codec = {
  name: 'scc',
  id: 4,
  dtypes: SCC_DTYPES,
  fit: fitScc,
  load(params, dtype) {
    checkSupported(scc, dtype);
    return modelFromParams(parseParams(params), dtype, params.slice());
  },
};

/** SCC with the JS reference coders only: what the wasm coders must match bit for bit. */
export const sccJs: Codec = {
  ...scc,
  fit(data, dtype, options) {
    const m = fitScc(data, dtype, options);
    return modelFromParams(m.sccParams, dtype, m.params, 'js');
  },
  load(params, dtype) {
    checkSupported(scc, dtype);
    return modelFromParams(parseParams(params), dtype, params.slice(), 'js');
  },
};

/**
 * A valid adaptive model from only a 256-bin value histogram (e.g. a
 * calibration histogram a client supplies): one adaptive order-0 table fitted
 * to the histogram. The adaptation inside each block recovers part of what
 * the missing context statistics would give (context-codec.md §6).
 */
export function sccModelFromHistogram(hist: ArrayLike<number>, dtype: Dtype, options: { stride: number; kind?: TensorKind }): SccModel {
  checkSupported(scc, dtype);
  const stride = strideOption(options);
  kindOption(options);
  if (checkHistogram(hist) !== 256) throw badArgument(`an SCC histogram needs 256 bins, got ${hist.length}`);
  const h = Float64Array.from(hist);
  const vmin = sharedPartition(h, 1);
  const config = {
    predictor: false,
    tapA: 'none' as const,
    tapB: 'none' as const,
    adaptive: true,
    contextVmin: [0, 256],
    codingVmin: vmin,
    tables: tablesFor(h, 1, vmin),
    map: new Uint8Array(1),
  };
  const p: SccParams = paramsOf(stride, [config], new Uint8Array(0));
  return modelFromParams(p, dtype);
}

/** The parsed header of an SCC model (throws for other codecs' models). */
export function sccParamsOf(model: CodecModel): SccParams {
  const p = (model as Partial<SccModel>).sccParams;
  if (model.codec !== 'scc' || p === undefined) throw badArgument(`model of codec ${model.codec} is not an SCC model`);
  return p;
}

/**
 * A model with the given configurations fitted to `data` (one → single, two →
 * per-block switch), bypassing the encoder's choice: for tests and studies.
 */
export function sccModelWith(data: Uint8Array, dtype: Dtype, stride: number, plans: readonly ConfigPlan[]): SccModel {
  checkSupported(scc, dtype);
  checkStride(stride);
  if (plans.length > 2) throw badArgument('an SCC header holds at most two configurations');
  const fc = fitContext(data, stride);
  return modelFromParams(paramsOf(stride, plans.map((p) => fitConfig(fc, p)), fc.cc), dtype);
}

export { ACT_P, ACT_Q, ORDER0, WEIGHT_CC, WEIGHT_NEIGHBOURS, type ConfigPlan } from './fit.ts';
