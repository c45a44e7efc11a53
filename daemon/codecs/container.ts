import { crc32 } from 'node:zlib';
import type { CodecModel, CodecName, CodecOptions } from './codec.ts';
import { DTYPE_ID, checkByteLength, dtypeAlign, dtypeFromId, type Dtype } from './dtype.ts';
import { CodecError, badArgument, corrupt, truncated } from './errors.ts';
import { codecById, codecByName } from './index.ts';
import { readVarint, varintLength, writeVarint } from './varint.ts';

/**
 * The self-describing shimpack container (format version 1). Layout:
 *
 *   magic "SHPK" | version u8 | codec id u8 | dtype id u8 | flags u8
 *   varint blockSize | varint totalBytes | varint paramsLength | params
 *   block index: per block varint (storedBytes * 2 + storedRaw) and the CRC-32 (u32 LE) of its raw bytes
 *   CRC-32 (u32 LE) of everything above
 *   block payloads, in order
 *
 * Flag bit 0 ("whole tensor raw"): the codec's parameters did not pay for
 * themselves, so they are omitted and every block is stored raw. That bounds
 * the growth of any tensor to the fixed header plus at most 7 bytes per block
 * (docs/container.md gives the exact worst case).
 */
export const MAGIC = Uint8Array.of(0x53, 0x48, 0x50, 0x4b); // "SHPK"
export const FORMAT_VERSION = 1;
import { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './block-size.ts';

export { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './block-size.ts';
/** Largest tensor a container may announce (absurd lengths are corruption, not an allocation). */
export const MAX_TOTAL_BYTES = 2 ** 32;
const MAX_PARAMS_BYTES = 4096;
const FLAG_WHOLE_RAW = 1;

export interface EncodeOptions {
  readonly codec: CodecName;
  readonly dtype: Dtype;
  readonly blockSize?: number;
  readonly codecOptions?: CodecOptions;
  /** A model fitted elsewhere (e.g. a table from a calibration histogram); default: fitted to `data`. */
  readonly model?: CodecModel;
}

export interface BlockInfo {
  /** Offset of the block's payload in the container. */
  readonly offset: number;
  readonly storedBytes: number;
  readonly rawBytes: number;
  readonly storedRaw: boolean;
  readonly crc: number;
}

export interface ContainerInfo {
  readonly version: number;
  readonly codec: CodecName;
  readonly dtype: Dtype;
  readonly blockSize: number;
  readonly totalBytes: number;
  readonly wholeTensorRaw: boolean;
  readonly params: Uint8Array;
  readonly blocks: readonly BlockInfo[];
  /** Bytes of header and index (everything before the first payload). */
  readonly headerBytes: number;
  readonly containerBytes: number;
}

export function checkBlockSize(blockSize: number, dtype: Dtype): void {
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw badArgument(`block size must be a whole number of bytes from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}, got ${blockSize}`);
  }
  if (dtypeAlign(dtype) === 2 && blockSize % 2 !== 0) throw badArgument(`${dtype} data needs an even block size, got ${blockSize}`);
}

const crcOf = (bytes: Uint8Array): number => crc32(bytes) >>> 0;

function writeU32(buf: Uint8Array, pos: number, v: number): number {
  buf[pos] = v & 0xff;
  buf[pos + 1] = (v >>> 8) & 0xff;
  buf[pos + 2] = (v >>> 16) & 0xff;
  buf[pos + 3] = (v >>> 24) & 0xff;
  return pos + 4;
}

const readU32 = (buf: Uint8Array, pos: number): number =>
  (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;

function headerLength(blockSize: number, totalBytes: number, paramsLength: number, storedLens: Uint32Array, rawFlags: Uint8Array): number {
  let n = 8 + varintLength(blockSize) + varintLength(totalBytes) + varintLength(paramsLength) + paramsLength + 4;
  for (let i = 0; i < storedLens.length; i++) n += varintLength(storedLens[i] * 2 + rawFlags[i]) + 4;
  return n;
}

/** Allocates the whole container and writes its header; the caller copies the payload to `pos`. */
function writeHeader(
  codecId: number,
  dtype: Dtype,
  flags: number,
  blockSize: number,
  totalBytes: number,
  params: Uint8Array,
  storedLens: Uint32Array,
  rawFlags: Uint8Array,
  crcs: Uint32Array,
  payloadBytes: number,
): { out: Uint8Array; pos: number } {
  const out = new Uint8Array(headerLength(blockSize, totalBytes, params.length, storedLens, rawFlags) + payloadBytes);
  out.set(MAGIC, 0);
  out[4] = FORMAT_VERSION;
  out[5] = codecId;
  out[6] = DTYPE_ID[dtype];
  out[7] = flags;
  let pos = 8;
  pos = writeVarint(out, pos, blockSize);
  pos = writeVarint(out, pos, totalBytes);
  pos = writeVarint(out, pos, params.length);
  out.set(params, pos);
  pos += params.length;
  for (let i = 0; i < storedLens.length; i++) {
    pos = writeVarint(out, pos, storedLens[i] * 2 + rawFlags[i]);
    pos = writeU32(out, pos, crcs[i]);
  }
  pos = writeU32(out, pos, crcOf(out.subarray(0, pos)));
  return { out, pos };
}

/** Compress a whole tensor into a container. */
export function encodeContainer(data: Uint8Array, options: EncodeOptions): Uint8Array {
  const { dtype } = options;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize, dtype);
  checkByteLength(dtype, data.length, 'the input');
  if (data.length > MAX_TOTAL_BYTES) throw badArgument(`input of ${data.length} bytes exceeds the container limit of ${MAX_TOTAL_BYTES}`);
  const codec = codecByName(options.codec);
  const model = options.model ?? codec.fit(data, dtype, options.codecOptions);
  if (model.codec !== codec.name || model.dtype !== dtype) {
    throw badArgument(`the supplied model is ${model.codec}/${model.dtype}, not ${codec.name}/${dtype}`);
  }

  const nBlocks = Math.ceil(data.length / blockSize);
  const storedLens = new Uint32Array(nBlocks);
  const rawFlags = new Uint8Array(nBlocks);
  const crcs = new Uint32Array(nBlocks);
  // Every block is stored as at most its raw size, so the payload fits in data.length bytes.
  const payload = new Uint8Array(data.length);
  const scratch = new Uint8Array(model.maxEncodedBytes(blockSize));
  let payloadBytes = 0;
  for (let b = 0; b < nBlocks; b++) {
    const src = data.subarray(b * blockSize, Math.min(data.length, (b + 1) * blockSize));
    crcs[b] = crcOf(src);
    const n = model.encodeBlock(src, scratch);
    if (n < src.length) {
      payload.set(scratch.subarray(0, n), payloadBytes);
      storedLens[b] = n;
    } else {
      payload.set(src, payloadBytes);
      storedLens[b] = src.length;
      rawFlags[b] = 1;
    }
    payloadBytes += storedLens[b];
  }

  // Whole-tensor fallback: the parameters and the coded blocks did not beat storing everything raw.
  const rawLens = new Uint32Array(nBlocks);
  for (let b = 0; b < nBlocks; b++) rawLens[b] = Math.min(blockSize, data.length - b * blockSize);
  const allRaw = new Uint8Array(nBlocks).fill(1);
  const codedTotal = headerLength(blockSize, data.length, model.params.length, storedLens, rawFlags) + payloadBytes;
  const rawTotal = headerLength(blockSize, data.length, 0, rawLens, allRaw) + data.length;
  if (rawTotal <= codedTotal) {
    const r = writeHeader(codec.id, dtype, FLAG_WHOLE_RAW, blockSize, data.length, new Uint8Array(0), rawLens, allRaw, crcs, data.length);
    r.out.set(data, r.pos);
    return r.out;
  }
  const coded = writeHeader(codec.id, dtype, 0, blockSize, data.length, model.params, storedLens, rawFlags, crcs, payloadBytes);
  coded.out.set(payload.subarray(0, payloadBytes), coded.pos);
  return coded.out;
}

/** Parse and validate header and block index (no block is decoded). */
export function readContainerInfo(bytes: Uint8Array): ContainerInfo {
  if (bytes.length < 8) {
    if (bytes.length < 4 || !MAGIC.every((m, i) => bytes[i] === m)) throw new CodecError('E_BAD_MAGIC', 'not a shimpack container (no "SHPK" magic)');
    throw truncated(`container of ${bytes.length} bytes is shorter than its fixed header`);
  }
  if (!MAGIC.every((m, i) => bytes[i] === m)) throw new CodecError('E_BAD_MAGIC', 'not a shimpack container (no "SHPK" magic)');
  const version = bytes[4];
  if (version !== FORMAT_VERSION) throw new CodecError('E_VERSION', `container format version ${version} is not supported (this build reads ${FORMAT_VERSION})`);
  const codec = codecById(bytes[5]);
  const dtype = dtypeFromId(bytes[6]);
  const flags = bytes[7];
  if ((flags & ~FLAG_WHOLE_RAW) !== 0) throw corrupt(`unknown container flags 0x${flags.toString(16)}`);
  const end = bytes.length;
  let pos = 8;
  let blockSize: number, totalBytes: number, paramsLength: number;
  [blockSize, pos] = readVarint(bytes, pos, end, MAX_BLOCK_SIZE, 'the block size');
  if (blockSize < MIN_BLOCK_SIZE || (dtypeAlign(dtype) === 2 && blockSize % 2 !== 0)) throw corrupt(`invalid block size ${blockSize}`);
  [totalBytes, pos] = readVarint(bytes, pos, end, MAX_TOTAL_BYTES, 'the tensor length');
  if (dtypeAlign(dtype) === 2 && totalBytes % 2 !== 0) throw corrupt(`${dtype} tensor with an odd length of ${totalBytes} bytes`);
  [paramsLength, pos] = readVarint(bytes, pos, end, MAX_PARAMS_BYTES, 'the parameter length');
  if (pos + paramsLength > end) throw truncated('input ended inside the codec parameters');
  const params = bytes.slice(pos, pos + paramsLength);
  pos += paramsLength;
  const wholeTensorRaw = (flags & FLAG_WHOLE_RAW) !== 0;
  if (wholeTensorRaw && paramsLength !== 0) throw corrupt('a whole-raw container carries codec parameters');

  const nBlocks = Math.ceil(totalBytes / blockSize);
  // Each index entry takes at least 5 bytes: reject absurd block counts before allocating.
  if (nBlocks * 5 > end - pos) throw truncated(`container announces ${nBlocks} blocks but holds only ${end - pos} more bytes`);
  const entries: { stored: number; raw: boolean; crc: number; rawBytes: number }[] = new Array(nBlocks);
  let payloadBytes = 0;
  for (let b = 0; b < nBlocks; b++) {
    const rawBytes = Math.min(blockSize, totalBytes - b * blockSize);
    let v: number;
    [v, pos] = readVarint(bytes, pos, end, 2 * rawBytes + 1, `the index entry of block ${b}`);
    if (pos + 4 > end) throw truncated('input ended inside the block index');
    const stored = Math.floor(v / 2);
    const raw = v % 2 === 1;
    if (raw ? stored !== rawBytes : stored >= rawBytes) throw corrupt(`block ${b} has an impossible stored length ${stored} for ${rawBytes} raw bytes`);
    if (wholeTensorRaw && !raw) throw corrupt(`block ${b} is coded inside a whole-raw container`);
    entries[b] = { stored, raw, crc: readU32(bytes, pos), rawBytes };
    pos += 4;
    payloadBytes += stored;
  }
  if (pos + 4 > end) throw truncated('input ended before the header checksum');
  const headerCrc = readU32(bytes, pos);
  if (headerCrc !== crcOf(bytes.subarray(0, pos))) throw new CodecError('E_CHECKSUM', 'header checksum mismatch: the header or block index is corrupt');
  pos += 4;
  if (pos + payloadBytes !== end) {
    throw pos + payloadBytes > end
      ? truncated(`container is cut: its blocks need ${pos + payloadBytes} bytes, it has ${end}`)
      : corrupt(`container has ${end - pos - payloadBytes} unexpected bytes after its last block`);
  }
  const blocks: BlockInfo[] = new Array(nBlocks);
  let offset = pos;
  for (let b = 0; b < nBlocks; b++) {
    const e = entries[b];
    blocks[b] = { offset, storedBytes: e.stored, rawBytes: e.rawBytes, storedRaw: e.raw, crc: e.crc };
    offset += e.stored;
  }
  return { version, codec: codec.name, dtype, blockSize, totalBytes, wholeTensorRaw, params, blocks, headerBytes: pos, containerBytes: end };
}

/** The model a container's coded blocks need (undefined when every block is raw). */
export function containerModel(info: ContainerInfo): CodecModel | undefined {
  if (info.wholeTensorRaw) return undefined;
  return codecByName(info.codec).load(info.params, info.dtype);
}

/** Decode block `index` into `out` (length = the block's raw bytes); random access. */
export function decodeContainerBlock(bytes: Uint8Array, info: ContainerInfo, model: CodecModel | undefined, index: number, out: Uint8Array): void {
  const blk = info.blocks[index];
  const src = bytes.subarray(blk.offset, blk.offset + blk.storedBytes);
  if (blk.storedRaw) out.set(src);
  else {
    if (!model) throw corrupt(`block ${index} is coded but the container has no codec parameters`);
    try {
      model.decodeBlock(src, out);
    } catch (e) {
      // Name the block, as the checksum error does: the codec alone cannot tell which one it was given.
      if (e instanceof CodecError) throw new CodecError(e.code, `block ${index}: ${e.message}`);
      throw e;
    }
  }
  if (crcOf(out) !== blk.crc) throw new CodecError('E_CHECKSUM', `block ${index} does not match its checksum: the data is corrupt`);
}

/** Decompress a whole container. */
export function decodeContainer(bytes: Uint8Array): { info: ContainerInfo; data: Uint8Array } {
  const info = readContainerInfo(bytes);
  const model = containerModel(info);
  const data = new Uint8Array(info.totalBytes);
  for (let b = 0; b < info.blocks.length; b++) {
    const start = b * info.blockSize;
    decodeContainerBlock(bytes, info, model, b, data.subarray(start, start + info.blocks[b].rawBytes));
  }
  return { info, data };
}
