import { OPS, WIRE_DTYPES, type ErrorCode } from '../../protocol/types.ts';
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
    case 'readv': {
      // A few bursts near addr (the vector fuzzing proper is the replay/fuzz helper's part of issue 14).
      const n = 1 + rng.int(8);
      const addrs = Array.from({ length: n }, () => addr + rng.int(4096));
      const lens = Array.from({ length: n }, () => rng.int(129));
      const total = lens.reduce((a, b) => a + b, 0);
      return rng.chance(0.5) ? { op: 'writev', id, addrs, lens, data: rng.bytes(total) } : { op: 'readv', id, addrs, lens };
    }
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

function deepNest(depth: number, map: boolean): Uint8Array {
  // fixarray(1) or fixmap(1) with key "a", repeated, ending in nil.
  const unit = map ? [0x81, 0xa1, 0x61] : [0x91];
  const out = new Uint8Array(depth * unit.length + 1);
  for (let i = 0; i < depth; i++) out.set(unit, i * unit.length);
  out[out.length - 1] = 0xc0;
  return out;
}

/** Headers announcing far more than the frame holds (bin32, str32, array32, map32, ext32). */
function hugeLength(rng: Rng): Uint8Array {
  const tag = rng.pick([0xc6, 0xdb, 0xdd, 0xdf, 0xc9, 0xc5, 0xda, 0xdc, 0xde]);
  const wide = tag === 0xc6 || tag === 0xdb || tag === 0xdd || tag === 0xdf || tag === 0xc9;
  const head = wide ? [tag, 0xff, 0xff, 0xff, rng.int(256)] : [tag, 0xff, rng.int(256)];
  return Uint8Array.from([...head, ...rng.bytes(rng.int(40))]);
}

export const FRAME_CLASSES = ['plausible', 'batch', 'field-mutant', 'unknown-op', 'no-id', 'byte-mutant', 'garbage', 'text', 'deep', 'huge-length', 'garbage-batch'] as const;

export function fuzzFrame(rng: Rng, conn: number, nextId: () => number): FuzzFrame {
  const klass = rng.pick(FRAME_CLASSES);
  switch (klass) {
    case 'plausible':
      return { klass, binary: true, data: encodeFrame(plausibleRequest(rng, conn, nextId())) };
    case 'batch':
      return { klass, binary: true, data: encodeFrame(Array.from({ length: rng.int(20) }, () => plausibleRequest(rng, conn, nextId()))) };
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
