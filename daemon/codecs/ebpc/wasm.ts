import { codecWasm } from '../wasm/instance.ts';
import { EBPC_BPC, EBPC_ZNZ, IN, IN_BYTES, OUT, SCRATCH_BYTES, WASM_MAX_RAW } from '../wasm/layout.ts';
import type { EbpcBlockSize, EbpcWordBits } from './streams.ts';

/**
 * EBPC through the wasm coders (wasm/assembly/ebpc.ts): the encoder writes
 * the same block as index.ts with streams.ts, and the decoder accepts exactly
 * what streams.ts decodeEbpcInto accepts and decodes it to the same values.
 * streams.ts stays the reference and the fallback: for blocks larger than
 * WASM_MAX_RAW, where the module is off, and to name the error of a block
 * the wasm decoder rejects.
 */

const wasm = codecWasm;
/** Zeros after each stream: more than the decoder can read past a stream's end before its checks stop it. */
const SLACK = 256;


/**
 * Decode `count` values into out from the ZNZ stream src[znzStart, znzEnd)
 * and the BPC stream src[znzEnd, src.length); `decodeJs` is the same call to
 * streams.ts. Returns false when the wasm decoder does not take the block.
 */
export function decodeStreamsWasm(
  src: Uint8Array,
  znzStart: number,
  znzEnd: number,
  count: number,
  W: EbpcWordBits,
  N: EbpcBlockSize,
  out: Uint8Array,
  decodeJs: () => void,
): boolean {
  const znzBytes = znzEnd - znzStart;
  const bpcBytes = src.length - znzEnd;
  // Each stream and its zeros in the lower half of its region: the decoder reads a reversed copy from the upper half.
  if (wasm === null || out.length > WASM_MAX_RAW || count === 0 || znzBytes + SLACK > IN_BYTES / 2 || bpcBytes + SLACK > SCRATCH_BYTES / 2) return false;
  const { heap, exports } = wasm;
  heap.set(src.subarray(znzStart, znzEnd), EBPC_ZNZ);
  heap.fill(0, EBPC_ZNZ + znzBytes, EBPC_ZNZ + znzBytes + SLACK);
  heap.set(src.subarray(znzEnd), EBPC_BPC);
  heap.fill(0, EBPC_BPC + bpcBytes, EBPC_BPC + bpcBytes + SLACK);
  if (exports.ebpcDecode(count, W, N, znzBytes, bpcBytes) !== 0) {
    decodeJs(); // throws the CodecError that names what is wrong
    throw new Error('EBPC wasm decoder rejected a block the JS decoder accepts');
  }
  out.set(heap.subarray(OUT, OUT + out.length));
  return true;
}

/** A whole block ([ZNZ length][ZNZ][BPC]) of the n values in src, into out; -1 when the wasm encoder does not take it. */
export function encodeBlockWasm(src: Uint8Array, n: number, W: EbpcWordBits, N: EbpcBlockSize, out: Uint8Array): number {
  // the ZNZ stream is built in the BPC region first: at most 5 bits per value
  if (wasm === null || src.length > WASM_MAX_RAW || n === 0 || n > SCRATCH_BYTES / 2) return -1;
  const { heap, exports } = wasm;
  heap.set(src, IN);
  const bytes = exports.ebpcEncode(n, W, N);
  out.set(heap.subarray(OUT, OUT + bytes));
  return bytes;
}
