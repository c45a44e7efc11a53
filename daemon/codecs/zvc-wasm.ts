import { codecWasm } from './wasm/instance.ts';
import { IN, IN_BYTES, OUT, WASM_MAX_RAW } from './wasm/layout.ts';

/**
 * ZVC through the wasm coders (wasm/assembly/zvc.ts), bit-identical to the
 * JS coders of zvc.ts, which stay the reference and the fallback: for blocks
 * larger than WASM_MAX_RAW, where the module is off, and to name the error of
 * a block the wasm decoder rejects (it only says "some check failed").
 */

type Encode = (src: Uint8Array, out: Uint8Array) => number;
type Decode = (src: Uint8Array, out: Uint8Array) => void;

const wasm = codecWasm;

/** The block coders for a value width: the wasm ones wrapping the given JS ones, or the JS ones where wasm is off. */
export function zvcCoders(bits: 4 | 8 | 16, encodeJs: Encode, decodeJs: Decode): { encode: Encode; decode: Decode } {
  if (wasm === null) return { encode: encodeJs, decode: decodeJs };
  const { heap, exports } = wasm;
  const valuesOf = (bytes: number): number => (bits === 4 ? bytes * 2 : bits === 16 ? bytes >>> 1 : bytes);
  const enc = bits === 4 ? exports.zvcEncode4 : bits === 16 ? exports.zvcEncode16 : exports.zvcEncode8;
  const dec = bits === 4 ? exports.zvcDecode4 : bits === 16 ? exports.zvcDecode16 : exports.zvcDecode8;
  return {
    encode(src, out) {
      if (src.length > WASM_MAX_RAW || src.length === 0) return encodeJs(src, out);
      heap.set(src, IN);
      const bytes = enc(valuesOf(src.length));
      out.set(heap.subarray(OUT, OUT + bytes));
      return bytes;
    },
    decode(src, out) {
      const n = valuesOf(out.length);
      // the decoders may read up to 16 bytes past what the mask announces before the checks catch a broken block
      if (out.length > WASM_MAX_RAW || n === 0 || src.length < (n + 7) >>> 3 || src.length + 2 * n + 32 > IN_BYTES) return decodeJs(src, out);
      heap.set(src, IN);
      if (dec(n, src.length) !== 0) {
        decodeJs(src, out); // throws the CodecError that names what is wrong
        throw new Error('ZVC wasm decoder rejected a block the JS decoder accepts');
      }
      out.set(heap.subarray(OUT, OUT + out.length));
    },
  };
}
