import assert from 'node:assert/strict';
import { queryObjects } from 'node:v8';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { Session } from '../daemon/server/session.ts';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';
import { heapMiB } from './heap.ts';

/** Live objects of a class after a full collection (daemon and client share this process). */
function live(ctor: abstract new (...args: never[]) => unknown): number {
  return queryObjects(ctor as never, { format: 'count' }) as number;
}

async function gauge(d: RunningDaemon, name: string): Promise<number> {
  const text = await d.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

/** Wait for a condition; the deadline only turns a hang into a message, it is no timing check. */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const BLOCK = 4096;
const REGION_BYTES = 64 * BLOCK;
const WRITE = testBytes(4 * BLOCK, 7);

/**
 * One vanishing client: hello, then frames of pipelined writes and reads
 * (more than --conn-inflight, so its socket gets paused with frames held),
 * then the TCP connection is destroyed without a close handshake, at a
 * moment that depends on `how`.
 */
async function vanish(url: string, cycle: number, how: 'at-once' | 'after-first-answer' | 'mid-answers'): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => undefined);
  await new Promise((r) => ws.once('open', r));
  let answers = 0;
  const firstAnswer = new Promise<void>((resolve) =>
    ws.on('message', (b: Buffer) => {
      const m = decodeFrame(b);
      answers += Array.isArray(m) ? m.length : 1;
      if (answers >= 2) resolve();
    }),
  );
  ws.send(encodeFrame({ op: 'hello', id: 0, version: 1 }));
  let id = 1;
  for (let f = 0; f < 4; f++) {
    const batch = [];
    for (let i = 0; i < 12; i++) {
      const addr = ((cycle * 7 + f * 12 + i) % 60) * BLOCK;
      batch.push(i % 3 === 2 ? { op: 'read', id: id++, addr, len: 4 * BLOCK } : { op: 'write', id: id++, addr, data: WRITE });
    }
    ws.send(encodeFrame(batch));
  }
  if (how === 'after-first-answer') await firstAnswer;
  if (how === 'mid-answers') await new Promise((r) => setTimeout(r, 2));
  ws.terminate();
}

describe('a client that vanishes mid-burst', () => {
  it('200 connect / pipelined burst / socket destroyed cycles: in-flight work ends, gauges and lanes return to zero, memory stays bounded', async () => {
    // Small per-connection bounds, so vanishing sessions are caught paused with frames held.
    const d = await startTestDaemon({ lanes: 2, connInflightRequests: 8, connInflightBytes: 64 * 1024 });
    try {
      const ctl = await connect(d);
      await ctl.region({ name: 'v', base: 0, size: REGION_BYTES, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      const kinds = ['at-once', 'after-first-answer', 'mid-answers'] as const;
      const settle = async (): Promise<void> => {
        await until('connections back to 1 (the control client)', async () => (await gauge(d, 'shimpack_connections')) === 1);
        await until('no request in flight', async () => (await gauge(d, 'shimpack_inflight_requests')) === 0);
        await until('lanes empty', () => d.engine.scheduler.depth(0) === 0 && d.engine.scheduler.depth(1) === 0);
        await until('nothing unsent', async () => (await gauge(d, 'shimpack_send_buffer_bytes')) === 0);
      };
      for (let i = 0; i < 30; i++) await vanish(d.url, i, kinds[i % 3]); // warm-up: code paths, pools
      await settle();
      const before = heapMiB();
      const cycles = 200;
      for (let i = 0; i < cycles; i++) {
        await vanish(d.url, i, kinds[i % 3]);
        // A few at once now and then: several half-served sessions vanish together.
        if (i % 20 === 0) await Promise.all([1, 2, 3].map((k) => vanish(d.url, i + k, kinds[k % 3])));
      }
      await settle();
      // Nothing of a vanished client is reachable: one session and one socket pair (the control client) remain.
      assert.equal(live(Session), 1, 'live Session objects');
      assert.equal(live(WebSocket), 2, 'live WebSocket objects (client and server side of the control connection)');
      const grown = heapMiB() - before;
      assert.ok(grown < 6, `heap grew by ${grown.toFixed(1)} MiB over ${cycles} cycles`);
      assert.equal(await gauge(d, 'shimpack_connections'), 1);
      assert.ok((await gauge(d, 'shimpack_connections_total')) >= 1 + 30 + cycles + 30);
      // The admitted writes still completed (a vanished client's answers are dropped, not its work):
      // the daemon is consistent and serves the next client normally.
      const st = (await ctl.stats('v')).regions[0];
      assert.ok(st.writes > 0);
      await ctl.write(0, WRITE);
      assert.ok(Buffer.from(await ctl.read(0, WRITE.length)).equals(Buffer.from(WRITE)));
      await ctl.close();
    } finally {
      await d.close();
    }
  });
});
