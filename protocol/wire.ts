import { Packr, Unpackr } from 'msgpackr';

/**
 * The msgpack setup of protocol v1. `useRecords: false` keeps every frame
 * plain msgpack (maps, not msgpackr's record extension), so any language's
 * msgpack library reads it. `Uint8Array` payloads travel as msgpack `bin`.
 * 64-bit integers decode as numbers (addresses stay below 2^48).
 */
// `undefined` (an optional field left unset) goes out as nil, not as msgpackr's
// extension 0: the protocol has no extension types and the daemon refuses them.
const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * Encode one message (a map or an array of maps). msgpackr returns a view into
 * its working buffer; it never rewrites bytes it has handed out (it starts a
 * new buffer when the current one fills), so the view may be queued on a
 * socket as is. Copy it before transferring it to a worker.
 */
export function encodeFrame(message: unknown): Uint8Array {
  return packr.pack(message);
}

/**
 * Decode one frame. Binary fields come back as `Buffer` views into `frame`
 * (zero copy): whoever keeps them beyond the frame's lifetime must copy.
 */
export function decodeFrame(frame: Uint8Array): unknown {
  return unpackr.unpack(frame);
}

/**
 * msgpackr writes integers above 2^32 as float64. For readers in other
 * languages that want integer types, wrap such values so they go out as
 * msgpack uint64.
 */
export function wireInt(n: number): number | bigint {
  return Number.isInteger(n) && n > 0xffffffff ? BigInt(n) : n;
}
