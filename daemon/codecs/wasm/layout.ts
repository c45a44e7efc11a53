/**
 * The one table of the codec WebAssembly memory: the AssemblyScript coders
 * (assembly/*.ts) and the TypeScript side (instance.ts and the codecs'
 * wasm.ts files) both import these constants, so neither hand-types an
 * address. Plain integer constants only: this file compiles as
 * AssemblyScript (as i32) and as TypeScript alike.
 *
 * Below IO_BASE: AssemblyScript's own static data (build.ts checks it ends there).
 */

/** Start of the regions below; AssemblyScript's static data must end before it. */
export const IO_BASE = 0x10000;

/** Raw block bytes a wasm coder takes at most; larger blocks go to the JS coders. */
export const WASM_MAX_RAW = 0x40000;

/** Input: the coded block (decode) or the raw block (encode), then slack the decoders may over-read. */
export const IN = 0x10000;
export const IN_BYTES = 0x200000;
/** Output: the raw block (decode) or the coded block (encode). */
export const OUT = 0x210000;
export const OUT_BYTES = 0x200000;
/** Scratch: APack's backwards-written rANS bytes, SCC's forwards offset bytes. */
export const SCRATCH = 0x410000;
export const SCRATCH_BYTES = 0x200000;

/** APack model slots: per slot the decoder's slot table and the encoder's per-value tables. */
export const APACK_SLOTS = 0x610000;
export const APACK_SLOT_COUNT = 64;
export const APACK_SLOT_BYTES = 0x4000;
/**
 * Within an APack slot, per rANS slot (x mod 1024) 8 bytes: u16 count f,
 * u16 slot - cum, i32 group vmin | OL << 9 | size << 13 (size at least 1
 * where OL = 0, so "offset 0 < size" holds as in the JS decoder, which does
 * not check there).
 */
export const APACK_DEC = 0;
/** Per value, i32: f | cum << 11. */
export const APACK_ENC_STEP = 0x2000;
/** Per value, i32: renormalise while x > this. */
export const APACK_ENC_XMAX = 0x2400;
/** Per value, i32: offset | OL << 8. */
export const APACK_ENC_OFFSET = 0x2800;
/** Per value, u64 multiplier m and i32 shift s with floor(x / f) = (x * m) >> s for x < 2^31 (filled by apackPrepare). */
export const APACK_ENC_RCP = 0x2c00;
export const APACK_ENC_SHIFT = 0x3400;

/** APack: the decoder's copy of the slot table of the model it decoded last (at a constant address). */
export const APACK_CURRENT = 0x7a0000;
export const APACK_CURRENT_BYTES = 0x2000;

/** ZVC: per mask byte a 16-byte shuffle that spreads packed values to their lanes, and one that packs them. */
export const ZVC_SPREAD = 0x7a2000;
export const ZVC_PACK = 0x7a3000;

/** SCC: the channel class per block position (tap A = CC only). */
export const SCC_CC = 0x710000;
export const SCC_CC_BYTES = 0x8000;
/** SCC: the coded tables of the current block, 16 records of 128 bytes (see assembly/scc.ts). */
export const SCC_RECORDS = 0x718000;
/** SCC: a zero byte, read in place of bytes outside the block. */
export const SCC_ZERO = 0x718ff0;
/** SCC: i32 detail of the last static-decoder error. */
export const SCC_DETAIL = 0x718ff4;
/** SCC engine slots (layout of one slot: assembly/scc.ts and scc/wasm.ts). */
export const SCC_SLOTS = 0x720000;
export const SCC_SLOT_COUNT = 16;
export const SCC_SLOT_BYTES = 0x8000;

/** End of the regions: instance.ts grows the module's memory to here. */
export const MEMORY_END = 0x7b0000;

