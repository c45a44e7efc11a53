import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { daemonMemory, replayTrace, type ReplayOptions } from '../daemon/traces/replay.ts';
import { TraceWriter } from '../daemon/traces/writer.ts';
import { startTestDaemon } from './daemon-harness.ts';

/** Replay sends the bursts of a pacing window as writev / readv (docs/traces.md, "replay"). */

const dir = mkdtempSync(join(tmpdir(), 'replay-vectors-'));
let daemon: RunningDaemon;

before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

const replay = (trace: string, url: string, extra: Partial<ReplayOptions> = {}) =>
  replayTrace({ trace, url, speed: 'max', copies: 1, loop: false, verify: true, window: 1024, ...extra });

/** What the daemon stand-ins below answer hello with. */
const HELLO = { version: 1, server: 'shimpack', lanes: 1, codecs: ['raw'], maxFrameBytes: 16 << 20, blockBytes: 4096, burstBytes: 64 };

/** A daemon stand-in on a free loopback port: `onFrame` gets each frame, decoded, and the socket to answer on. */
async function standIn(onFrame: (msg: Record<string, unknown> | Record<string, unknown>[], ws: WebSocket) => void): Promise<{ readonly url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => ws.on('message', (frame: Buffer) => onFrame(decodeFrame(frame) as Record<string, unknown> | Record<string, unknown>[], ws)));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** Requests the daemon served, per op, from its request-duration histogram (/metrics). */
async function requestsByOp(d: RunningDaemon): Promise<Map<string, number>> {
  const u = new URL(d.url);
  u.protocol = 'http:';
  u.pathname = '/metrics';
  const text = await (await fetch(u)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^shimpack_request_duration_seconds_count\{op="([a-z]+)"\} (\d+)/gm)) out.set(m[1], Number(m[2]));
  return out;
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

/** 600 writes of 64 B, then 600 reads of them with their CRC, in one region. */
async function sequentialTrace(name: string): Promise<{ path: string; ops: number }> {
  const path = join(dir, name);
  const w = new TraceWriter(path, { source: 'test', meta: { readsCarryCrc: true } });
  w.region({ name, base: 0x100000, size: 600 * 64, dtype: 'uint8', kind: 'activation' });
  for (let i = 0; i < 600; i++) w.op({ op: 'write', t: i, addr: 0x100000 + i * 64, len: 64, data: bytes(64, i) });
  for (let i = 0; i < 600; i++) w.op({ op: 'read', t: 600 + i, addr: 0x100000 + i * 64, len: 64, crc: crc32(bytes(64, i)) });
  await w.close();
  return { path, ops: 1200 };
}

describe('replay with burst vectors', () => {
  it('sends each window of writes and of reads as one writev / readv, and verifies every read', async () => {
    const t = await sequentialTrace('seq.trace');
    const before = await requestsByOp(daemon);
    const s = await replay(t.path, daemon.url, { vector: 256 });
    const after = await requestsByOp(daemon);
    const delta = (op: string): number => (after.get(op) ?? 0) - (before.get(op) ?? 0);
    assert.equal(s.errors, 0, s.problems.join('\n'));
    assert.equal(s.mismatches, 0, s.problems.join('\n'));
    assert.equal(s.ops, t.ops);
    assert.equal(s.verifiedReads, 600);
    assert.equal(delta('write'), 0, 'no single writes');
    assert.equal(delta('read'), 0, 'no single reads');
    // 600 bursts in windows of 256: 3 writev; 3 readv plus the probe.
    assert.equal(delta('writev'), 3);
    assert.equal(delta('readv'), 4);
    assert.equal(s.stats?.writes, 600, 'the daemon counted every element as a write');
    // The daemon's memory before and after, from its /metrics.
    assert.ok((s.daemonStart?.rssBytes ?? 0) > 0 && (s.daemonEnd?.heapUsedBytes ?? 0) > 0, JSON.stringify([s.daemonStart, s.daemonEnd]));
  });

  it("daemonMemory: nothing (no error) where no daemon answers, or /metrics does not", async () => {
    const srv = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as AddressInfo).port;
    // A WebSocket server without /metrics (its plain HTTP requests get 426), then nothing on the port.
    assert.equal(await daemonMemory(`ws://127.0.0.1:${port}/`), undefined);
    await new Promise((r) => srv.close(r));
    assert.equal(await daemonMemory(`ws://127.0.0.1:${port}/`), undefined);
  });

  it('--vector 0 sends one request per burst', async () => {
    const t = await sequentialTrace('seq0.trace');
    const before = await requestsByOp(daemon);
    const s = await replay(t.path, daemon.url, { vector: 0 });
    const after = await requestsByOp(daemon);
    assert.equal(s.errors, 0, s.problems.join('\n'));
    assert.equal(s.verifiedReads, 600);
    assert.equal((after.get('write') ?? 0) - (before.get('write') ?? 0), 600);
    assert.equal((after.get('writev') ?? 0) - (before.get('writev') ?? 0), 0);
  });

  it('keeps dependent accesses in trace order: overlapping writes in one vector, reads after rewrites', async () => {
    const path = join(dir, 'hazard.trace');
    const w = new TraceWriter(path, { source: 'test' }); // reads without CRC: checked against the bytes the trace wrote
    w.region({ name: 'hz', base: 0x200000, size: 4096, dtype: 'uint8', kind: 'other' });
    let t = 0;
    for (let round = 0; round < 5; round++) {
      w.op({ op: 'write', t: t++, addr: 0x200000, len: 64, data: bytes(64, round) });
      w.op({ op: 'write', t: t++, addr: 0x200020, len: 64, data: bytes(64, round + 100) }); // overlaps the first: later wins
      w.op({ op: 'read', t: t++, addr: 0x200000, len: 96 });
      w.op({ op: 'read', t: t++, addr: 0x200010, len: 16 });
    }
    await w.close();
    const s = await replay(path, daemon.url, { vector: 256 });
    assert.equal(s.errors, 0, s.problems.join('\n'));
    assert.equal(s.mismatches, 0, s.problems.join('\n'));
    assert.equal(s.verifiedReads, 10);
  });

  it('forgets what the trace wrote in a region it frees: declared again, the region starts empty', async () => {
    const path = join(dir, 'redeclare.trace');
    const w = new TraceWriter(path, { source: 'test' }); // reads without CRC: checked against the bytes the trace wrote
    const region = { name: 'rd', base: 0x300000, size: 4096, dtype: 'uint8', kind: 'other', codec: 'raw' } as const;
    w.region(region);
    w.op({ op: 'write', t: 1, addr: 0x300000, len: 128, data: bytes(128, 7) });
    w.op({ op: 'read', t: 2, addr: 0x300000, len: 128 });
    w.op({ op: 'free', t: 3, name: 'rd' });
    w.region(region);
    w.op({ op: 'write', t: 4, addr: 0x300040, len: 64, data: bytes(64, 8) });
    // [0, 64) held the first write's bytes before the free; now the daemon reads it as zeros.
    w.op({ op: 'read', t: 5, addr: 0x300000, len: 128 });
    await w.close();
    const s = await replay(path, daemon.url, { vector: 256 });
    assert.equal(s.errors, 0, s.problems.join('\n'));
    assert.equal(s.mismatches, 0, s.problems.join('\n'));
    assert.equal(s.verifiedReads, 2);
  });

  it('counts a read without crc as an error when the header promised a CRC with every read (it cannot be checked)', async () => {
    const path = join(dir, 'promise.trace');
    const w = new TraceWriter(path, { source: 'test', meta: { readsCarryCrc: true } });
    w.region({ name: 'pr', base: 0x400000, size: 4096, dtype: 'uint8', kind: 'other', codec: 'raw' });
    w.op({ op: 'write', t: 1, addr: 0x400000, len: 64, data: bytes(64, 3) });
    w.op({ op: 'read', t: 2, addr: 0x400000, len: 64, crc: crc32(bytes(64, 3)) });
    w.op({ op: 'read', t: 3, addr: 0x400000, len: 64 });
    await w.close();
    const s = await replay(path, daemon.url, { vector: 256 });
    assert.equal(s.verifiedReads, 1);
    assert.equal(s.mismatches, 0);
    assert.equal(s.errors, 1);
    assert.match(s.problems.join('\n'), /no crc, though the trace's header says readsCarryCrc: not verified/);
  });

  it('reports a failing element exactly as a failing single access', async () => {
    const path = join(dir, 'bad.trace');
    const w = new TraceWriter(path, { source: 'test' });
    w.region({ name: 'bad', base: 0x10000, size: 4096, dtype: 'uint8', kind: 'activation' });
    const data = Uint8Array.from({ length: 64 }, (_, i) => i);
    w.op({ op: 'write', t: 0, addr: 0x10000, len: 64, data });
    w.op({ op: 'write', t: 1, addr: 0x30000, len: 8, data: new Uint8Array(8) }); // outside every region
    w.op({ op: 'write', t: 2, addr: 0x10040, len: 8, data: new Uint8Array(8).fill(9) });
    w.op({ op: 'read', t: 3, addr: 0x10000, len: 64, crc: crc32(data) });
    w.op({ op: 'read', t: 4, addr: 0x20000, len: 8 }); // outside every region
    w.op({ op: 'read', t: 5, addr: 0x10000, len: 64, crc: crc32(data) ^ 1 });
    w.op({ op: 'read', t: 6, addr: 0x10040, len: 8 }); // checked against the write
    await w.close();
    const vec = await replay(path, daemon.url, { vector: 256 });
    const one = await replay(path, daemon.url, { vector: 0 });
    assert.equal(vec.errors, 2, vec.problems.join('\n'));
    assert.equal(vec.mismatches, 1, vec.problems.join('\n'));
    assert.equal(vec.verifiedReads, 3);
    // The same lines (singles may finish in another order: a refusal is answered before the commits of its window).
    assert.deepEqual([...vec.problems].sort(), [...one.problems].sort());
    assert.equal(vec.errors, one.errors);
    assert.equal(vec.mismatches, one.mismatches);
    assert.match(vec.problems.join('\n'), /write 0x30000\+8 \(t 1\): E_OUT_OF_REGION/);
    assert.match(vec.problems.join('\n'), /read 0x20000\+8 \(t 4\): E_OUT_OF_REGION/);
    assert.match(vec.problems.join('\n'), /read 0x10000\+64 \(t 5\): CRC-32/);
  });

  it('refuses a vector size out of range', async () => {
    const t = await sequentialTrace('range.trace');
    await assert.rejects(replay(t.path, daemon.url, { vector: -1 }), /E_REPLAY|vector size/);
    await assert.rejects(replay(t.path, daemon.url, { vector: 70_000 }), /vector size/);
  });

  it('falls back to single requests against a daemon that does not know writev / readv, within --window', async () => {
    // A stand-in for an older daemon: hello, region, write, read, stats, flush, free over a flat memory;
    // any other op (writev, readv) is refused with E_UNKNOWN_OP, as the daemon's validator does.
    const mem = new Uint8Array(1 << 22);
    const seen = new Map<string, number>();
    let outstanding = 0;
    let maxOutstanding = 0;
    const stand = await standIn((msg, ws) => {
      const answer = (q: Record<string, unknown>): Record<string, unknown> => {
        const op = q.op as string;
        seen.set(op, (seen.get(op) ?? 0) + 1);
        const id = q.id;
        switch (op) {
          case 'hello':
            return { id, ok: true, ...HELLO };
          case 'region':
            return { id, ok: true, calibration: 'none', blockBytes: 4096 };
          case 'write':
            mem.set(q.data as Uint8Array, q.addr as number);
            return { id, ok: true };
          case 'read':
            return { id, ok: true, data: mem.slice(q.addr as number, (q.addr as number) + (q.len as number)) };
          case 'stats':
            return { id, ok: true, regions: [], totals: { regions: 0 } };
          case 'flush':
          case 'free':
          case 'fence':
            return { id, ok: true };
          default:
            return { id, ok: false, code: 'E_UNKNOWN_OP', message: `unknown op "${op}"` };
        }
      };
      // Answered a little later, so the replay has many requests out at once: the most ever unanswered is kept.
      const n = Array.isArray(msg) ? msg.length : 1;
      outstanding += n;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      const out = encodeFrame(Array.isArray(msg) ? msg.map(answer) : answer(msg));
      setTimeout(() => {
        outstanding -= n;
        ws.send(out);
      }, 3);
    });
    try {
      const t = await sequentialTrace('old.trace');
      const s = await replay(t.path, stand.url, { vector: 256, window: 64 });
      assert.equal(s.errors, 0, s.problems.join('\n'));
      assert.equal(s.mismatches, 0, s.problems.join('\n'));
      assert.equal(s.verifiedReads, 600);
      assert.equal(seen.get('write'), 600);
      assert.equal(seen.get('read'), 600);
      assert.equal(seen.get('readv'), 1, 'only the probe');
      assert.equal(seen.get('writev'), undefined);
      // --window bounds the bursts in flight (the probe and the region go before any burst).
      assert.ok(maxOutstanding <= 64, `at most ${maxOutstanding} requests unanswered, window 64`);
    } finally {
      await stand.close();
    }
  });

  it('a readv answer shorter than its reads: the reads past its end are reported as short, the others verified', async () => {
    // A stand-in daemon over a flat memory whose readv answers leave off the last 10 bytes.
    const mem = new Uint8Array(1 << 20);
    const stand = await standIn((msg, ws) => {
      const answer = (q: Record<string, unknown>): Record<string, unknown> => {
        const id = q.id;
        switch (q.op) {
          case 'hello':
            return { id, ok: true, ...HELLO };
          case 'region':
            return { id, ok: true, calibration: 'none', blockBytes: 4096 };
          case 'writev': {
            const data = q.data as Uint8Array;
            let at = 0;
            (q.addrs as number[]).forEach((a, i) => {
              const len = (q.lens as number[])[i];
              mem.set(data.subarray(at, at + len), a);
              at += len;
            });
            return { id, ok: true, failed: [] };
          }
          case 'readv': {
            const parts = (q.addrs as number[]).map((a, i) => mem.subarray(a, a + (q.lens as number[])[i]));
            const all = Buffer.concat(parts);
            return { id, ok: true, data: all.subarray(0, Math.max(0, all.length - 10)), failed: [] };
          }
          case 'stats':
            return { id, ok: true, regions: [], totals: { regions: 0 } };
          default:
            return { id, ok: true };
        }
      };
      ws.send(encodeFrame(Array.isArray(msg) ? msg.map(answer) : answer(msg)));
    });
    try {
      const path = join(dir, 'short.trace');
      const w = new TraceWriter(path, { source: 'test' });
      w.region({ name: 'short', base: 0, size: 4096, dtype: 'uint8', kind: 'activation' });
      const data = Array.from({ length: 4 }, (_, k) => Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + k) & 0xff));
      data.forEach((d, k) => w.op({ op: 'write', t: k, addr: k * 64, len: 64, data: d }));
      data.forEach((d, k) => w.op({ op: 'read', t: 4 + k, addr: k * 64, len: 64, crc: crc32(d) }));
      await w.close();
      const s = await replay(path, stand.url, { vector: 256 });
      assert.equal(s.verifiedReads, 3, s.problems.join('\n'));
      assert.equal(s.mismatches, 1, s.problems.join('\n'));
      assert.match(s.problems.join('\n'), /read 0xc0\+64 \(t 7\): got 54 bytes/);
    } finally {
      await stand.close();
    }
  });

  it('declares a run of regions in one round trip, and sends no op before every one of them is answered', async () => {
    // A daemon stand-in that answers regions 20 ms late and logs what it receives and when it answers.
    const log: string[] = [];
    let refuse = '';
    const stand = await standIn((msg, ws) => {
      for (const q of Array.isArray(msg) ? msg : [msg]) {
        const op = q.op as string;
        log.push(`got ${op}${op === 'region' ? ` ${String(q.name)}` : ''}`);
        const id = q.id;
        const ok = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, ok: true, ...extra });
        let a: Record<string, unknown>;
        if (op === 'hello') a = ok(HELLO);
        else if (op === 'region' && q.name === refuse) a = { id, ok: false, code: 'E_REGION_EXISTS', message: `region "${refuse}" exists` };
        else if (op === 'region') a = ok({ calibration: 'none', blockBytes: 4096 });
        else if (op === 'readv') a = ok({ data: new Uint8Array((q.lens as number[]).reduce((x, y) => x + y, 0)), failed: [] });
        else if (op === 'writev') a = ok({ failed: [] });
        else if (op === 'stats') a = ok({ regions: [], totals: { regions: 0 } });
        else a = ok();
        const send = (): void => {
          if (op === 'region') log.push(`answered region ${String(q.name)}`);
          ws.send(encodeFrame(a));
        };
        if (op === 'region') setTimeout(send, 20);
        else send();
      }
    });
    const path = join(dir, 'regions.trace');
    const w = new TraceWriter(path, { source: 'test' });
    for (let r = 0; r < 5; r++) w.region({ name: `r${r}`, base: r * 0x10000, size: 4096, dtype: 'uint8', kind: 'activation' });
    for (let r = 0; r < 5; r++) w.op({ op: 'write', t: r, addr: r * 0x10000, len: 64, data: bytes(64, r) });
    await w.close();
    try {
      const s = await replay(path, stand.url, { keepRegions: true });
      assert.equal(s.errors, 0, s.problems.join('\n'));
      assert.equal(s.writes, 5);
      const firstAnswer = log.findIndex((e) => e.startsWith('answered region'));
      const firstOp = log.findIndex((e) => e === 'got writev');
      assert.equal(log.slice(0, firstAnswer).filter((e) => e.startsWith('got region')).length, 5, `all 5 regions sent before the first answer: ${log.join(', ')}`);
      assert.equal(log.slice(0, firstOp).filter((e) => e.startsWith('answered region')).length, 5, `no op before every region is answered: ${log.join(', ')}`);
      // A region refused among them stops the replay before any op.
      log.length = 0;
      refuse = 'r2';
      await assert.rejects(replay(path, stand.url, { keepRegions: true }), (e: Error & { code?: string }) => e.code === 'E_REPLAY' && /refused region r2.*E_REGION_EXISTS/.test(e.message));
      assert.ok(!log.includes('got writev'), log.join(', '));
    } finally {
      await stand.close();
    }
  });
});
