import type { Codec, CodecModel } from '../codec.ts';
import { dtypeBits, type Dtype } from '../dtype.ts';
import { badArgument, corrupt } from '../errors.ts';
import { checkSupported } from '../support.ts';
import { readVarint, varintLength, writeVarint } from '../varint.ts';
import {
  EBPC_MAX_ZERO_RUN,
  checkEbpcParams,
  decodeEbpcInto,
  ebpcMaxTotalBytes,
  ebpcValueCount,
  encodeBpcInto,
  encodeZnzInto,
  paddedStreamBytes,
  znzMaxBytes,
  type EbpcBlockSize,
  type EbpcWordBits,
} from './streams.ts';
import { decodeStreamsWasm, encodeBlockWasm } from './wasm.ts';

/**
 * EBPC as a shimpack codec. The word width W follows the dtype (8 for
 * uint8/int8, 16 for int16); the block size N (8 or 16) is the per-tensor
 * parameter, stored as one byte. A coded block is
 *   [ZNZ byte length, LEB128][ZNZ stream][BPC stream]
 * with both streams exactly as the reference emits them (padded to W-bit
 * words), so the value count comes from the block's raw length.
 */

function wordBitsOf(dtype: Dtype): EbpcWordBits {
  return dtypeBits(dtype) === 16 ? 16 : 8;
}

/** Block decoder: the wasm one where it is on (wasm.ts), or streams.ts alone (the reference, for tests and `bench speed`). */
type Coders = 'wasm' | 'js';

function model(dtype: Dtype, blockSize: EbpcBlockSize, coders: Coders): CodecModel {
  const W = wordBitsOf(dtype);
  const N = blockSize;
  const bytesPerValue = W >>> 3;
  return {
    codec: 'ebpc',
    dtype,
    params: Uint8Array.of(N),
    maxEncodedBytes(rawBytes) {
      const n = Math.ceil(rawBytes / bytesPerValue);
      return varintLength(znzMaxBytes(n, W)) + ebpcMaxTotalBytes(n, W, N);
    },
    encodeBlock(src, out) {
      const n = ebpcValueCount(src.length, W);
      if (coders === 'wasm') {
        const bytes = encodeBlockWasm(src, n, W, N, out);
        if (bytes >= 0) return bytes;
      }
      // ZNZ goes after room for the longest possible length prefix, then moves
      // down once its real length is known; the BPC stream follows it.
      const room = varintLength(znzMaxBytes(n, W));
      const znzBytes = paddedStreamBytes(encodeZnzInto(src, n, W, out, room), W);
      const prefix = varintLength(znzBytes);
      if (prefix < room) out.copyWithin(prefix, room, room + znzBytes);
      writeVarint(out, 0, znzBytes);
      const bpcStart = prefix + znzBytes;
      return bpcStart + paddedStreamBytes(encodeBpcInto(src, n, W, N, out, bpcStart), W);
    },
    decodeBlock(src, out) {
      if (out.length % bytesPerValue !== 0) throw badArgument(`int16 block of ${out.length} bytes: needs an even length`);
      const n = ebpcValueCount(out.length, W);
      const [znzBytes, znzStart] = readVarint(src, 0, src.length, src.length, 'the EBPC ZNZ length');
      if (varintLength(znzBytes) !== znzStart) throw corrupt('EBPC ZNZ length is not minimally encoded');
      const znzEnd = znzStart + znzBytes;
      if (znzEnd > src.length) throw corrupt(`EBPC ZNZ length ${znzBytes} runs past the ${src.length}-byte block`);
      const js = (): void => decodeEbpcInto(src, znzStart, znzEnd, src, znzEnd, src.length, n, W, N, out);
      if (coders === 'js' || !decodeStreamsWasm(src, znzStart, znzEnd, n, W, N, out, js)) js();
    },
    describe: () => `W=${W} N=${N} R=${EBPC_MAX_ZERO_RUN}`,
  };
}

function ebpcWith(coders: Coders): Codec {
  const codec: Codec = {
    name: 'ebpc',
    id: 2,
    dtypes: ['uint8', 'int8', 'int16'],
    fit(_data, dtype, options) {
      checkSupported(codec, dtype);
      const N = options?.ebpcBlockSize ?? 8;
      checkEbpcParams(wordBitsOf(dtype), N);
      return model(dtype, N, coders);
    },
    load(params, dtype) {
      checkSupported(codec, dtype);
      if (params.length !== 1) throw corrupt(`EBPC parameters are 1 byte (the block size), got ${params.length}`);
      const N = params[0];
      const W = wordBitsOf(dtype);
      if ((N !== 8 && N !== 16) || N > W) throw corrupt(`EBPC block size byte ${N} is not valid for ${dtype} (W=${W})`);
      return model(dtype, N, coders);
    },
  };
  return codec;
}

export const ebpc: Codec = ebpcWith('wasm');
/** EBPC with the JS decoder only (streams.ts): the reference the wasm decoder must match. */
export const ebpcJs: Codec = ebpcWith('js');
