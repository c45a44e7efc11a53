import { CodecError } from '../codecs/errors.ts';
import { dtypeAlign } from '../codecs/dtype.ts';
import { strideFromShape } from '../codecs/stride.ts';
import {
  MAX_ADDRESS,
  MAX_REGION_STRIDE,
  MAX_SHAPE_RANK,
  MAX_VECTOR_ELEMENTS,
  OPS,
  REGION_KINDS,
  WIRE_CODECS,
  WIRE_DTYPES,
  type Op,
  type Request,
} from '../../protocol/types.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';

/**
 * Turn one decoded msgpack value into a typed request, or throw a
 * ProtocolError naming the field. Checks shapes and ranges only; whether an
 * address is inside a region is the engine's business.
 */
/** Largest request id: 2^53 - 1, the largest integer every JSON/JavaScript client holds exactly. */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER;

/** The request's id if it has a valid one (an integer 0 ... 2^53 - 1), else null. */
export function requestId(raw: unknown): number | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

type Fields = Record<string, unknown>;

function bad(field: string, want: string, got: unknown): ProtocolError {
  const shown = got === undefined ? 'missing' : got instanceof Uint8Array ? `bin(${got.length})` : JSON.stringify(got)?.slice(0, 40);
  return new ProtocolError('E_BAD_FIELD', `field "${field}" must be ${want} (got ${shown})`);
}

function int(m: Fields, field: string, min: number, max: number): number {
  const v = m[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(field, `an integer in [${min}, ${max}]`, v);
  return v;
}

function optInt(m: Fields, field: string, min: number, max: number): number | undefined {
  return m[field] === undefined || m[field] === null ? undefined : int(m, field, min, max);
}

function str(m: Fields, field: string, maxLen = 256): string {
  const v = m[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLen) throw bad(field, `a non-empty string of at most ${maxLen} characters`, v);
  return v;
}

function optStr(m: Fields, field: string): string | undefined {
  return m[field] === undefined || m[field] === null ? undefined : str(m, field);
}

function oneOf<T extends string>(m: Fields, field: string, allowed: readonly T[]): T {
  const v = m[field];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw bad(field, `one of ${allowed.join('|')}`, v);
  return v as T;
}

function bin(m: Fields, field: string): Uint8Array {
  const v = m[field];
  if (!(v instanceof Uint8Array)) throw bad(field, 'msgpack bin', v);
  return v;
}

/**
 * A region's `stride`, `shape` and `layout` (section 4.2): the stride as given
 * or derived from shape and layout (both given: they must agree), or
 * undefined when the request has none. Every fault is E_BAD_FIELD.
 */
function regionStride(m: Fields): { stride?: number; shape?: number[]; layout?: string } {
  const stride = optInt(m, 'stride', 1, MAX_REGION_STRIDE);
  const rawShape = m.shape;
  const hasShape = rawShape !== undefined && rawShape !== null;
  if (hasShape) {
    const okShape = Array.isArray(rawShape) && rawShape.length >= 1 && rawShape.length <= MAX_SHAPE_RANK && rawShape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1 && d <= MAX_ADDRESS);
    if (!okShape) throw bad('shape', `an array of 1 to ${MAX_SHAPE_RANK} integers in [1, 2^48]`, rawShape);
  }
  const layout = optStr(m, 'layout');
  if (!hasShape && layout === undefined) return { stride };
  if (!hasShape || layout === undefined) throw new ProtocolError('E_BAD_FIELD', `fields "shape" and "layout" go together: give both or neither (got only "${hasShape ? 'shape' : 'layout'}")`);
  const shape = rawShape as number[];
  let derived: number;
  try {
    derived = strideFromShape(shape, layout);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    throw new ProtocolError('E_BAD_FIELD', `fields "shape" [${shape.join(', ')}] and "layout" "${layout.slice(0, 40)}" give no stride: ${e.message}`);
  }
  if (stride !== undefined && stride !== derived) {
    throw new ProtocolError('E_BAD_FIELD', `field "stride" is ${stride} but "shape" [${shape.join(', ')}] with "layout" ${layout.slice(0, 40)} gives ${derived}: give one, or both agreeing`);
  }
  return { stride: derived, shape: [...shape], layout };
}

/**
 * A writev/readv's `addrs` and `lens` (section 4.8): arrays of one length
 * 1 ... MAX_VECTOR_ELEMENTS of integers in range. One pass, no copy: the
 * decoded arrays are used as they are.
 */
function vector(m: Fields): { addrs: number[]; lens: number[]; total: number } {
  const addrs = m.addrs;
  const lens = m.lens;
  if (!Array.isArray(addrs)) throw bad('addrs', 'an array of integers', addrs);
  if (!Array.isArray(lens)) throw bad('lens', 'an array of integers', lens);
  if (addrs.length !== lens.length) throw new ProtocolError('E_BAD_FIELD', `fields "addrs" (${addrs.length} elements) and "lens" (${lens.length}) must have the same length`);
  if (addrs.length === 0) throw new ProtocolError('E_BAD_FIELD', 'fields "addrs" and "lens" must have at least one element');
  if (addrs.length > MAX_VECTOR_ELEMENTS) throw new ProtocolError('E_TOO_LARGE', `a vector of ${addrs.length} elements has more than ${MAX_VECTOR_ELEMENTS}`);
  let total = 0;
  for (let i = 0; i < addrs.length; i++) {
    const a = addrs[i] as unknown;
    const n = lens[i] as unknown;
    if (typeof a !== 'number' || !Number.isSafeInteger(a) || a < 0 || a >= MAX_ADDRESS) throw bad(`addrs[${i}]`, `an integer in [0, ${MAX_ADDRESS - 1}]`, a);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_ADDRESS) throw bad(`lens[${i}]`, `an integer in [0, ${MAX_ADDRESS}]`, n);
    total += n;
  }
  return { addrs: addrs as number[], lens: lens as number[], total };
}

export function validateRequest(raw: unknown): Request {
  const id = requestId(raw);
  if (id === null) throw new ProtocolError('E_MALFORMED', `a request is a msgpack map with an integer "id" in [0, ${MAX_REQUEST_ID}]`);
  const m = raw as Fields;
  const op = m.op;
  if (typeof op !== 'string') throw bad('op', 'a string', op);
  if (!(OPS as readonly string[]).includes(op)) throw new ProtocolError('E_UNKNOWN_OP', `unknown op "${op.slice(0, 40)}" (known: ${OPS.join(', ')})`);
  switch (op as Op) {
    case 'hello':
      return { op: 'hello', id, version: int(m, 'version', 0, 2 ** 31), client: optStr(m, 'client'), token: optStr(m, 'token'), space: optStr(m, 'space') };
    case 'region': {
      const base = int(m, 'base', 0, MAX_ADDRESS - 1);
      const size = int(m, 'size', 1, MAX_ADDRESS);
      if (base + size > MAX_ADDRESS) throw bad('size', `such that base + size <= 2^48`, size);
      const histogram = m.histogram;
      if (histogram !== undefined && histogram !== null && !Array.isArray(histogram)) throw bad('histogram', 'an array of counts', histogram);
      const table = m.table === undefined || m.table === null ? undefined : bin(m, 'table');
      if (table !== undefined && histogram !== undefined && histogram !== null) {
        throw new ProtocolError('E_BAD_FIELD', 'fields "table" and "histogram" exclude each other: give at most one');
      }
      const dtype = oneOf(m, 'dtype', WIRE_DTYPES);
      // 16-bit elements must not straddle blocks: blocks start at base + k * blockBytes (blockBytes is even).
      if (dtypeAlign(dtype) === 2 && base % 2 !== 0) throw bad('base', 'even for 16-bit regions', base);
      return {
        op: 'region',
        id,
        name: str(m, 'name'),
        base,
        size,
        dtype,
        kind: oneOf(m, 'kind', REGION_KINDS),
        codec: m.codec === undefined || m.codec === null ? undefined : oneOf(m, 'codec', WIRE_CODECS),
        blockBytes: optInt(m, 'blockBytes', 64, 1024 * 1024),
        table,
        histogram: (histogram ?? undefined) as number[] | undefined,
        ...regionStride(m),
      };
    }
    case 'write':
      return { op: 'write', id, addr: int(m, 'addr', 0, MAX_ADDRESS - 1), data: bin(m, 'data') };
    case 'read':
      return { op: 'read', id, addr: int(m, 'addr', 0, MAX_ADDRESS - 1), len: int(m, 'len', 0, MAX_ADDRESS) };
    case 'stats':
      return { op: 'stats', id, region: optStr(m, 'region') };
    case 'fence':
      return { op: 'fence', id };
    case 'flush':
      return { op: 'flush', id, region: optStr(m, 'region') };
    case 'free':
      return { op: 'free', id, name: str(m, 'name') };
    case 'writev': {
      const data = bin(m, 'data');
      const { addrs, lens, total } = vector(m);
      if (total !== data.length) throw new ProtocolError('E_BAD_FIELD', `field "data" holds ${data.length} bytes but "lens" add up to ${total}`);
      return { op: 'writev', id, addrs, lens, data };
    }
    case 'readv': {
      const { addrs, lens } = vector(m);
      return { op: 'readv', id, addrs, lens };
    }
  }
}
