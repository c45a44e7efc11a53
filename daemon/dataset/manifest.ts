import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Dtype } from '../codecs/dtype.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { FLOAT_FORMATS, convertF32, type FloatFormat } from './float-convert.ts';

/**
 * Reader for data sets in the `../shared/data` manifest format: a
 * `manifest.json` listing tensors whose bytes sit in files relative to it.
 * Only the fields shimpack uses are typed; the rest is kept as is.
 */
export interface TensorEntry {
  readonly file: string;
  readonly model: string;
  readonly layer: string;
  readonly kind: 'weight' | 'activation';
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly layout: string;
  readonly bytes: number;
  readonly image?: string;
  readonly entropy_bits?: number;
  readonly zero_fraction?: number;
  /** Float data sets (../shared/data-float): the format the float32 file is converted to when read. */
  readonly floatFormat?: FloatFormat;
  readonly [key: string]: unknown;
}

export interface Dataset {
  readonly dir: string;
  readonly tensors: readonly TensorEntry[];
}

/** The repository's default data set: `../shared/data` beside the checkout. */
export const DEFAULT_DATA_DIR = resolve(PACKAGE_ROOT, '../shared/data');

export class DatasetError extends Error {
  readonly code = 'E_DATASET';
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/**
 * A data set of 8-bit tensors (../shared/data), or of float32 tensors
 * (../shared/data-float) read as the given float formats: every float32
 * tensor appears once per format, its dtype that format's, its bytes
 * converted by the data set's rules (dataset/float-convert.ts) when read.
 */
export function loadDataset(dir: string = DEFAULT_DATA_DIR, floatFormats?: readonly FloatFormat[]): Dataset {
  const path = resolve(dir, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DatasetError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const tensors = (json as { tensors?: unknown }).tensors;
  if (!Array.isArray(tensors)) throw new DatasetError(`${path} has no "tensors" array`);
  const isFloat = tensors.some((t) => (t as { dtype?: unknown }).dtype === 'float32');
  tensors.forEach((t, i) => {
    const e = t as Partial<TensorEntry> & { dtype?: unknown; values?: unknown };
    const dtypeOk = isFloat ? (e.dtype as unknown) === 'float32' && typeof e.values === 'number' : e.dtype === 'int8' || e.dtype === 'uint8';
    if (typeof e.file !== 'string' || (e.kind !== 'weight' && e.kind !== 'activation') || !dtypeOk) {
      throw new DatasetError(`${path}: tensor ${i} lacks a valid file, kind (weight|activation) or dtype (${isFloat ? 'float32 with its values count' : 'int8|uint8'})`);
    }
  });
  if (!isFloat) {
    if (floatFormats !== undefined && floatFormats.length > 0) throw new DatasetError(`${path} holds 8-bit tensors: a float format (${floatFormats.join(', ')}) does not apply`);
    return { dir: resolve(dir), tensors: tensors as TensorEntry[] };
  }
  if (floatFormats === undefined || floatFormats.length === 0) {
    throw new DatasetError(`${path} holds float32 tensors: give the float format to read them as (${Object.keys(FLOAT_FORMATS).join(', ')})`);
  }
  const out: TensorEntry[] = [];
  for (const f of floatFormats) {
    const dtype = FLOAT_FORMATS[f];
    const width = dtype === 'bfloat16' || dtype === 'float16' ? 2 : 1;
    for (const t of tensors as (TensorEntry & { values: number })[]) out.push({ ...t, dtype, bytes: t.values * width, floatFormat: f });
  }
  return { dir: resolve(dir), tensors: out };
}

export function readTensor(ds: Dataset, t: TensorEntry): Uint8Array {
  const path = resolve(ds.dir, t.file);
  let bytes: Uint8Array;
  try {
    const buf = readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new DatasetError(`cannot read tensor ${t.file}: ${(e as Error).message}`);
  }
  if (t.floatFormat === undefined) return bytes;
  if (bytes.length % 4 !== 0) throw new DatasetError(`tensor ${t.file} holds ${bytes.length} bytes: not whole float32 values`);
  return convertF32(bytes, t.floatFormat).data;
}

/**
 * Class of a tensor for reporting: weights split by int8 (symmetric) and uint8
 * (native affine codes), activations by uint8 (ReLU) and int8 (leaky).
 */
export function tensorClass(t: TensorEntry): string {
  // Float sets: by format, and weights by whether they are genuinely float or dequantized 8-bit codes.
  if (t.floatFormat !== undefined) {
    if (t.kind === 'activation') return `${t.floatFormat} activations`;
    return `${t.floatFormat} weights ${t.genuinely_float === false ? 'from u8 codes' : 'float'}`;
  }
  if (t.kind === 'weight') return t.dtype === 'int8' ? 'weights int8' : 'weights native u8';
  return t.dtype === 'uint8' ? 'activations u8' : 'activations i8';
}

/** Distance to the same channel of the previous pixel / row (C for NHWC, O for HWIO, C*M for HWCM, out for IO). */
export function strideOf(t: TensorEntry): number {
  const s = t.shape;
  if (t.layout.startsWith('HWCM')) return s[2] * s[3];
  return s[s.length - 1];
}
