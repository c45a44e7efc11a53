import { loadDataset, readTensor, type Dataset, type TensorEntry } from '../dataset/manifest.ts';
import { TraceError } from './errors.ts';
import type { RegionKind } from './format.ts';
import type { BoundPayload, PayloadSource } from './payload.ts';

export interface DatasetPayloadOptions {
  /** Only tensors of this model (default: all models, in manifest order). */
  readonly model?: string;
}

/**
 * Burst data from a data set's real tensors. The n-th region of kind
 * `weight` gets the n-th weight tensor (manifest order, wrapping around), the
 * n-th `activation` region the n-th activation tensor, and `other` regions
 * alternate between the two lists. A region longer than its tensor repeats
 * the tensor's bytes. Tensors are read when first bound and kept (each is at
 * most 512 KiB in the published set).
 */
export class DatasetPayload implements PayloadSource {
  readonly description: string;
  private readonly ds: Dataset;
  private readonly weights: readonly TensorEntry[];
  private readonly activations: readonly TensorEntry[];
  private readonly cache = new Map<string, Uint8Array>();

  constructor(dir: string, options: DatasetPayloadOptions = {}) {
    try {
      this.ds = loadDataset(dir);
    } catch (e) {
      throw new TraceError('E_TRACE_DATA', (e as Error).message);
    }
    const picked = this.ds.tensors.filter((t) => options.model === undefined || t.model === options.model);
    if (picked.length === 0) {
      const models = [...new Set(this.ds.tensors.map((t) => t.model))].join(', ');
      throw new TraceError('E_TRACE_DATA', `data set ${dir} has no tensors of model "${options.model}" (models: ${models})`);
    }
    this.weights = picked.filter((t) => t.kind === 'weight');
    this.activations = picked.filter((t) => t.kind === 'activation');
    this.description = `data set ${dir}${options.model ? ` model ${options.model}` : ''}`;
  }

  bind(kind: RegionKind, index: number): BoundPayload {
    let list: readonly TensorEntry[];
    let n = index;
    if (kind === 'weight') list = this.weights;
    else if (kind === 'activation') list = this.activations;
    else {
      list = index % 2 === 0 ? this.activations : this.weights;
      n = index >> 1;
      if (list.length === 0) list = this.activations.length > 0 ? this.activations : this.weights;
    }
    if (list.length === 0) throw new TraceError('E_TRACE_DATA', `${this.description} has no ${kind} tensors`);
    const entry = list[n % list.length];
    const bytes = this.tensor(entry);
    if (bytes.length === 0) throw new TraceError('E_TRACE_DATA', `tensor ${entry.file} is empty`);
    return {
      dtype: entry.dtype,
      origin: `tensor ${entry.file}`,
      fill(out, offset) {
        let src = offset % bytes.length;
        let i = 0;
        while (i < out.length) {
          const n = Math.min(out.length - i, bytes.length - src);
          out.set(bytes.subarray(src, src + n), i);
          i += n;
          src = 0;
        }
      },
    };
  }

  private tensor(t: TensorEntry): Uint8Array {
    let b = this.cache.get(t.file);
    if (!b) {
      try {
        b = readTensor(this.ds, t);
      } catch (e) {
        throw new TraceError('E_TRACE_DATA', (e as Error).message);
      }
      this.cache.set(t.file, b);
    }
    return b;
  }
}
