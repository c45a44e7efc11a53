import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NO_CRC, ReplayWindow, SMALL_WRITE } from '../daemon/traces/replay-window.ts';
import { ABSENT, COL_OTHER, COL_READ, COL_WRITE, TraceColumns } from '../daemon/traces/trace-columns.ts';
import { checkProperty } from './property.ts';

/**
 * ReplayWindow.gatherWrites / gatherReads take a run of column ops into a
 * window by the rule the replay's general loop applies op by op: same kind,
 * same connection, fewer than maxN bursts, at most maxBytes bytes, due
 * within paceMs of the window's first op. Checked against that rule written
 * out op by op.
 */

interface Op {
  readonly kind: number;
  readonly t: number;
  readonly conn: number;
  readonly len: number;
  readonly crc: number;
}

/** Columns over a source buffer in which write i's bytes are (i * 7 + k) & 0xff, after a few bytes of other data. */
function columns(ops: readonly Op[]): TraceColumns {
  const total = ops.reduce((s, o) => s + o.len, 0) + 5;
  const src = Buffer.alloc(total, 0xee);
  const c = new TraceColumns(src, 4);
  let at = 5;
  ops.forEach((o, i) => {
    if (o.kind === COL_OTHER) {
      c.pushOther({ type: 'op', op: 'fence', t: o.t });
      return;
    }
    if (o.kind === COL_WRITE) for (let k = 0; k < o.len; k++) src[at + k] = (i * 7 + k) & 0xff;
    c.push(o.kind, o.t, o.conn, 0x1000 + i * 64, o.len, o.kind === COL_READ ? o.crc : ABSENT, o.kind === COL_WRITE ? at : 0);
    if (o.kind === COL_WRITE) at += o.len;
  });
  return c;
}

/** The rule, op by op (replay.ts fillWindow's `fits`): where a window that starts at `from` ends. */
function expectedEnd(ops: readonly Op[], from: number, w: { kind: number; conn: number; n: number; bytes: number }, maxN: number, maxBytes: number, speed: number, offsetNs: number, firstDueMs: number, paceMs: number): number {
  let n = w.n;
  let bytes = w.bytes;
  let i = from;
  for (; i < ops.length; i++) {
    const o = ops[i];
    const conn = o.conn === ABSENT ? 0 : o.conn;
    const dueMs = speed === 0 ? 0 : (offsetNs + o.t) / 1e6 / speed;
    const fits = o.kind === w.kind && conn === w.conn && n < maxN && bytes + o.len <= maxBytes && dueMs - firstDueMs < paceMs;
    if (!fits) break;
    n++;
    bytes += o.len;
  }
  return i;
}

const opArb = fc.record({
  kind: fc.constantFrom(COL_WRITE, COL_WRITE, COL_WRITE, COL_READ, COL_READ, COL_READ, COL_OTHER),
  // Whole quarter-milliseconds too: due times then differ by exactly the pacing step, the edge of the rule.
  t: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 5_000_000 }), weight: 1 }, { arbitrary: fc.integer({ min: 0, max: 8 }).map((q) => q * 250_000), weight: 3 }),
  conn: fc.constantFrom(ABSENT, ABSENT, 0, 1),
  len: fc.oneof(fc.constant(64), fc.integer({ min: 1, max: SMALL_WRITE + 200 })),
  crc: fc.oneof(fc.constant(ABSENT), fc.integer({ min: 0, max: 0xffffffff })),
});

describe('ReplayWindow.gatherWrites / gatherReads', () => {
  it('take exactly the ops the op-by-op rule takes, with their addresses, lengths, times, bytes and CRCs', () => {
    checkProperty(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.nat(),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom(0, 0.5, 1, 8),
        fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1_000_000 }), weight: 1 }, { arbitrary: fc.integer({ min: 0, max: 3 }).map((k) => k * 1_000_000), weight: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.option(fc.nat(), { nil: undefined }),
        (ops, fromSeed, maxN, someBytes, speed, offsetNs, held, cutSeed) => {
          const from = fromSeed % ops.length;
          const first = ops[from];
          if (first.kind === COL_OTHER) return;
          // Half the cases put the byte limit exactly at the end of an op, the edge where a run must still take it.
          let maxBytes = someBytes;
          if (cutSeed !== undefined) {
            const cut = from + (cutSeed % (ops.length - from));
            maxBytes = held + ops.slice(from, cut + 1).reduce((s, o) => s + o.len, 0);
          }
          const c = columns(ops);
          // A window that already holds `held` bursts (the general loop placed the first ones): small data buffer, to make it grow.
          const w = new ReplayWindow(64, 16);
          w.conn = first.conn === ABSENT ? 0 : first.conn;
          w.kind = first.kind === COL_WRITE ? 'write' : 'read';
          for (let k = 0; k < held; k++) {
            w.addrs[k] = 1;
            w.lens[k] = 1;
            w.ensureData(1);
            w.data[w.bytes] = 0xaa;
            w.crcs[k] = 7;
            w.n++;
            w.bytes++;
          }
          const firstDueMs = speed === 0 ? 0 : (offsetNs + first.t) / 1e6 / speed;
          const args = [maxN, maxBytes, speed, offsetNs, firstDueMs, 1] as const;
          const end = first.kind === COL_WRITE ? w.gatherWrites(c, from, ...args) : w.gatherReads(c, from, ...args);
          const want = expectedEnd(ops, from, { kind: first.kind, conn: w.conn, n: held, bytes: held }, ...args);
          assert.equal(end, want, 'where the run ends');
          assert.equal(w.n, held + (want - from));
          let bytes = held;
          let top = 0;
          for (let i = from; i < want; i++) {
            const k = held + (i - from);
            const o = ops[i];
            assert.equal(w.addrs[k], 0x1000 + i * 64);
            assert.equal(w.lens[k], o.len);
            assert.equal(w.ts[k], o.t);
            if (o.kind === COL_WRITE) {
              for (let b = 0; b < o.len; b++) assert.equal(w.data[bytes + b], (i * 7 + b) & 0xff, `byte ${b} of op ${i}`);
            } else assert.equal(w.crcs[k], o.crc === ABSENT ? NO_CRC : o.crc);
            bytes += o.len;
            top = Math.max(top, o.t);
          }
          assert.equal(w.bytes, bytes);
          assert.equal(w.lastT, top);
          for (let k = 0; k < held; k++) assert.equal(first.kind === COL_WRITE ? w.data[k] : w.crcs[k], first.kind === COL_WRITE ? 0xaa : 7, 'what the window held stays');
        },
      ),
      { seed: 20261207, numRuns: 400 },
    );
  });
});
