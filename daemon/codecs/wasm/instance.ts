import { existsSync, readFileSync } from 'node:fs';
import { IO_BASE, MEMORY_END } from './layout.ts';

/**
 * The codec WebAssembly module (assembly/*.ts, built by `npm run build:wasm`
 * into build/codecs.wasm, which `npm ci` runs through `prepare`), one
 * instance per thread: compiled synchronously, because lane worker threads
 * load codecs synchronously too.
 *
 * `codecWasm` is null, and every codec runs its JS coder (the reference the
 * wasm coders are bit-identical to), when SHIMPACK_WASM=0, when this Node
 * lacks WebAssembly SIMD, or when the module was not built.
 */

/**
 * Where build/codecs.wasm is: beside this module in the sources, or, for the
 * compiled copy in dist/daemon/codecs/wasm/, in the checkout's sources
 * (asc writes it there; tsc does not copy it).
 */
const CANDIDATES = [new URL('./build/codecs.wasm', import.meta.url), new URL('../../../../daemon/codecs/wasm/build/codecs.wasm', import.meta.url)];
export const WASM_FILE = CANDIDATES.find((u) => existsSync(u)) ?? CANDIDATES[0];

/** The exports of assembly/index.ts. */
export interface CodecExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  apackPrepare(slot: number): void;
  apackEncode(slot: number, n: number, nibbles: number): number;
  apackDecode(slot: number, n: number, nibbles: number, x: number, p: number, ransEnd: number, end: number): number;
  apackEncode2(slot: number, n: number, nibbles: number): number;
  apackDecode2(slot: number, n: number, nibbles: number, p: number, ransEnd: number, end: number): number;
  apackEncode4(slot: number, n: number, nibbles: number): number;
  apackDecode4(slot: number, n: number, nibbles: number, p: number, ransEnd: number, end: number): number;
  apackForget(): void;
  zvcEncode8(n: number): number;
  zvcDecode8(n: number, len: number): number;
  zvcEncode16(n: number): number;
  zvcDecode16(n: number, len: number): number;
  zvcEncode4(n: number): number;
  zvcDecode4(n: number, len: number): number;
  ebpcDecode(count: number, W: number, N: number, znzBytes: number, bpcBytes: number): number;
  ebpcEncode(n: number, W: number, N: number): number;
  sccDecode(n: number, len: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, tables: number, select: number): number;
  sccDecodeStatic(n: number, len: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, x0: number): number;
  sccEncode(n: number, eng: number, tapA: number, dA: number, dB: number, nB: number, S: number, tables: number, select: number): number;
  fpackPrepare(): void;
  fpackDecodeSplit(slot: number, n: number, wide: number, mant: number, d1: number, d2: number, states: number, p: number, ransEnd: number, end: number, byGroup: number, ctx: number, tail: number): number;
  fpackDecodeWhole(slot: number, n: number, delta: number, d1: number, d2: number, states: number, p: number, ransEnd: number, end: number, ctx: number, tail: number): number;
  fpackDecodeWholeTwoPass(slot: number, n: number, delta: number, d1: number, d2: number, p: number, ransEnd: number, end: number, ctx: number, tail: number, mant: number, expMask: number, chunk: number): number;
}

export interface CodecWasm {
  readonly exports: CodecExports;
  /** All of the module's memory, as bytes (it never grows). */
  readonly heap: Uint8Array;
}

/** The little of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Why the wasm path is off (for `bench speed` and the tests), or undefined when it is on. */
export let wasmOffReason: string | undefined;

function instantiate(): CodecWasm | null {
  if (process.env.SHIMPACK_WASM === '0') {
    wasmOffReason = 'SHIMPACK_WASM=0';
    return null;
  }
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) {
    wasmOffReason = 'this Node has no WebAssembly';
    return null;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(WASM_FILE);
  } catch {
    wasmOffReason = `${WASM_FILE.pathname} is missing (run npm run build:wasm)`;
    return null;
  }
  try {
    // throws a CompileError where SIMD is missing
    const exports = new api.Instance(new api.Module(bytes), {}).exports as unknown as CodecExports;
    // the regions of layout.ts; the module itself only holds AssemblyScript's static data
    const have = exports.memory.buffer.byteLength;
    if (have > IO_BASE) throw new Error(`its static data reaches past ${IO_BASE} (layout.ts IO_BASE)`);
    exports.memory.grow(Math.ceil((MEMORY_END - have) / 0x10000));
    const heap = new Uint8Array(exports.memory.buffer); // never grows again
    return { exports, heap };
  } catch (e) {
    wasmOffReason = `the codec wasm module does not load here: ${(e as Error).message}`;
    return null;
  }
}

/** The per-thread codec wasm module, or null (see wasmOffReason). */
export const codecWasm: CodecWasm | null = instantiate();
