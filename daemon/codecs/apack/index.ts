import type { Codec, CodecModel } from '../codec.ts';
import type { Dtype } from '../dtype.ts';
import { badArgument } from '../errors.ts';
import { checkSupported } from '../support.ts';
import { checkHistogram, entropyBits, histogram, valueCount, valueSpaceOf } from './histogram.ts';
import { buildCoderTables, decodeBlock as decodeBlockJs, encodeBlock as encodeBlockJs, maxBlockBytes } from './rans.ts';
import { decodeBlock, encodeBlock } from './wasm.ts';
import { describeTable, heuristicTable, optimalTable, parseTable, serialiseTable, tableCostBits, type ApackTable } from './table.ts';

/**
 * APack (Delmas Lascorz, Mahmoud, Moshovos, arXiv 2201.08830): each value is
 * an entropy-coded group symbol plus a raw offset inside its group. One table
 * per tensor (the model's params); blocks are coded independently.
 */
export type ApackSearch = 'optimal' | 'heuristic';

export interface ApackModel extends CodecModel {
  readonly codec: 'apack';
  readonly table: ApackTable;
}

export const APACK_DTYPES: readonly Dtype[] = ['uint8', 'int8', 'uint4', 'int4'];

/** Block coders: the wasm ones where they are on (wasm.ts), or rans.ts alone (the reference, for tests and `bench speed`). */
type Coders = 'wasm' | 'js';

function modelFromTable(table: ApackTable, dtype: Dtype, coders: Coders = 'wasm'): ApackModel {
  const space = valueSpaceOf(dtype);
  if (table.space !== space) throw badArgument(`APack table is for a ${table.space}-value space, dtype ${dtype} needs ${space}`);
  const coder = buildCoderTables(table);
  const params = serialiseTable(table);
  return {
    codec: 'apack',
    dtype,
    table,
    params,
    maxEncodedBytes: (rawBytes) => maxBlockBytes(coder, valueCount(dtype, rawBytes)),
    encodeBlock: coders === 'wasm' ? (src, out) => encodeBlock(coder, src, out) : (src, out) => encodeBlockJs(coder, src, out),
    decodeBlock: coders === 'wasm' ? (src, out) => decodeBlock(coder, src, out) : (src, out) => decodeBlockJs(coder, src, out),
    describe: () => describeTable(table),
  };
}

function searchTable(hist: ArrayLike<number>, search: ApackSearch | undefined): ApackTable {
  if (search === undefined || search === 'optimal') return optimalTable(hist);
  if (search === 'heuristic') return heuristicTable(hist);
  throw badArgument(`unknown APack table search "${String(search)}" (optimal | heuristic)`);
}

function apackWith(coders: Coders): Codec {
  const codec: Codec = {
    name: 'apack',
    id: 1,
    dtypes: APACK_DTYPES,
    fit(data, dtype, options) {
      checkSupported(codec, dtype);
      return modelFromTable(searchTable(histogram(data, dtype), options?.apackSearch), dtype, coders);
    },
    load(params, dtype) {
      checkSupported(codec, dtype);
      return modelFromTable(parseTable(params, valueSpaceOf(dtype)), dtype, coders);
    },
  };
  return codec;
}

export const apack: Codec = apackWith('wasm');
/** APack with the JS coders only (rans.ts): the reference the wasm coders must match. */
export const apackJs: Codec = apackWith('js');

/**
 * A model from a value histogram (256 bins for 8-bit dtypes, 16 for 4-bit),
 * e.g. a calibration histogram a client sends for an activation region.
 */
export function apackModelFromHistogram(hist: ArrayLike<number>, dtype: Dtype, search: ApackSearch = 'optimal'): ApackModel {
  checkSupported(apack, dtype);
  const space = checkHistogram(hist);
  if (space !== valueSpaceOf(dtype)) throw badArgument(`a ${dtype} histogram needs ${valueSpaceOf(dtype)} bins, got ${space}`);
  return modelFromTable(searchTable(hist, search), dtype);
}

/** The table of an APack model (throws for other codecs' models). */
export function apackTableOf(model: CodecModel): ApackTable {
  const t = (model as Partial<ApackModel>).table;
  if (model.codec !== 'apack' || t === undefined) throw badArgument(`model of codec ${model.codec} has no APack table`);
  return t;
}

/** Ideal coded bits of the histogram's values under a model's (or a bare) table. */
export function apackIdealBits(modelOrTable: CodecModel | ApackTable, hist: ArrayLike<number>): number {
  const t = 'counts' in modelOrTable ? modelOrTable : apackTableOf(modelOrTable);
  return tableCostBits(t, hist);
}

export interface ApackCostReport {
  readonly values: number;
  /** Order-0 entropy bound, bits. */
  readonly entropyBits: number;
  /** Ideal cost with the DP (optimal) table, bits. */
  readonly optimalBits: number;
  /** Ideal cost with the paper's heuristic table, bits. */
  readonly heuristicBits: number;
}

/** Ideal costs for a benchmark: entropy bound, DP table, heuristic table. */
export function apackCostReport(hist: ArrayLike<number>): ApackCostReport {
  checkHistogram(hist);
  let values = 0;
  for (let i = 0; i < hist.length; i++) values += hist[i];
  return {
    values,
    entropyBits: entropyBits(hist),
    optimalBits: tableCostBits(optimalTable(hist), hist),
    heuristicBits: tableCostBits(heuristicTable(hist), hist),
  };
}

export { histogram, entropyBits } from './histogram.ts';
export { optimalTable, heuristicTable, parseTable, serialiseTable, tableCostBits, type ApackTable } from './table.ts';
