import { crc32 } from 'node:zlib';

/**
 * On-disk layout of the file backend's log (docs/hardening.md):
 *
 *   file   = "SHPKLOG1" record*
 *   record = u32 bodyLength, u32 crc32(body), body          (little-endian)
 *   body   = u8 type, u32 region, ...
 *     PUT    (1): f64 block index, stored block bytes
 *     DELETE (2): (nothing more) - the region and all its blocks are gone
 *     META   (3): region metadata bytes (opaque to the backend)
 *
 * A record is valid only if it is complete and its CRC matches; recovery
 * stops at the first one that is not (a torn tail after a crash) and cuts
 * the file there, so a partial record is never read as data.
 */
export const LOG_MAGIC = Buffer.from('SHPKLOG1', 'latin1');
export const REC_PUT = 1;
export const REC_DELETE = 2;
export const REC_META = 3;
export const RECORD_HEADER = 8;
/** Bodies are a block (at most 1 MiB + header) or region metadata: anything larger is damage. */
export const MAX_BODY = 64 * 1024 * 1024;
/** Offset of a PUT record's block bytes inside its body. */
export const PUT_DATA_AT = 1 + 4 + 8;

export function encodeRecord(type: number, region: number, index: number, payload: Uint8Array): Buffer {
  const fixed = type === REC_PUT ? PUT_DATA_AT : 5;
  const body = fixed + payload.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER + body);
  out.writeUInt32LE(body, 0);
  out[8] = type;
  out.writeUInt32LE(region, 9);
  if (type === REC_PUT) out.writeDoubleLE(index, 13);
  out.set(payload, RECORD_HEADER + fixed);
  out.writeUInt32LE(crc32(out.subarray(RECORD_HEADER)), 4);
  return out;
}

export interface ParsedRecord {
  readonly type: number;
  readonly region: number;
  readonly index: number;
  /** Absolute file offset and length of the payload (block bytes or metadata). */
  readonly payloadAt: number;
  readonly payloadLen: number;
  /** Offset just past the record. */
  readonly end: number;
}

/**
 * Parse the record at `at` of `buf` (which holds the file from offset
 * `bufAt`). Returns undefined when the bytes there are not a complete, valid
 * record: the log ends at `at`.
 */
export function parseRecord(buf: Buffer, at: number): ParsedRecord | undefined {
  if (at + RECORD_HEADER > buf.length) return undefined;
  const body = buf.readUInt32LE(at);
  if (body < 5 || body > MAX_BODY || at + RECORD_HEADER + body > buf.length) return undefined;
  const b = buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + body);
  if (crc32(b) !== buf.readUInt32LE(at + 4)) return undefined;
  const type = b[0];
  const region = b.readUInt32LE(1);
  const end = at + RECORD_HEADER + body;
  if (type === REC_PUT) {
    if (body < PUT_DATA_AT) return undefined;
    const index = b.readDoubleLE(5);
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    return { type, region, index, payloadAt: at + RECORD_HEADER + PUT_DATA_AT, payloadLen: body - PUT_DATA_AT, end };
  }
  if (type === REC_DELETE || type === REC_META) return { type, region, index: 0, payloadAt: at + RECORD_HEADER + 5, payloadLen: body - 5, end };
  return undefined;
}
