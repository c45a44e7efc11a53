import { TraceError } from './errors.ts';

/**
 * Records of a shimpack trace (normative spec: protocol/trace.md). Every
 * record is a msgpack map with string keys and a `type`; the stream is the
 * plain concatenation of the records, optionally inside one gzip member.
 */
export const TRACE_FORMAT = 'shimpack-trace';
export const TRACE_VERSION = 1;
/** Highest byte address + 1 the protocol carries (addresses are below 2^48). */
export const MAX_ADDRESS = 2 ** 48;

export const REGION_KINDS = ['weight', 'activation', 'other'] as const;
export type RegionKind = (typeof REGION_KINDS)[number];
export const REGION_CODECS = ['apack', 'ebpc', 'zvc', 'raw', 'scc', 'fpack'] as const;
export type RegionCodec = (typeof REGION_CODECS)[number];
export const TRACE_DTYPES = ['uint8', 'int8', 'uint4', 'int4', 'int16', 'bfloat16', 'float16', 'float8_e4m3', 'float8_e5m2'] as const;
export type TraceDtype = (typeof TRACE_DTYPES)[number];

export interface HeaderRecord {
  readonly type: 'header';
  readonly format: typeof TRACE_FORMAT;
  readonly version: number;
  /** ISO 8601 time the trace was made. */
  readonly created: string;
  /** What made it: `trace gen`, `import:scalesim`, `serve --record`, ... */
  readonly source: string;
  /** Free-form provenance (input files, options, data source); readers ignore unknown keys. */
  readonly [key: string]: unknown;
}

export interface RegionRecord {
  readonly type: 'region';
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly dtype: TraceDtype;
  readonly kind: RegionKind;
  readonly codec?: RegionCodec;
  /** The protocol's region stride (SCC needs it, or shape + layout); passed on by replay. */
  readonly stride?: number;
  /** The tensor's dimensions and their axis order (e.g. NHWC, HWIO): the daemon derives the stride from them. */
  readonly shape?: readonly number[];
  readonly layout?: string;
  /** Connection that declared it (recorded traces); absent means 0. */
  readonly conn?: number;
  /** What the bytes are (a tensor file, a synthetic distribution); informative only. */
  readonly origin?: string;
}

export type OpName = 'write' | 'read' | 'fence' | 'free';

export interface WriteOp {
  readonly type: 'op';
  readonly op: 'write';
  readonly t: number;
  readonly conn?: number;
  readonly addr: number;
  readonly len: number;
  readonly data: Uint8Array;
}
export interface ReadOp {
  readonly type: 'op';
  readonly op: 'read';
  readonly t: number;
  readonly conn?: number;
  readonly addr: number;
  readonly len: number;
  /** CRC-32 (zlib) of the `len` bytes the read must return, when known. */
  readonly crc?: number;
}
export interface FenceOp {
  readonly type: 'op';
  readonly op: 'fence';
  readonly t: number;
  readonly conn?: number;
}
export interface FreeOp {
  readonly type: 'op';
  readonly op: 'free';
  readonly t: number;
  readonly conn?: number;
  readonly name: string;
}
export type OpRecord = WriteOp | ReadOp | FenceOp | FreeOp;

/** Optional last record: totals, so `trace info` and replay can show progress. */
export interface EndRecord {
  readonly type: 'end';
  readonly ops: number;
  readonly writeBytes: number;
  readonly readBytes: number;
  /** t of the last op. */
  readonly lastT: number;
}

export type TraceRecord = HeaderRecord | RegionRecord | OpRecord | EndRecord;

// --- validation (readers check every record so a bad file fails where it is bad) ---

/** A whole number in [0, 2^53): what trace.md's uint fields hold (a larger one has lost its low bits on the way). */
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function bad(index: number, what: string): TraceError {
  return new TraceError('E_TRACE_RECORD', `record ${index}: ${what}`);
}

/** Check one decoded record; `index` is its 0-based position, for messages. */
export function validateRecord(rec: unknown, index: number): TraceRecord {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec) || rec instanceof Uint8Array) {
    throw new TraceError('E_TRACE_FORMAT', `record ${index} is not a map`);
  }
  const r = rec as Record<string, unknown>;
  switch (r.type) {
    case 'header':
      if (r.format !== TRACE_FORMAT) throw new TraceError('E_TRACE_FORMAT', `header format is ${JSON.stringify(r.format)}, not "${TRACE_FORMAT}"`);
      if (!isUint(r.version)) throw bad(index, 'header lacks a whole-number version');
      if (r.version > TRACE_VERSION) throw new TraceError('E_TRACE_VERSION', `trace version ${r.version} is newer than this build reads (${TRACE_VERSION})`);
      if (typeof r.created !== 'string' || typeof r.source !== 'string') throw bad(index, 'header needs string created and source');
      return r as unknown as HeaderRecord;
    case 'region':
      if (typeof r.name !== 'string' || r.name.length === 0) throw bad(index, 'region needs a non-empty name');
      if (!isUint(r.base) || !isUint(r.size) || r.size === 0 || r.base + r.size > MAX_ADDRESS) {
        throw bad(index, `region ${r.name} needs whole-number base and size > 0, base + size <= 2^48`);
      }
      if (!(TRACE_DTYPES as readonly unknown[]).includes(r.dtype)) throw bad(index, `region ${r.name} has unknown dtype ${JSON.stringify(r.dtype)}`);
      if (!(REGION_KINDS as readonly unknown[]).includes(r.kind)) throw bad(index, `region ${r.name} has unknown kind ${JSON.stringify(r.kind)}`);
      if (r.codec !== undefined && !(REGION_CODECS as readonly unknown[]).includes(r.codec)) throw bad(index, `region ${r.name} has unknown codec ${JSON.stringify(r.codec)}`);
      if (r.conn !== undefined && !isUint(r.conn)) throw bad(index, 'region conn must be a whole number');
      // Shapes only: whether stride, shape and layout agree is the daemon's to judge when the trace is replayed.
      if (r.stride !== undefined && !(isUint(r.stride) && r.stride > 0)) throw bad(index, `region ${r.name} stride must be a whole number > 0`);
      if (r.shape !== undefined && !(Array.isArray(r.shape) && r.shape.every(isUint))) throw bad(index, `region ${r.name} shape must be an array of whole numbers`);
      if (r.layout !== undefined && typeof r.layout !== 'string') throw bad(index, `region ${r.name} layout must be a string`);
      return r as unknown as RegionRecord;
    case 'op': {
      if (!isUint(r.t)) throw bad(index, 'op needs t (whole ns from the start)');
      if (r.conn !== undefined && !isUint(r.conn)) throw bad(index, 'op conn must be a whole number');
      switch (r.op) {
        case 'write':
          if (!isUint(r.addr) || !isUint(r.len) || !isBytes(r.data) || r.data.length !== r.len || r.len === 0) {
            throw bad(index, 'write needs addr, len > 0 and data of len bytes');
          }
          if (r.addr + r.len > MAX_ADDRESS) throw bad(index, 'write beyond 2^48');
          return r as unknown as WriteOp;
        case 'read':
          if (!isUint(r.addr) || !isUint(r.len) || r.len === 0) throw bad(index, 'read needs addr and len > 0');
          if (r.addr + r.len > MAX_ADDRESS) throw bad(index, 'read beyond 2^48');
          if (r.crc !== undefined && !(isUint(r.crc) && r.crc <= 0xffffffff)) throw bad(index, 'read crc must be a 32-bit unsigned number');
          return r as unknown as ReadOp;
        case 'fence':
          return r as unknown as FenceOp;
        case 'free':
          if (typeof r.name !== 'string') throw bad(index, 'free needs a region name');
          return r as unknown as FreeOp;
        default:
          throw bad(index, `unknown op ${JSON.stringify(r.op)}`);
      }
    }
    case 'end':
      if (!isUint(r.ops) || !isUint(r.writeBytes) || !isUint(r.readBytes) || !isUint(r.lastT)) throw bad(index, 'end needs ops, writeBytes, readBytes, lastT');
      return r as unknown as EndRecord;
    default:
      throw new TraceError('E_TRACE_FORMAT', `record ${index} has unknown type ${JSON.stringify(r.type)}`);
  }
}
