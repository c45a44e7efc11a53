import type { Rng } from './rng.ts';

/** The ways a stream gets damaged; each fuzz case applies one to three of them. */
export const MUTATIONS = ['bitflip', 'byte', 'cut', 'extend', 'splice', 'garbage', 'varint', 'zero-run', 'dup'] as const;
export type Mutation = (typeof MUTATIONS)[number];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * One mutation of `src` (never modified): bit flips, byte changes, cuts,
 * growth, a splice with `other`, pure garbage, absurd LEB128 varints (runs of
 * continuation bytes), zeroed runs, duplicated ranges.
 */
export function mutateOnce(rng: Rng, src: Uint8Array, other: Uint8Array, m: Mutation): Uint8Array {
  const n = src.length;
  switch (m) {
    case 'bitflip': {
      const out = src.slice();
      if (n === 0) return rng.bytes(1);
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) out[rng.int(n)] ^= 1 << rng.int(8);
      return out;
    }
    case 'byte': {
      const out = src.slice();
      if (n === 0) return rng.bytes(1);
      const k = 1 + rng.int(3);
      for (let i = 0; i < k; i++) out[rng.int(n)] = rng.pick([0, 0xff, 0x7f, 0x80, rng.u32() & 0xff]);
      return out;
    }
    case 'cut':
      return rng.chance(0.5) ? src.slice(0, rng.int(n + 1)) : src.slice(rng.int(n + 1));
    case 'extend':
      return concat(src, rng.chance(0.5) ? rng.bytes(1 + rng.int(64)) : new Uint8Array(1 + rng.int(64)));
    case 'splice': {
      const a = rng.int(n + 1);
      const b = rng.int(other.length + 1);
      return concat(src.subarray(0, a), other.subarray(b));
    }
    case 'garbage':
      return rng.bytes(rng.int(2 * n + 16));
    case 'varint': {
      // A LEB128 that never ends, or one encoding a huge number, inserted anywhere.
      const at = rng.int(n + 1);
      const run = new Uint8Array(1 + rng.int(12)).fill(rng.chance(0.5) ? 0xff : 0x80);
      if (rng.chance(0.5)) run[run.length - 1] = 0x7f;
      return rng.chance(0.5) ? concat(src.subarray(0, at), run, src.subarray(at)) : concat(src.subarray(0, at), run, src.subarray(Math.min(n, at + run.length)));
    }
    case 'zero-run': {
      const out = src.slice();
      const a = rng.int(n + 1);
      out.fill(rng.chance(0.5) ? 0 : 0xff, a, Math.min(n, a + 1 + rng.int(32)));
      return out;
    }
    case 'dup': {
      const a = rng.int(n + 1);
      const b = Math.min(n, a + 1 + rng.int(32));
      return concat(src.subarray(0, b), src.subarray(a, b), src.subarray(b));
    }
  }
}

/** One to three stacked mutations; returns the bytes and their names (for reports). */
export function mutate(rng: Rng, src: Uint8Array, other: Uint8Array): { bytes: Uint8Array; how: Mutation[] } {
  const k = 1 + rng.int(3);
  let bytes = src;
  const how: Mutation[] = [];
  for (let i = 0; i < k; i++) {
    const m = rng.pick(MUTATIONS);
    how.push(m);
    bytes = mutateOnce(rng, bytes, other, m);
  }
  return { bytes, how };
}
