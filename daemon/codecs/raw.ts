import type { Codec, CodecModel } from './codec.ts';
import { DTYPES, type Dtype } from './dtype.ts';
import { corrupt } from './errors.ts';
import { checkNoParams, checkSupported } from './support.ts';

/** The identity codec: the baseline every footprint is measured against. */
function model(dtype: Dtype): CodecModel {
  return {
    codec: 'raw',
    dtype,
    params: new Uint8Array(0),
    maxEncodedBytes: (n) => n,
    encodeBlock(src, out) {
      out.set(src);
      return src.length;
    },
    decodeBlock(src, out) {
      if (src.length !== out.length) throw corrupt(`raw block holds ${src.length} bytes, expected ${out.length}`);
      out.set(src);
    },
    describe: () => 'none',
  };
}

export const raw: Codec = {
  name: 'raw',
  id: 0,
  dtypes: DTYPES,
  fit(_data, dtype) {
    checkSupported(raw, dtype);
    return model(dtype);
  },
  load(params, dtype) {
    checkSupported(raw, dtype);
    checkNoParams('raw', params);
    return model(dtype);
  },
};
