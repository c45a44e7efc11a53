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
/** Scratch: APack's encoders: rANS bytes written backwards from the top, offsets forwards from the bottom; its 4-state decoder: each value's group index from the bottom; SCC's forwards offset bytes. */
export const SCRATCH = 0x410000;
export const SCRATCH_BYTES = 0x200000;

/** APack's 4-state decoder: the block, byte-reversed, ends here (the top of SCRATCH; its group indices start at the bottom). */
export const APACK_REV_END = 0x610000;
// 0x610000 - 0x710000: free (APack's 64 model slots were here before there were 512).
// 0x830000 - 0xd40000: free (fpack's 16 model slots were here before there were 64).
/**
 * APack model slots: per slot the decoder's slot table and the encoder's
 * per-value tables (at the end of the memory, below APACK_SPLIT). 512: a
 * lane, or bench speed's corpus, codes blocks of hundreds of tensors in
 * turn (slots are reused round-robin, so a cycle over more models than
 * slots refills one per model), and refilling a slot costs more than half a
 * block's decode (its tables written, the encoder's reciprocals and the
 * split tables built). Slots never used are never touched, so the OS never
 * backs their pages.
 */
export const APACK_SLOTS = 0xd40000;
export const APACK_SLOT_COUNT = 512;
export const APACK_SLOT_BYTES = 0x4000;
/**
 * Within an APack slot, per rANS slot (x mod 1024) 8 bytes: u16 count f,
 * u16 slot - cum, then the slot's group as bytes: vmin, OL, 2^OL - 1 (the
 * offset mask) and size - 1 (0 where OL = 0, so "offset 0 <= size - 1"
 * holds as in the JS decoder, which does not check there).
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

/** APack: the decoder's copy of the slot table of the model it decoded last, or of its split table (the two-pass decoder's), at a constant address. */
export const APACK_CURRENT = 0x7a0000;
export const APACK_CURRENT_BYTES = 0x2000;

/** ZVC: per mask byte a 16-byte shuffle that spreads packed values to their lanes, and one that packs them. */
export const ZVC_SPREAD = 0x7a2000;
export const ZVC_PACK = 0x7a3000;

/** EBPC: the ZNZ stream and the BPC stream of a block, each followed by zeros (what the JS reader reads past a stream's end). */
export const EBPC_ZNZ = IN;
export const EBPC_BPC = SCRATCH;
/** EBPC: the decoder's planes, deltas and values of one BPC block. */
export const EBPC_TMP = 0x7a4000;

/** APack: a byte the 1-state encoder (apackEncode) stores to when it has no complete offset byte (stores without a branch). */
export const APACK_SINK = 0x7a5000;

/** SCC: the channel class per block position (tap A = CC only). */
export const SCC_CC = 0x710000;
export const SCC_CC_BYTES = 0x8000;
/**
 * SCC: the coded tables of the current block, 16 records of 128 bytes: A, the
 * fast estimators (u16 x 16); B, the slow ones; 8 x u16 zero; P, the
 * inclusive prefix sums of the coding probabilities Q = (A + B) >> 4 (u16 x
 * 16), so P[-1] = 0 (the last zero) and P[15] is the table total.
 */
export const SCC_RECORDS = 0x718000;
export const SCC_RECORD_BYTES = 128;
export const SCC_REC_A = 0;
export const SCC_REC_B = 32;
export const SCC_REC_P = 80;
/** SCC: a zero byte, read in place of bytes outside the block. */
export const SCC_ZERO = 0x718ff0;
/** SCC: i32 detail of the last static-decoder error. */
export const SCC_DETAIL = 0x718ff4;
/** SCC engine slots, filled by scc/wasm/instance.ts. */
export const SCC_SLOTS = 0x720000;
export const SCC_SLOT_COUNT = 16;
export const SCC_SLOT_BYTES = 0x8000;
/** Within an SCC slot: ctxClass u8[256], map u8[512], groupBase / groupSize / groupOl i32[16], live u16[16]. */
export const SCC_ENG_CTX = 0;
export const SCC_ENG_MAP = 256;
export const SCC_ENG_GROUP_BASE = 768;
export const SCC_ENG_GROUP_SIZE = 832;
export const SCC_ENG_GROUP_OL = 896;
export const SCC_ENG_LIVE = 960;
/** Static engines: count and cumulative count u16[16 tables x 16 groups], the group of each of 1024 slots per table u8. */
export const SCC_ENG_FREQ = 2304;
export const SCC_ENG_CUM = 2816;
export const SCC_ENG_SLOT = 4096;
/** Per value u8[256]: its group, its offset, its offset length. */
export const SCC_ENG_SYM = 3328;
export const SCC_ENG_OFF = 3584;
export const SCC_ENG_OL = 3840;
/** Adaptive engines: the initial table records (16 x SCC_RECORD_BYTES). */
export const SCC_ENG_INIT = 20480;

/**
 * fpack (assembly/fpack.ts, fpack/wasm.ts): ORDER code and its inverse (u8[256] each); the
 * decoder's history of exponents (split) or bytes (whole, delta): n zeros then the n values
 * decoded; model slots.
 */
export const FPACK_ORDER = 0x7a6000;
export const FPACK_ORDER_DECODE = 0x7a6100;
export const FPACK_HIST = 0x7b0000;
export const FPACK_HIST_BYTES = 0x80000;
/**
 * 64 slots, at the end of the memory: refilling one (324 KiB of tables written from JS) cost
 * about 83 us, four blocks' decode, and a lane or bench speed's rows cycle through more
 * models than the 16 there were. Slots never used are never touched, so the OS never backs
 * their pages.
 */
export const FPACK_SLOTS = 0x1940000;
export const FPACK_SLOT_COUNT = 64;
export const FPACK_SLOT_BYTES = 0x51000;
/**
 * Within an fpack slot (the tables of fpack/engine.ts, widened): per (A context, rANS slot)
 * and per (B class, rANS slot) u32 f | (slot - cum) << 11 | group << 21 (A: | B class << 25 where
 * B classes are unions of A groups), so one load gives the
 * rANS step; per group i32 vmin | OL << 11 | size << 15 (A: one partition; B: 16 per class);
 * u8[256] maps from a neighbour's exponent (split) or byte (whole, delta) to its A context
 * part, and from the value's exponent to its B class.
 */
export const FPACK_A_STEP = 0;
export const FPACK_B_STEP = 0x40000;
export const FPACK_B_GI = 0x50000;
export const FPACK_A_GI = 0x50400;
export const FPACK_A_CLASS = 0x50500;
export const FPACK_A_CLASS2 = 0x50600;
export const FPACK_B_CLASS = 0x50700;
/**
 * The two-pass whole / delta decoder (fp8): per A group index (at most 16) vmin, OL, the
 * offset mask and size - 1, 16 bytes each, for its SIMD second pass; then per exponent (at
 * most 32) the A context part of neighbour 1 and of neighbour 2, 32 bytes each.
 */
export const FPACK_W_VMIN = 0x50800;
export const FPACK_W_OL = 0x50810;
export const FPACK_W_MASK = 0x50820;
export const FPACK_W_LIM = 0x50830;
export const FPACK_W_CLASS1 = 0x50840;
export const FPACK_W_CLASS2 = 0x50860;
/**
 * APack's two-pass decoder: per model slot (same index as APACK_SLOTS) its
 * tables, built by apackPrepare from the slot table. Per rANS slot, u16
 * each: 2f, 2(slot - cum) (the decoder keeps its states doubled) and the
 * slot's group index; then per group index (at most 16) vmin, OL, the offset
 * mask and size - 1, 16 bytes each; a byte that is 1 when the table has at
 * most 16 groups (always, for tables rans.ts builds).
 */
export const APACK_SPLIT = 0x1540000;
export const APACK_SPLIT_BYTES = 0x2000;
export const APACK_SPLIT_F = 0;
export const APACK_SPLIT_B = 0x800;
export const APACK_SPLIT_G = 0x1000;
export const APACK_SPLIT_VMIN = 0x1800;
export const APACK_SPLIT_OL = 0x1810;
export const APACK_SPLIT_MASK = 0x1820;
export const APACK_SPLIT_LIM = 0x1830;
export const APACK_SPLIT_OK = 0x1840;
/** What decode4Split copies to APACK_CURRENT: the tables above. */
export const APACK_SPLIT_USED = 0x1841;
/** apackPrepare's scratch: group index by vmin while it numbers the groups. */
export const APACK_SPLIT_MAP = 0x1900;

/** End of the regions (FPACK_SLOTS, the highest, end here): instance.ts grows the module's memory to here. */
export const MEMORY_END = 0x2d80000;

