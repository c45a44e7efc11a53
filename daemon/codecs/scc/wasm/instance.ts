import { type CodecError, corrupt, truncated } from '../../errors.ts';
import { codecWasm } from '../../wasm/instance.ts';
import {
  IN,
  OUT,
  SCC_CC,
  SCC_DETAIL,
  SCC_ENG_CTX,
  SCC_ENG_CUM,
  SCC_ENG_FREQ,
  SCC_ENG_GROUP_BASE,
  SCC_ENG_GROUP_OL,
  SCC_ENG_GROUP_SIZE,
  SCC_ENG_INIT,
  SCC_ENG_LIVE,
  SCC_ENG_MAP,
  SCC_ENG_OFF,
  SCC_ENG_OL,
  SCC_ENG_SLOT,
  SCC_ENG_SYM,
  SCC_RECORD_BYTES,
  SCC_REC_A,
  SCC_REC_B,
  SCC_REC_P,
  SCC_SLOTS,
  SCC_SLOT_BYTES,
  SCC_SLOT_COUNT,
} from '../../wasm/layout.ts';
import type { Engine } from '../engine.ts';
import { TableSlots } from '../../wasm/table-slots.ts';

/**
 * The wasm SCC block coders (wasm/assembly/scc.ts: the adaptive and static
 * decoders and the adaptive encoder) in the codec module of this thread
 * (wasm/instance.ts); where it is off, `wasmDecoder` is null and range.ts /
 * rans.ts code in JS (they stay the reference).
 *
 * Per block: the block is copied in, the values copied out. Each engine's
 * tables live in one of 16 slots of wasm memory, filled when an engine is
 * first seen (cached by engine identity, slots reused round-robin), because a
 * lane worker decodes blocks of several regions interleaved.
 */

const SRC = IN;
const CC = SCC_CC;
const DETAIL = SCC_DETAIL;
const ENGINES = SCC_SLOTS;
const SLOT_BYTES = SCC_SLOT_BYTES;
const SLOTS = SCC_SLOT_COUNT;
/** Whether a block of `bytes` bytes for `values` values fits the wasm buffers (larger ones go to the JS decoders). */
export function wasmTakes(bytes: number, values: number): boolean {
  return values <= 0x4000 && bytes + 2 * values + 8 <= 0x10000;
}

/** Largest block the wasm encoder takes (its offset scratch holds 0x8000 bytes). */
export const WASM_MAX_ENCODE = 0x4000;

/** Result codes of wasm/assembly/scc.ts. */
export const WASM_OK = 0;
/** A table total beyond what the wasm decoder handles: decode with the JS reference instead. */
export const WASM_UNSUPPORTED = 6;

/** The CodecError the JS reference decoders throw for the same inconsistency (scc.ts's result codes). */
export function wasmError(rc: number, detail: number): CodecError {
  switch (rc) {
    case 1:
      return corrupt('SCC range-coder value is outside its table');
    case 2:
      return truncated('SCC offset stream ends early');
    case 3:
      return corrupt('SCC offset is outside its group');
    case 4:
      return corrupt('SCC offset padding bits are not zero');
    case 5:
      return corrupt('SCC range-coder and offset streams do not meet: corrupt block');
    case 10:
      return corrupt('SCC rANS stream runs into the offset stream');
    case 12:
      return corrupt('SCC rANS final state does not match the encoder start: corrupt block');
    case 13:
      return corrupt(`SCC block has ${detail} bytes between its rANS and offset streams`);
    default:
      return corrupt(`SCC wasm decoder returned unknown code ${rc}`);
  }
}

type AdaptiveFn = (n: number, len: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, tables: number, select: number) => number;
type EncodeFn = (n: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, tables: number, select: number) => number;
type StaticFn = (n: number, len: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, x0: number) => number;

export interface WasmDecoder {
  /**
   * Adaptive block: decode exactly out.length ≥ 1 values from src (≥ 1
   * bytes; wasmTakes both) of an engine that wasmFits; returns a result code. `out` is written only on WASM_OK.
   */
  adaptive(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number;
  /** Static block, after the caller's checks of length, select bit and initial state x0; same contract. */
  static(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, x0: number): number;
  /**
   * Adaptive block encoder: code src (1..0x4000 values) of an engine that
   * wasmFits into out (room for maxBlockBytes); returns the bytes written.
   */
  encodeAdaptive(e: Engine, cc: Uint8Array, src: Uint8Array, out: Uint8Array, select: number): number;
  /** The number in the last result 13 (bytes between the streams). */
  detail(): number;
}

function compile(): WasmDecoder | null {
  if (codecWasm === null) return null;
  const { exports, heap } = codecWasm;
  const memory = exports.memory;
  const runAdaptive = exports.sccDecode as AdaptiveFn;
  const runStatic = exports.sccDecodeStatic as StaticFn;
  const runEncode = exports.sccEncode as EncodeFn;
  const detail = new Int32Array(memory.buffer, DETAIL, 1);
  const slots = new TableSlots<Engine>(ENGINES, SLOT_BYTES, SLOTS);

  function load(e: Engine): number {
    const cached = slots.find(e);
    if (cached >= 0) return slots.at(cached);
    const slot = slots.take();
    const at = slots.at(slot);
    heap.fill(0, at, at + SLOT_BYTES);
    heap.set(e.ctxClass.subarray(0, 256), at + SCC_ENG_CTX);
    heap.set(e.map, at + SCC_ENG_MAP);
    new Int32Array(memory.buffer, at + SCC_ENG_GROUP_BASE, 16).set(e.groupBase);
    new Int32Array(memory.buffer, at + SCC_ENG_GROUP_SIZE, 16).set(e.groupSize);
    new Int32Array(memory.buffer, at + SCC_ENG_GROUP_OL, 16).set(e.groupOl);
    new Uint16Array(memory.buffer, at + SCC_ENG_LIVE, 16).set(e.live);
    heap.set(e.symOf, at + SCC_ENG_SYM);
    heap.set(e.offOf, at + SCC_ENG_OFF);
    heap.set(e.olOf, at + SCC_ENG_OL);
    if (e.adaptive) {
      // initial table records: A, B (both the initial estimators), zeros, P
      const u16 = SCC_RECORD_BYTES / 2;
      const rec = new Uint16Array(memory.buffer, at + SCC_ENG_INIT, 16 * u16);
      for (let t = 0; t < e.tables; t++) {
        let acc = 0;
        for (let g = 0; g < 16; g++) {
          rec[t * u16 + SCC_REC_A / 2 + g] = rec[t * u16 + SCC_REC_B / 2 + g] = e.init[t * 16 + g];
          rec[t * u16 + SCC_REC_P / 2 + g] = acc += e.initQ[t * 16 + g];
        }
      }
    } else {
      new Uint16Array(memory.buffer, at + SCC_ENG_FREQ, 256).set(e.freq);
      new Uint16Array(memory.buffer, at + SCC_ENG_CUM, 256).set(e.cum);
      heap.set(e.slot, at + SCC_ENG_SLOT);
    }
    slots.own(slot, e);
    return at;
  }

  /** The block, then zeros where the decoders may read past it (2 bytes per value at most, plus slack). */
  function copyIn(e: Engine, cc: Uint8Array, src: Uint8Array, n: number): void {
    heap.set(src, SRC);
    heap.fill(0, SRC + src.length, SRC + src.length + 2 * n + 8);
    if (e.tapA === 3) heap.set(cc.length === n ? cc : cc.subarray(0, n), CC);
  }

  // The decoded values, as views kept per length (blocks are nearly always one size).
  let outView = heap.subarray(OUT, OUT);
  function copyOut(out: Uint8Array): void {
    if (outView.length !== out.length) outView = heap.subarray(OUT, OUT + out.length);
    out.set(outView);
  }

  return {
    adaptive(e, cc, src, out, select) {
      const n = out.length;
      const eng = load(e);
      copyIn(e, cc, src, n);
      const rc = runAdaptive(n, src.length, eng, e.tapA, e.dA, e.dB, e.nB, e.predictor ? e.stride : 0, e.tables, select);
      if (rc === WASM_OK) copyOut(out);
      return rc;
    },
    static(e, cc, src, out, x0) {
      const n = out.length;
      const eng = load(e);
      copyIn(e, cc, src, n);
      const rc = runStatic(n, src.length, eng, e.tapA, e.dA, e.dB, e.nB, e.predictor ? e.stride : 0, x0);
      if (rc === WASM_OK) copyOut(out);
      return rc;
    },
    encodeAdaptive(e, cc, src, out, select) {
      const n = src.length;
      const eng = load(e);
      heap.set(src, SRC);
      if (e.tapA === 3) heap.set(cc.length === n ? cc : cc.subarray(0, n), CC);
      const bytes = runEncode(n, eng, e.tapA, e.dA, e.dB, e.nB, e.predictor ? e.stride : 0, e.tables, select);
      out.set(heap.subarray(OUT, OUT + bytes));
      return bytes;
    },
    detail: () => detail[0],
  };
}

/** The per-thread wasm decoder, or null where the codec wasm module is off (wasm/instance.ts: SHIMPACK_WASM=0, no SIMD, not built). */
export const wasmDecoder: WasmDecoder | null = compile();

/**
 * Adaptive engines: estimators that start summing to at most INIT_SUM_LIMIT
 * per table (always, for tables whose counts sum to 1024: 2^15 plus the
 * floors). The decay only shrinks a sum above its fixed point (about
 * 2^15 + 465 for A, 2^15 + 3825 for B), so the table totals (A + B) >> 4
 * stay below 5000 and scc.ts's u16 prefix sums are exact.
 */
const INIT_SUM_LIMIT = 40000;

const fits = new WeakMap<Engine, boolean>();

/** Whether an engine fits the wasm layout (always, for engines buildEngine makes from a valid header). */
export function wasmFits(e: Engine): boolean {
  let ok = fits.get(e);
  if (ok === undefined) {
    ok = e.tables <= 16 && e.map.length <= 512 && e.ctxClass.length >= 256 && e.init.length <= 256 && e.freq.length <= 256 && e.slot.length <= 16 * 1024;
    for (let t = 0; ok && t < e.tables; t++) {
      let sum = 0;
      let count = 0;
      for (let g = 0; g < 16; g++) {
        sum += e.init[t * 16 + g];
        count += e.freq[t * 16 + g];
      }
      // static: counts sum to 1024, so the rANS state stays below 2^31
      ok = e.adaptive ? sum <= INIT_SUM_LIMIT : count === 1024;
    }
    fits.set(e, ok);
  }
  return ok;
}
