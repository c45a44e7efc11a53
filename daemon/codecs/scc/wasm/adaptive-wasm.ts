import type { Engine } from '../engine.ts';
import { DECODE_WASM_BASE64 } from './decode-wasm.ts';

/**
 * The wasm adaptive block decoder (decode.wat), one instance per thread:
 * compiled synchronously (lane worker threads load codecs synchronously
 * too), only where WebAssembly SIMD exists; otherwise `wasmAdaptiveDecoder`
 * is null and range.ts keeps its JS reference decoder.
 *
 * Per block: the block is copied in, the values copied out. Each engine's
 * tables live in one of 16 slots of wasm memory, filled when an engine is
 * first seen (cached by engine identity, slots reused round-robin), because a
 * lane worker decodes blocks of several regions interleaved.
 */

// Memory layout: see decode.wat.
const SRC = 0;
const OUT = 0x10000;
const CC = 0x20000;
const ENGINES = 0x40000;
const SLOT_BYTES = 4096;
const SLOTS = 16;
/** Largest block (bytes in, values out) the wasm buffers take; larger ones go to the JS decoder. */
export const WASM_MAX_SRC = 0x10000 - 8;
export const WASM_MAX_VALUES = 0x10000;

/** Result codes of decode.wat. */
export const WASM_OK = 0;
export const WASM_ERR_TABLE = 1;
export const WASM_ERR_OFFSETS_END = 2;
export const WASM_ERR_OFFSET_RANGE = 3;
export const WASM_ERR_PADDING = 4;
export const WASM_ERR_MEET = 5;
/** A table total beyond the reciprocal table: decode with the JS reference instead. */
export const WASM_UNSUPPORTED = 6;

type DecodeFn = (n: number, len: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, tables: number, select: number) => number;

export interface WasmAdaptiveDecoder {
  /**
   * Decode exactly out.length values (1..WASM_MAX_VALUES) from src
   * (1..WASM_MAX_SRC bytes); returns a WASM_* result code. `out` is written
   * only on WASM_OK.
   */
  decode(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number;
}

/** The little of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

function compile(): WasmAdaptiveDecoder | null {
  if (process.env.SHIMPACK_SCC_WASM === '0') return null;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  let exports: Record<string, unknown>;
  try {
    // Synchronous, so lane worker threads can load it too; throws a
    // CompileError where SIMD or bulk memory is missing.
    const module = new api.Module(Buffer.from(DECODE_WASM_BASE64, 'base64'));
    exports = new api.Instance(module, {}).exports;
  } catch {
    return null;
  }
  const memory = exports.memory as { buffer: ArrayBuffer };
  const run = exports.decode as DecodeFn;
  const heap = new Uint8Array(memory.buffer); // fixed size: the module never grows its memory
  const slotOf = new WeakMap<Engine, number>();
  const owner: (Engine | undefined)[] = new Array(SLOTS).fill(undefined);
  let nextSlot = 0;

  function load(e: Engine): number {
    const cached = slotOf.get(e);
    if (cached !== undefined && owner[cached] === e) return ENGINES + cached * SLOT_BYTES;
    const slot = nextSlot;
    nextSlot = (nextSlot + 1) % SLOTS;
    const at = ENGINES + slot * SLOT_BYTES;
    heap.fill(0, at, at + SLOT_BYTES);
    heap.set(e.ctxClass.subarray(0, 256), at);
    heap.set(e.map, at + 256);
    const words = new Int32Array(memory.buffer, at + 768, 48);
    words.set(e.groupBase, 0);
    words.set(e.groupSize, 16);
    words.set(e.groupOl, 32);
    new Uint16Array(memory.buffer, at + 960, 16).set(e.live);
    new Uint16Array(memory.buffer, at + 1024, 256).set(e.init);
    // initial P per table: 8 zero u16, then the inclusive prefix sums of initQ
    const prefix = new Uint16Array(memory.buffer, at + 1536, 16 * 24);
    for (let t = 0; t < e.tables; t++) {
      let acc = 0;
      for (let g = 0; g < 16; g++) prefix[t * 24 + 8 + g] = acc += e.initQ[t * 16 + g];
    }
    owner[slot] = e;
    slotOf.set(e, slot);
    return at;
  }

  return {
    decode(e, cc, src, out, select) {
      const n = out.length;
      const eng = load(e);
      heap.set(src, SRC);
      heap.fill(0, SRC + src.length, SRC + src.length + 4);
      const tapA = e.tapA;
      if (tapA === 3) heap.set(cc.subarray(0, n), CC);
      const rc = run(n, src.length, eng, tapA, e.dA, e.dB, e.nB, e.predictor ? e.stride : 0, e.tables, select);
      if (rc === WASM_OK) out.set(heap.subarray(OUT, OUT + n));
      return rc;
    },
  };
}

/** The per-thread wasm decoder, or null where WebAssembly SIMD is unavailable (or SHIMPACK_SCC_WASM=0). */
export const wasmAdaptiveDecoder: WasmAdaptiveDecoder | null = compile();

/**
 * Whether an engine fits the wasm layout: ≤ 16 tables, and estimators that
 * start summing to at most INIT_SUM_LIMIT per table (always, for tables whose
 * counts sum to 1024: 2^15 plus the floors). The decay only shrinks a sum
 * above its fixed point (about 2^15 + 465 for A, 2^15 + 3825 for B), so the
 * table totals (A + B) >> 4 stay below 5000 and u16 prefix sums are exact.
 */
const INIT_SUM_LIMIT = 40000;

const fits = new WeakMap<Engine, boolean>();

export function wasmFits(e: Engine): boolean {
  let ok = fits.get(e);
  if (ok === undefined) {
    ok = e.tables <= 16 && e.map.length <= 512 && e.init.length <= 256 && e.ctxClass.length >= 256;
    for (let t = 0; ok && t < e.tables; t++) {
      let sum = 0;
      for (let g = 0; g < 16; g++) sum += e.init[t * 16 + g];
      ok = sum <= INIT_SUM_LIMIT;
    }
    fits.set(e, ok);
  }
  return ok;
}
