import { MAX_VECTOR_ELEMENTS, OPS, WIRE_DTYPES, type ErrorCode } from '../../protocol/types.ts';
import { encodeFrame } from '../../protocol/wire.ts';
import { mutate } from './mutate.ts';
import type { Rng } from './rng.ts';

/**
 * Frames for daemon fuzzing. Each generator returns the frame and what the
 * answer to it must be, where that is known without running the daemon's own
 * validation (a request class with a certain code); otherwise any documented
 * code (never E_INTERNAL) is accepted, and the count and ids of the answers
 * are still checked by the runner.
 */
export interface FuzzFrame {
  readonly data: Uint8Array | string;
  readonly binary: boolean;
  readonly klass: string;
  /** When set, every answer must carry this code. */
  readonly code?: ErrorCode;
}

/** Addresses the fuzzer's regions live in (away from anything a verifying client uses). */
export const FUZZ_BASE = 2 ** 40;
const FUZZ_SPAN = 2 ** 24;

const WEIRD: unknown[] = [
  null, true, false, -1, 0, 1.5, -0.5, 2 ** 48, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, NaN, Infinity, -Infinity,
  '', 'x', 'é'.repeat(300), new Uint8Array(0), new Uint8Array(3), [], [1, 2, 3], {}, { op: 'read' }, [[[[[]]]]],
];

function nameOf(rng: Rng, conn: number): string {
  return `fz${conn}-${rng.int(6)}`;
}

/** A well-formed request of a random op, inside the fuzzer's address range. */
export function plausibleRequest(rng: Rng, conn: number, id: number): Record<string, unknown> {
  const addr = FUZZ_BASE + rng.int(FUZZ_SPAN);
  switch (rng.pick(OPS)) {
    case 'hello':
      return { op: 'hello', id, version: rng.chance(0.8) ? 1 : rng.int(5) };
    case 'region':
      return {
        op: 'region', id, name: nameOf(rng, conn), base: FUZZ_BASE + rng.int(FUZZ_SPAN), size: 1 + rng.int(1 << 16),
        dtype: rng.pick([...WIRE_DTYPES]), kind: rng.pick(['weight', 'activation', 'other']),
        codec: rng.pick([undefined, 'apack', 'ebpc', 'zvc', 'raw']), blockBytes: rng.pick([undefined, 64, 256, 4096]),
      };
    case 'write':
      return { op: 'write', id, addr, data: rng.bytes(rng.int(rng.chance(0.1) ? 9000 : 300)) };
    case 'read':
      return { op: 'read', id, addr, len: rng.int(rng.chance(0.1) ? 9000 : 300) };
    case 'stats':
      return rng.chance(0.5) ? { op: 'stats', id } : { op: 'stats', id, region: nameOf(rng, conn) };
    case 'fence':
      return { op: 'fence', id };
    case 'flush':
      return rng.chance(0.5) ? { op: 'flush', id } : { op: 'flush', id, region: nameOf(rng, conn) };
    case 'free':
      return { op: 'free', id, name: nameOf(rng, conn) };
    case 'writev':
    case 'readv':
      return vectorRequest(rng, id, addr);
  }
}

/**
 * A valid writev or readv: 1 to 64 bursts (now and then up to 2000) of 0 to
 * 300 bytes, near `addr` or scattered over the fuzzer's span, overlapping at
 * times, so that elements land inside, across and outside regions.
 */
export function vectorRequest(rng: Rng, id: number, addr: number): Record<string, unknown> {
  const n = 1 + rng.int(rng.chance(0.05) ? 2000 : 64);
  const near = rng.chance(0.7);
  const addrs: number[] = [];
  const lens: number[] = [];
  let at = addr;
  for (let i = 0; i < n; i++) {
    const len = rng.chance(0.1) ? 0 : rng.pick([64, 64, 1 + rng.int(300)]);
    // Consecutive bursts, a step back (overlap), or a jump.
    if (near) at = rng.chance(0.8) ? at : rng.chance(0.5) ? Math.max(0, at - rng.int(128)) : at + rng.int(8192);
    else at = FUZZ_BASE + rng.int(FUZZ_SPAN);
    addrs.push(at);
    lens.push(len);
    at += len;
  }
  const total = lens.reduce((a, b) => a + b, 0);
  return rng.chance(0.5) ? { op: 'writev', id, addrs, lens, data: rng.bytes(total) } : { op: 'readv', id, addrs, lens };
}

/** A vector request broken in a way the protocol names (section 4.8): the code every answer must carry. */
export function vectorMutant(rng: Rng, id: number): { req: Record<string, unknown>; code: ErrorCode } {
  const v = vectorRequest(rng, id, FUZZ_BASE + rng.int(FUZZ_SPAN));
  const addrs = v.addrs as unknown[];
  const lens = v.lens as unknown[];
  const i = rng.int(addrs.length);
  switch (rng.int(8)) {
    case 0:
      (rng.chance(0.5) ? addrs : lens).push(rng.int(64));
      return { req: v, code: 'E_BAD_FIELD' }; // lengths differ
    case 1:
      return { req: { ...v, addrs: [], lens: [], ...(v.op === 'writev' ? { data: new Uint8Array(0) } : {}) }, code: 'E_BAD_FIELD' };
    case 2:
      addrs[i] = rng.pick([-1, 1.5, 2 ** 48, 2 ** 53, NaN, '1', null, [], true]);
      return { req: v, code: 'E_BAD_FIELD' };
    case 3:
      lens[i] = rng.pick([-1, 0.5, 2 ** 48 + 1, Infinity, 'x', null, {}]);
      return { req: v, code: 'E_BAD_FIELD' };
    case 4:
      return { req: { ...v, [rng.pick(['addrs', 'lens'])]: rng.pick([null, 7, 'abc', new Uint8Array(4), { 0: 1 }]) }, code: 'E_BAD_FIELD' };
    case 5: {
      // writev whose data is not the sum of the lengths (or not bytes at all); readv asking for more than a frame.
      if (v.op === 'readv') return { req: { ...v, lens: lens.map((x, k) => (k === i ? 2 ** 40 : x)) }, code: 'E_TOO_LARGE' };
      const d = v.data as Uint8Array;
      // Shorter data than the lengths need: only when they need any (a vector of zero-length elements takes no bytes, so there the data is longer).
      const shorter = d.length > 0 ? d.subarray(0, Math.max(0, d.length - 1 - rng.int(8))) : new Uint8Array(1 + rng.int(8));
      return { req: { ...v, data: rng.pick([shorter, new Uint8Array(d.length + 1 + rng.int(8)), 'text', [1, 2]]) }, code: 'E_BAD_FIELD' };
    }
    case 6: {
      // One element more than MAX_VECTOR_ELEMENTS (zero-length bursts keep the frame small).
      const n = MAX_VECTOR_ELEMENTS + 1;
      const base = FUZZ_BASE + rng.int(FUZZ_SPAN);
      return { req: { op: v.op, id, addrs: new Array<number>(n).fill(base), lens: new Array<number>(n).fill(0), ...(v.op === 'writev' ? { data: new Uint8Array(0) } : {}) }, code: 'E_TOO_LARGE' };
    }
    default:
      delete v[rng.pick(v.op === 'writev' ? ['addrs', 'lens', 'data'] : ['addrs', 'lens'])];
      return { req: v, code: 'E_BAD_FIELD' };
  }
}

/** A request with one field replaced, removed or added. */
function fieldMutant(rng: Rng, req: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...req };
  const keys = Object.keys(out).filter((k) => k !== 'id' && k !== 'op');
  const r = rng.int(4);
  if (r === 0 && keys.length) delete out[rng.pick(keys)];
  else if (r === 1 && keys.length) out[rng.pick(keys)] = rng.pick(WEIRD);
  else if (r === 2) {
    // An own property even for "__proto__" (a map key on the wire, not a prototype).
    Object.defineProperty(out, rng.pick(['junk', 'extra', '__proto__', 'constructor']), { value: rng.pick(WEIRD), enumerable: true, writable: true, configurable: true });
  }
  else out.op = rng.pick(WEIRD);
  return out;
}

/** Built once per shape: making a 3 MB nesting byte by byte each time was a fifth of the fuzzer's CPU. Never written to (sends do not change it). */
const deepFrames = new Map<string, Uint8Array>();

function deepNest(depth: number, map: boolean): Uint8Array {
  const key = `${depth}:${map}`;
  const hit = deepFrames.get(key);
  if (hit) return hit;
  // fixarray(1) or fixmap(1) with key "a", repeated, ending in nil.
  const unit = map ? [0x81, 0xa1, 0x61] : [0x91];
  const out = new Uint8Array(depth * unit.length + 1);
  if (map) {
    for (let i = 0; i < out.length - 1; i += 3) {
      out[i] = 0x81;
      out[i + 1] = 0xa1;
      out[i + 2] = 0x61;
    }
  } else out.fill(0x91);
  out[out.length - 1] = 0xc0;
  deepFrames.set(key, out);
  return out;
}

/** Headers announcing far more than the frame holds (bin32, str32, array32, map32, ext32). */
function hugeLength(rng: Rng): Uint8Array {
  const tag = rng.pick([0xc6, 0xdb, 0xdd, 0xdf, 0xc9, 0xc5, 0xda, 0xdc, 0xde]);
  const wide = tag === 0xc6 || tag === 0xdb || tag === 0xdd || tag === 0xdf || tag === 0xc9;
  const head = wide ? [tag, 0xff, 0xff, 0xff, rng.int(256)] : [tag, 0xff, rng.int(256)];
  return Uint8Array.from([...head, ...rng.bytes(rng.int(40))]);
}

export const FRAME_CLASSES = ['plausible', 'batch', 'vector', 'vector-batch', 'vector-mutant', 'field-mutant', 'unknown-op', 'no-id', 'byte-mutant', 'garbage', 'text', 'deep', 'huge-length', 'garbage-batch'] as const;

export function fuzzFrame(rng: Rng, conn: number, nextId: () => number): FuzzFrame {
  const klass = rng.pick(FRAME_CLASSES);
  switch (klass) {
    case 'plausible':
      return { klass, binary: true, data: encodeFrame(plausibleRequest(rng, conn, nextId())) };
    case 'batch':
      return { klass, binary: true, data: encodeFrame(Array.from({ length: rng.int(20) }, () => plausibleRequest(rng, conn, nextId()))) };
    case 'vector':
      return { klass, binary: true, data: encodeFrame(vectorRequest(rng, nextId(), FUZZ_BASE + rng.int(FUZZ_SPAN))) };
    case 'vector-batch': {
      // A region, vectors into it and around it, then its free: elements both apply and fail.
      const base = FUZZ_BASE + rng.int(FUZZ_SPAN);
      const name = nameOf(rng, conn);
      const size = 64 + rng.int(1 << 14);
      const region = { op: 'region', id: nextId(), name, base, size, dtype: 'int8', kind: rng.pick(['weight', 'activation', 'other']), codec: rng.pick([undefined, 'apack', 'ebpc', 'zvc', 'raw']), blockBytes: rng.pick([undefined, 64, 256, 4096]) };
      const vectors = Array.from({ length: 1 + rng.int(6) }, () => vectorRequest(rng, nextId(), base + rng.int(size)));
      return { klass, binary: true, data: encodeFrame([region, ...vectors, { op: 'free', id: nextId(), name }]) };
    }
    case 'vector-mutant': {
      const m = vectorMutant(rng, nextId());
      return { klass, binary: true, code: m.code, data: encodeFrame(m.req) };
    }
    case 'field-mutant':
      return { klass, binary: true, data: encodeFrame(fieldMutant(rng, plausibleRequest(rng, conn, nextId()))) };
    case 'unknown-op':
      return { klass, binary: true, code: 'E_UNKNOWN_OP', data: encodeFrame({ op: rng.pick(['teleport', 'READ', 'write ', 'x'.repeat(1000), '']), id: nextId() }) };
    case 'no-id':
      return { klass, binary: true, code: 'E_MALFORMED', data: encodeFrame({ ...plausibleRequest(rng, conn, 0), id: rng.pick([undefined, 'a', 1.5, null, 2 ** 60]) }) };
    case 'byte-mutant': {
      const a = encodeFrame(plausibleRequest(rng, conn, nextId()));
      return { klass, binary: true, data: mutate(rng, a.slice(), encodeFrame(plausibleRequest(rng, conn, nextId()))).bytes };
    }
    case 'garbage':
      return { klass, binary: true, data: rng.bytes(rng.int(200)) };
    case 'text':
      return { klass, binary: false, code: 'E_MALFORMED', data: rng.chance(0.5) ? '{"op":"hello","id":1,"version":1}' : 'x'.repeat(rng.int(100)) };
    case 'deep':
      return { klass, binary: true, data: deepNest(rng.pick([10, 1000, 100_000, 1_000_000]), rng.chance(0.5)) };
    case 'huge-length':
      return { klass, binary: true, data: hugeLength(rng) };
    case 'garbage-batch':
      return { klass, binary: true, data: encodeFrame(Array.from({ length: 1 + rng.int(30) }, () => rng.pick(WEIRD))) };
  }
}
