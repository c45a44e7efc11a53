import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import type { BlockPut } from '../daemon/backend/backend.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { RawConnection } from '../daemon/fuzz/raw-connection.ts';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';
import { expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';

const region = (name: string, base: number, size = 4096) => ({ name, base, size, dtype: 'int8' as const, kind: 'other' as const, codec: 'zvc' as const });

describe('limits', () => {
  it('--max-regions per space, --max-memory, --max-outstanding give their codes and the daemon keeps serving', async () => {
    const d = await startTestDaemon({ lanes: 1, maxRegions: 3, maxMemory: 16 * 4097, maxOutstanding: 8 });
    try {
      const c = await ShimpackClient.connect(d.url);
      for (let i = 0; i < 3; i++) await c.region(region(`r${i}`, i * 65536, 65536));
      await expectCode(c.region(region('r3', 1 << 24)), 'E_TOO_MANY_REGIONS');
      // Random bytes stay raw (4096 + 1 mode byte each): 16 blocks fill the budget, the next write is refused.
      for (let i = 0; i < 16; i++) await c.write(i * 4096, testBytes(4096, i + 1, 0));
      await expectCode(c.write(65536, testBytes(4096, 99, 0)), 'E_MEMORY_FULL');
      await c.free('r0');
      await c.write(65536, testBytes(4096, 99, 0)); // room again after free
      // One batch frame of 40 reads: the first 8 run, the rest are refused with E_BUSY.
      const raw = await RawConnection.open(d.url);
      await raw.call({ op: 'hello', id: 0, version: 1 });
      const got = await raw.exchange(encodeFrame(Array.from({ length: 40 }, (_, i) => ({ op: 'read', id: i + 1, addr: 65536, len: 4096 }))), true);
      assert.notEqual(got, 'closed');
      const codes = (got as { ok: boolean; code?: string }[]).map((r) => (r.ok ? 'ok' : r.code));
      assert.ok(codes.filter((x) => x === 'ok').length >= 8, codes.join(' '));
      assert.ok(codes.filter((x) => x === 'E_BUSY').length >= 16, codes.join(' '));
      assert.equal(codes.filter((x) => x !== 'ok' && x !== 'E_BUSY').length, 0);
      raw.close();
      assert.equal((await c.read(65536, 4)).length, 4);
      await c.close();
    } finally {
      await d.close();
    }
  });

  it('--max-outstanding: a request sent the moment an answer arrives is never refused E_BUSY (the slot is free before the answer leaves)', async () => {
    for (const limit of [1, 4]) {
      const d = await startTestDaemon({ lanes: 2, maxOutstanding: limit });
      try {
        const c = await ShimpackClient.connect(d.url);
        await c.region(region('q', 0, 64 * 1024));
        const ws = new WebSocket(d.url, { perMessageDeflate: false });
        await new Promise((r) => ws.once('open', r));
        const total = 1500;
        let sent = 0;
        const codes = new Map<string, number>();
        const finished = new Promise<void>((resolve, reject) => {
          let answered = 0;
          // Next request sent synchronously from the answer's message event: exactly `limit` unanswered.
          const sendNext = (): void => {
            const id = ++sent;
            const addr = (id * 1000) % (60 * 1024);
            ws.send(encodeFrame(id % 2 ? { op: 'write', id, addr, data: testBytes(1000, id) } : { op: 'read', id, addr, len: 1000 }));
          };
          ws.on('message', (buf: Buffer) => {
            const m = decodeFrame(buf) as { id: number; ok: boolean; code?: string } | { id: number; ok: boolean; code?: string }[];
            for (const r of Array.isArray(m) ? m : [m]) {
              if (r.id === 0) {
                for (let i = 0; i < limit; i++) sendNext();
                continue;
              }
              const k = r.ok ? 'ok' : String(r.code);
              codes.set(k, (codes.get(k) ?? 0) + 1);
              if (++answered === total) resolve();
              else if (sent < total) sendNext();
            }
          });
          ws.once('close', () => reject(new Error('closed')));
        });
        ws.send(encodeFrame({ op: 'hello', id: 0, version: 1 }));
        await finished;
        assert.deepEqual([...codes], [['ok', total]], `limit ${limit}`);
        ws.terminate();
        await c.close();
      } finally {
        await d.close();
      }
    }
  });

  it('an idle connection is closed with 4008; a busy one is not', async () => {
    const d = await startTestDaemon({ lanes: 1, idleTimeoutMs: 300 });
    try {
      const idle = await RawConnection.open(d.url);
      const busy = await ShimpackClient.connect(d.url);
      await busy.region(region('b', 0));
      const until = Date.now() + 900;
      while (Date.now() < until) {
        await busy.write(0, testBytes(64, 1));
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(idle.closedWith, 4008);
      assert.equal((await busy.read(0, 4)).length, 4);
      await busy.close();
    } finally {
      await d.close();
    }
  });

  it('time spent waiting for the daemon\'s own answer is not idle time; idleness counts from the answer', async () => {
    // A fence whose write-back the backend holds for 3.7 idle intervals, then
    // a pause of 0.6 interval after its answer: the connection must stay open
    // (idleness counted from the last frame would close it at the 4th
    // interval), and close once it is truly idle for a whole interval. The
    // line buffers' own idle write-back is off, so the fence does the write-back.
    const ms = 1000;
    const backend = new StallingBackend();
    const d = await startTestDaemon({ lanes: 1, idleTimeoutMs: ms, lineBufferIdleMs: 0 }, { backend });
    try {
      const c = await ShimpackClient.connect(d.url);
      const opened = Date.now();
      let closed = false;
      (c as unknown as { ws: WebSocket }).ws.once('close', () => (closed = true));
      await c.region(region('slow', 0));
      backend.stalling = true;
      await c.write(0, testBytes(64, 2)); // acknowledged from the line buffer
      const write = c.fence(); // waits for the write-back the backend holds
      await new Promise((r) => setTimeout(r, opened + 3.7 * ms - Date.now()));
      assert.ok(backend.stalledCalls > 0, 'the write-back is held by the backend');
      assert.equal(closed, false, 'a connection waiting for its answer is not idle');
      backend.stalling = false;
      backend.release();
      await write;
      await new Promise((r) => setTimeout(r, 0.6 * ms));
      assert.equal(closed, false, 'closed less than an idle interval after its answer');
      assert.equal((await c.read(0, 4)).length, 4);
      // Now nothing in flight and nothing sent: closed within a few intervals.
      const deadline = Date.now() + 10 * ms;
      while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(closed, true, 'an idle connection is closed');
    } finally {
      backend.release();
      await d.close();
    }
  });
});

/** The in-memory store, whose puts wait while `stalling` until release(). */
class StallingBackend extends InMemoryBackend {
  stalling = false;
  private stalled: (() => void)[] = [];
  get stalledCalls(): number {
    return this.stalled.length;
  }
  release(): void {
    for (const go of this.stalled.splice(0)) go();
  }
  override putMany(puts: readonly BlockPut[]): Promise<void> {
    if (!this.stalling) return super.putMany(puts);
    const copy = puts.map((p) => ({ ref: p.ref, bytes: p.bytes.slice() }));
    return new Promise((resolve) => this.stalled.push(() => resolve(super.putMany(copy))));
  }
}

describe('access control and address spaces', () => {
  it('a non-loopback bind without a token is refused', async () => {
    await assert.rejects(startTestDaemon({ host: '0.0.0.0' }), /needs a token/);
  });

  it('token file: wrong token refused at hello; spaces isolate regions; a token without "spaces" cannot name one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-tokens-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, '# token space [spaces]\nalice-0123456789abcdef alice\nbob-0123456789abcdefgh bob\nops-0123456789abcdefgh ops spaces\n');
    const d = await startTestDaemon({ host: '0.0.0.0', tokenFile: file });
    const url = d.url.replace(/\/\/[^/]+\//, `//127.0.0.1:${d.port}/`);
    try {
      await expectCode(ShimpackClient.connect(url), 'E_AUTH');
      await expectCode(ShimpackClient.connect(url, { token: 'alice-0123456789abcdeX' }), 'E_AUTH');
      const alice = await ShimpackClient.connect(url, { token: 'alice-0123456789abcdef' });
      const bob = await ShimpackClient.connect(url, { token: 'bob-0123456789abcdefgh' });
      // Same name and addresses in both spaces: no conflict, no sharing.
      await alice.region(region('t', 0));
      await bob.region(region('t', 0));
      await alice.write(0, Uint8Array.of(1, 2, 3));
      assert.deepEqual([...(await bob.read(0, 3))], [0, 0, 0]);
      await bob.free('t');
      assert.deepEqual([...(await alice.read(0, 3))], [1, 2, 3]);
      await expectCode(bob.read(0, 3), 'E_OUT_OF_REGION');
      await expectCode(bob.free('t'), 'E_NO_SUCH_REGION');
      assert.deepEqual((await bob.stats()).regions, []);
      // Metric series of same-named regions in two spaces stay apart.
      const metrics = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      assert.match(metrics, /shimpack_raw_bytes_total\{region="alice\/t",[^}]*op="write"\} 3\b/);
      assert.doesNotMatch(metrics, /region="t"/);
      // bob cannot enter alice's space; ops may name any space.
      await expectCode(bob.request({ op: 'hello', version: 1 }), 'E_ALREADY_HELLO');
      const raw = await RawConnection.open(url);
      const r = await raw.call({ op: 'hello', id: 1, version: 1, token: 'bob-0123456789abcdefgh', space: 'alice' });
      assert.equal(r.code, 'E_AUTH');
      raw.close();
      const ops = await RawConnection.open(url);
      assert.equal((await ops.call({ op: 'hello', id: 1, version: 1, token: 'ops-0123456789abcdefgh', space: 'alice' })).ok, true);
      const seen = await ops.call({ op: 'read', id: 2, addr: 0, len: 3 });
      assert.deepEqual([...(seen.data ?? [])], [1, 2, 3]);
      ops.close();
      await alice.close();
      await bob.close();
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
