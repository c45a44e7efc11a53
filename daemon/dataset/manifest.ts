import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Dtype } from '../codecs/dtype.ts';
import { PACKAGE_ROOT } from '../package-root.ts';

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

export function loadDataset(dir: string = DEFAULT_DATA_DIR): Dataset {
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
  tensors.forEach((t, i) => {
    const e = t as Partial<TensorEntry>;
    if (typeof e.file !== 'string' || (e.kind !== 'weight' && e.kind !== 'activation') || (e.dtype !== 'int8' && e.dtype !== 'uint8')) {
      throw new DatasetError(`${path}: tensor ${i} lacks a valid file, kind (weight|activation) or dtype (int8|uint8)`);
    }
  });
  return { dir: resolve(dir), tensors: tensors as TensorEntry[] };
}

export function readTensor(ds: Dataset, t: TensorEntry): Uint8Array {
  const path = resolve(ds.dir, t.file);
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new DatasetError(`cannot read tensor ${t.file}: ${(e as Error).message}`);
  }
}

/**
 * Class of a tensor for reporting: weights split by int8 (symmetric) and uint8
 * (native affine codes), activations by uint8 (ReLU) and int8 (leaky).
 */
export function tensorClass(t: TensorEntry): string {
  if (t.kind === 'weight') return t.dtype === 'int8' ? 'weights int8' : 'weights native u8';
  return t.dtype === 'uint8' ? 'activations u8' : 'activations i8';
}

/** Distance to the same channel of the previous pixel / row (C for NHWC, O for HWIO, C*M for HWCM, out for IO). */
export function strideOf(t: TensorEntry): number {
  const s = t.shape;
  if (t.layout.startsWith('HWCM')) return s[2] * s[3];
  return s[s.length - 1];
}
