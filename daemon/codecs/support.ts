import type { Codec } from './codec.ts';
import type { Dtype } from './dtype.ts';
import { CodecError, corrupt } from './errors.ts';

export function checkSupported(codec: Codec, dtype: Dtype): void {
  if (!codec.dtypes.includes(dtype)) {
    throw new CodecError(
      'E_UNSUPPORTED_DTYPE',
      `codec ${codec.name} does not support dtype ${dtype} (it supports ${codec.dtypes.join(', ')})`,
    );
  }
}

export function checkNoParams(name: string, params: Uint8Array): void {
  if (params.length !== 0) throw corrupt(`${name} takes no parameters, got ${params.length} bytes`);
}
