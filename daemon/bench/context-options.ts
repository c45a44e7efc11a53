import type { CodecOptions } from '../codecs/codec.ts';
import { CodecError } from '../codecs/errors.ts';
import { strideFromShape } from '../codecs/stride.ts';
import type { TensorEntry } from '../dataset/manifest.ts';

/**
 * Codec options a context codec (SCC) needs for a data-set tensor: the
 * stride from the manifest's shape and layout, and the tensor's kind.
 * Undefined when the layout gives no stride (unknown layout, wrong rank).
 */
export function contextOptions(t: TensorEntry): CodecOptions | undefined {
  try {
    return { stride: strideFromShape(t.shape, t.layout), kind: t.kind };
  } catch (e) {
    if (e instanceof CodecError) return undefined;
    throw e;
  }
}
