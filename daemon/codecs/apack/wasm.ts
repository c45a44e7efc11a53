import { codecWasm } from '../wasm/instance.ts';
import {
  APACK_DEC,
  APACK_ENC_OFFSET,
  APACK_ENC_STEP,
  APACK_ENC_XMAX,
  APACK_SLOTS,
  APACK_SLOT_BYTES,
  APACK_SLOT_COUNT,
  IN,
  IN_BYTES,
  OUT,
  WASM_MAX_RAW,
} from '../wasm/layout.ts';
import { TableSlots } from '../wasm/table-slots.ts';
import { type CoderTables, decodeBlock as decodeBlockJs, encodeBlock as encodeBlockJs } from './rans.ts';

/**
 * APack through the wasm coders (wasm/assembly/apack.ts), bit-identical to
 * rans.ts, which stays the reference and the fallback: for blocks larger
 * than WASM_MAX_RAW, where the module is off, and to name the error of a
 * block the wasm decoder rejects (it only says "some check failed").
 *
 * Each model's tables live in one of APACK_SLOT_COUNT (512) slots of wasm memory, filled when a
 * model is first seen (cached by identity, slots reused round-robin), because
 * a lane worker codes blocks of several regions interleaved.
 */

const wasm = codecWasm;
const slots = new TableSlots<CoderTables>(APACK_SLOTS, APACK_SLOT_BYTES, APACK_SLOT_COUNT);

function load(c: CoderTables): number {
  const cached = slots.find(c);
  if (cached >= 0) return slots.at(cached);
  const { exports, heap } = wasm!;
  const slot = slots.take();
  const at = slots.at(slot);
  heap.fill(0, at, at + APACK_SLOT_BYTES);
  const buf = exports.memory.buffer;
  // per rANS slot: u16 f, u16 slot - cum, then the group as bytes: vmin, OL, offset mask, size - 1 (layout.ts)
  const half = new Uint16Array(buf, at + APACK_DEC, 4096);
  const byte = new Uint8Array(buf, at + APACK_DEC, 8192);
  for (let s = 0; s < 1024; s++) {
    const step = c.slotStep[s];
    half[4 * s] = step & 2047;
    half[4 * s + 1] = step >> 11;
    const g = c.slotGroup[s];
    const ol = (g >> 9) & 15;
    byte[8 * s + 4] = g & 511;
    byte[8 * s + 5] = ol;
    byte[8 * s + 6] = (1 << ol) - 1;
    byte[8 * s + 7] = ol ? (g >> 13) - 1 : 0;
  }
  new Int32Array(buf, at + APACK_ENC_STEP, 256).set(c.encStep);
  new Int32Array(buf, at + APACK_ENC_XMAX, 256).set(c.encXmax);
  new Int32Array(buf, at + APACK_ENC_OFFSET, 256).set(c.encOffset);
  exports.apackPrepare(at);
  exports.apackForget();
  slots.own(slot, c);
  return at;
}


/** encodeBlock of rans.ts, through wasm when it takes the block. */
export function encodeBlock(c: CoderTables, src: Uint8Array, out: Uint8Array): number {
  if (wasm === null || src.length > WASM_MAX_RAW || src.length === 0) return encodeBlockJs(c, src, out);
  const slot = load(c);
  const { heap, exports } = wasm;
  heap.set(src, IN);
  const n = c.space === 16 ? src.length * 2 : src.length;
  const nibbles = c.space === 16 ? 1 : 0;
  const bytes = c.states === 1 ? exports.apackEncode(slot, n, nibbles) : c.states === 2 ? exports.apackEncode2(slot, n, nibbles) : exports.apackEncode4(slot, n, nibbles);
  out.set(heap.subarray(OUT, OUT + bytes));
  return bytes;
}

/** decodeBlock of rans.ts, through wasm when it takes the block; the same CodecError for a broken one. */
export function decodeBlock(c: CoderTables, src: Uint8Array, out: Uint8Array): void {
  const n = c.space === 16 ? out.length * 2 : out.length;
  // the decoder may read 2 bytes per value past the rANS stream before its checks catch a broken block
  if (wasm === null || n === 0 || out.length > WASM_MAX_RAW || src.length + 2 * n + 8 > IN_BYTES) return decodeBlockJs(c, src, out);
  // the header, as rans.ts reads it; anything unusual goes to rans.ts, which names the error
  let ransLen = 0;
  let p = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (p >= src.length) return decodeBlockJs(c, src, out);
    const b = src[p++];
    ransLen += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (b === 0 && shift > 0) return decodeBlockJs(c, src, out);
      break;
    }
  }
  const ransEnd = p + ransLen;
  if (ransLen < 4 * c.states || ransEnd > src.length) return decodeBlockJs(c, src, out);
  const nibbles = c.space === 16 ? 1 : 0;
  let rc: number;
  if (c.states === 1) {
    if (src[p] >= 0x80) return decodeBlockJs(c, src, out);
    const x = (src[p] << 24) | (src[p + 1] << 16) | (src[p + 2] << 8) | src[p + 3];
    if (x < 1 << 23) return decodeBlockJs(c, src, out);
    const slot = load(c);
    wasm.heap.set(src, IN);
    rc = wasm.exports.apackDecode(slot, n, nibbles, x, p + 4, ransEnd, src.length);
  } else {
    // apackDecode2 and apackDecode4 check the initial states themselves
    const slot = load(c);
    wasm.heap.set(src, IN);
    rc = c.states === 2 ? wasm.exports.apackDecode2(slot, n, nibbles, p, ransEnd, src.length) : wasm.exports.apackDecode4(slot, n, nibbles, p, ransEnd, src.length);
  }
  if (rc !== 0) {
    decodeBlockJs(c, src, out); // throws the CodecError that names what is wrong
    throw new Error('APack wasm decoder rejected a block the JS decoder accepts');
  }
  out.set(wasm.heap.subarray(OUT, OUT + out.length));
}
