import type { CodecOptions } from '../codecs/codec.ts';
import type { Dtype } from '../codecs/dtype.ts';
import { codecByName } from '../codecs/index.ts';

/** One fit: a context codec's table from the bytes a region kept (fit-pool.ts sends it). */
export interface FitTask {
  readonly codec: string;
  readonly dtype: Dtype;
  readonly data: Uint8Array;
  readonly options: CodecOptions;
}

/**
 * Entry point of the fit worker (a piscina task): the serialised table, as
 * the main thread's `codec.fit(...).params` would be. Throws what the fit
 * throws; piscina rejects the task with it.
 */
export default function fit(task: FitTask): Uint8Array {
  return codecByName(task.codec).fit(task.data, task.dtype, task.options).params;
}
