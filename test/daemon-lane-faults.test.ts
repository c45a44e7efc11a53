import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { type ShimpackClient, ShimpackError } from '../clients/ts/index.ts';
import type { BlockPut, BlockRef } from '../daemon/backend/backend.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { WorkerLaneExecutor, FAULT_MARKER } from '../daemon/lanes/worker-executor.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { decodeFrame } from '../protocol/wire.ts';
import { connect, expectCode, rng, startTestDaemon, testBytes } from './daemon-harness.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What a region must hold. Bytes of acknowledged writes are known exactly.
 * A write that failed (E_LANE_FAILED) may have been applied in part, so each
 * of its bytes may hold the old or the new value: both are candidates until a
 * read observes one, which fixes it (a block's content does not flip back).
 */
class Shadow {
  readonly known: Uint8Array;
  /** Candidate values of bytes a failed write touched, by offset. */
  readonly maybe = new Map<number, Set<number>>();
  constructor(size: number) {
    this.known = new Uint8Array(size);
  }
  acked(off: number, data: Uint8Array): void {
    this.known.set(data, off);
    for (let i = 0; i < data.length; i++) this.maybe.delete(off + i);
  }
  failed(off: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const m = this.maybe.get(off + i) ?? new Set([this.known[off + i]]);
      m.add(data[i]);
      this.maybe.set(off + i, m);
    }
  }
  check(off: number, got: Uint8Array, what: string): void {
    for (let i = 0; i < got.length; i++) {
      const m = this.maybe.get(off + i);
      if (m) {
        assert.ok(m.has(got[i]), `${what}: byte ${off + i} is ${got[i]}, neither old nor new value of a failed write (${[...m]})`);
        this.maybe.delete(off + i);
        this.known[off + i] = got[i];
      } else if (got[i] !== this.known[off + i]) {
        assert.fail(`${what}: byte ${off + i} is ${got[i]}, the acknowledged value is ${this.known[off + i]} (lost or corrupted write)`);
      }
    }
  }
}

/**
 * Commits and reads take a few milliseconds, as with a real store: a lane
 * then often holds batches that are answered but not yet committed when its
 * worker dies (a replacement worker has no cache of them and could read
 * stale blocks), and a batch is often still being built (its backend read
 * under way) when it happens.
 */
class SlowBackend extends InMemoryBackend {
  override putMany(puts: readonly BlockPut[]): Promise<void> {
    return sleep(3).then(() => super.putMany(puts));
  }
  /** Reads answer late too, so a batch is often still being built when its lane's worker dies. */
  override getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    const got = super.getMany(refs);
    return sleep(2).then(() => got);
  }
}

type Op = { kind: 'write'; off: number; data: Uint8Array; p: Promise<unknown> } | { kind: 'read'; off: number; len: number; p: Promise<Uint8Array> };

/** Ids the daemon answered on this connection, counted off the socket (the client would ignore a second answer). */
function countAnswers(c: ShimpackClient): Map<number, number> {
  const seen = new Map<number, number>();
  const ws = (c as unknown as { ws: WebSocket }).ws;
  ws.on('message', (data: Buffer) => {
    const m = decodeFrame(data);
    for (const r of (Array.isArray(m) ? m : [m]) as { id?: number }[]) if (typeof r.id === 'number') seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
  });
  return seen;
}

interface ClientLoad {
  ok: number;
  laneFailed: number;
  rounds: number;
}

/**
 * Rounds of `depth` pipelined random writes and reads on one region; after
 * each round the outcomes are replayed in issue order against the shadow
 * (a connection's requests take effect in the order sent).
 */
async function load(c: ShimpackClient, base: number, shadow: Shadow, seed: number, depth: number, stop: () => boolean, progress: { acked: number }): Promise<ClientLoad> {
  const size = shadow.known.length;
  const rand = rng(seed);
  const res: ClientLoad = { ok: 0, laneFailed: 0, rounds: 0 };
  let n = 0;
  while (!stop()) {
    const ops: Op[] = [];
    for (let i = 0; i < depth; i++, n++) {
      const len = 1 + Math.floor(rand() ** 2 * 8000);
      const off = Math.floor(rand() * (size - len));
      if (rand() < 0.6) {
        const data = testBytes(len, seed * 1_000_003 + n, 0.5);
        ops.push({ kind: 'write', off, data, p: c.write(base + off, data) });
      } else ops.push({ kind: 'read', off, len, p: c.read(base + off, len) });
    }
    const settled = await Promise.allSettled(ops.map((o) => o.p));
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i];
      const s = settled[i];
      if (s.status === 'rejected') {
        const code = (s.reason as ShimpackError).code;
        assert.equal(code, 'E_LANE_FAILED', `${o.kind} failed with ${code}: ${(s.reason as Error).message}`);
        res.laneFailed++;
        if (o.kind === 'write') shadow.failed(o.off, o.data);
        continue;
      }
      res.ok++;
      progress.acked++;
      if (o.kind === 'write') shadow.acked(o.off, o.data);
      else shadow.check(o.off, s.value as Uint8Array, `read [${o.off}, ${o.off + o.len}) of round ${res.rounds}`);
    }
    res.rounds++;
  }
  return res;
}

async function scrape(d: RunningDaemon, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [series, v] = line.split(' ');
    out.set(series, Number(v));
  }
  return out;
}

describe('a lane worker dies mid-block', () => {
  let d: RunningDaemon;
  let executor: WorkerLaneExecutor;
  const laneMessages: string[] = [];
  before(async () => {
    executor = new WorkerLaneExecutor(2, { exitOnMarker: true });
    executor.onLaneError = (lane, m) => laneMessages.push(`${lane}: ${m}`);
    // Small batches, several in flight: kills land on lanes holding answered-but-uncommitted batches too.
    d = await startTestDaemon({ lanes: 2, batchBytes: 8192, laneBatchesInFlight: 3, lineBufferBytes: 0 }, { executor, backend: new SlowBackend() });
  });
  after(async () => {
    await d.close();
  });

  it('kills under load: every request answered once (ok or E_LANE_FAILED), acknowledged writes read back exactly', { timeout: 60_000 }, async () => {
    const clients = 4;
    const size = 64 * 1024;
    const cs: ShimpackClient[] = [];
    const answers: Map<number, number>[] = [];
    const shadows: Shadow[] = [];
    const codecs = ['apack', 'zvc', 'ebpc', 'raw'] as const;
    for (let i = 0; i < clients; i++) {
      const c = await connect(d);
      answers.push(countAnswers(c));
      // Regions start on odd blocks too, so both lanes carry each region's blocks.
      await c.region({ name: `fault${i}`, base: i * 1_048_576 + (i % 2) * 4096, size, dtype: 'int8', kind: 'weight', codec: codecs[i] });
      cs.push(c);
      shadows.push(new Shadow(size));
    }
    let stopping = false;
    const kills = 16;
    const progress = { acked: 0 };
    const killer = (async () => {
      for (let k = 0; k < kills; k++) {
        // A replacement takes a moment to start: kill once the
        // lanes work again, at varying points of a batch.
        const seen = progress.acked;
        while (progress.acked < seen + 40) await sleep(5);
        await sleep((k * 7) % 20);
        await executor.killLane(k % 2);
      }
      const seen = progress.acked;
      while (progress.acked < seen + 40) await sleep(5);
      stopping = true;
    })();
    const results = await Promise.all(cs.map((c, i) => load(c, i * 1_048_576 + (i % 2) * 4096, shadows[i], i + 1, 24, () => stopping, progress)));
    await killer;

    const total = results.reduce((a, r) => ({ ok: a.ok + r.ok, laneFailed: a.laneFailed + r.laneFailed }), { ok: 0, laneFailed: 0 });
    assert.ok(total.laneFailed > 0, `no request saw E_LANE_FAILED in ${kills} kills (ok ${total.ok}): the kills did not hit work`);
    assert.ok(total.ok > total.laneFailed, `mostly failures: ${JSON.stringify(total)}`);

    // After the kills: every acknowledged write is there, every byte of a failed write is old or new.
    for (let i = 0; i < clients; i++) {
      const all = await cs[i].read(i * 1_048_576 + (i % 2) * 4096, size);
      shadows[i].check(0, all, `final read of region fault${i}`);
    }
    // Exactly one answer per request id (hello and region included).
    for (let i = 0; i < clients; i++) {
      for (const [id, count] of answers[i]) assert.equal(count, 1, `client ${i} request ${id} answered ${count} times`);
      assert.equal(cs[i].inflight, 0);
    }
    // The lanes are still two, each replaced as often as it was killed.
    assert.equal(d.engine.lanes, 2);
    assert.equal(executor.restarts(0) + executor.restarts(1), kills);
    const restarts = await scrape(d, 'shimpack_lane_restarts_total');
    assert.equal(restarts.get('shimpack_lane_restarts_total{lane="0"}'), executor.restarts(0));
    assert.equal(restarts.get('shimpack_lane_restarts_total{lane="1"}'), executor.restarts(1));
    const errors = await scrape(d, 'shimpack_errors_total');
    assert.equal(errors.get('shimpack_errors_total{code="E_LANE_FAILED"}'), total.laneFailed);
    assert.equal(errors.get('shimpack_errors_total{code="E_INTERNAL"}'), 0);
    // Nothing is left queued: pending bytes and jobs were released for failed batches too.
    await d.engine.scheduler.whenIdle();
    for (let l = 0; l < 2; l++) {
      assert.equal(d.engine.scheduler.depth(l), 0);
      assert.equal(d.engine.scheduler.pendingBytes(l), 0);
    }
    // Accounting of failed jobs: what the regions say they hold is what the backend holds
    // (payload + a 1-byte mode header per block), so no failed block was counted as stored.
    const st = await cs[0].stats();
    assert.ok(st.totals.blocksHeld > 0);
    assert.equal(d.engine.backend.blocksHeld(), st.totals.blocksHeld);
    assert.equal(d.engine.backend.bytesHeld(), st.totals.storedBytes + st.totals.blocksHeld);
    // A new client is served normally.
    const fresh = await connect(d);
    assert.equal(fresh.hello.lanes, 2);
    const data = testBytes(20_000, 99);
    await fresh.write(0, data);
    assert.deepEqual(Buffer.from(await fresh.read(0, data.length)), Buffer.from(data));
    await fresh.close();
    for (const c of cs) await c.close();
  });

  it('a write that kills its worker gets E_LANE_FAILED once; the daemon keeps serving (no retry loop)', async () => {
    const c = await connect(d);
    await c.region({ name: 'poison', base: 64 * 1_048_576, size: 65536, dtype: 'int8', kind: 'weight', codec: 'zvc' });
    const before = executor.restarts(0) + executor.restarts(1);
    const good = testBytes(8192, 7);
    await c.write(64 * 1_048_576, good);
    const poison = new Uint8Array(4096);
    poison.set(new TextEncoder().encode(FAULT_MARKER));
    // Pipelined with ordinary requests behind it on the same connection.
    const p = c.write(64 * 1_048_576 + 16384, poison);
    const after = c.read(64 * 1_048_576, 8192);
    await expectCode(p, 'E_LANE_FAILED');
    // The read behind it sees the earlier acknowledged write (it failed only if it shared the dead batch).
    try {
      assert.deepEqual(Buffer.from(await after), Buffer.from(good));
    } catch (e) {
      assert.equal((e as ShimpackError).code, 'E_LANE_FAILED');
    }
    assert.equal(executor.restarts(0) + executor.restarts(1), before + 1, 'the poison write was not retried');
    await c.write(64 * 1_048_576 + 16384, good.subarray(0, 4096));
    assert.deepEqual(Buffer.from(await c.read(64 * 1_048_576, 8192)), Buffer.from(good));
    await c.close();
  });

  it('a lane whose workers die over and over backs off and answers E_LANE_FAILED meanwhile, then recovers', async () => {
    const c = await connect(d);
    await c.region({ name: 'loop', base: 128 * 1_048_576, size: 65536, dtype: 'int8', kind: 'weight', codec: 'zvc' });
    const base = 128 * 1_048_576;
    const before = executor.restarts(0);
    // Four deaths without one answered batch: the fourth replacement waits (back-off).
    for (let k = 0; k < 4; k++) await executor.killLane(0);
    assert.equal(executor.restarts(0), before + 4);
    // Both lanes' blocks: lane 0 has no worker now.
    await expectCode(c.write(base, testBytes(8192, 3)), 'E_LANE_FAILED');
    assert.ok(laneMessages.some((m) => m.startsWith('0: ') && /restarting in \d+ ms/.test(m)), laneMessages.join('\n'));
    await sleep(400);
    const data = testBytes(8192, 4);
    await c.write(base, data);
    assert.deepEqual(Buffer.from(await c.read(base, 8192)), Buffer.from(data));
    await c.close();
  });
});

describe('a lane worker hangs', () => {
  it('is stopped after --lane-timeout-ms and replaced: its request gets E_LANE_FAILED, the daemon keeps serving', { timeout: 30_000 }, async () => {
    const executor = new WorkerLaneExecutor(2, { hangOnMarker: true, batchTimeoutMs: 300 });
    const messages: string[] = [];
    executor.onLaneError = (lane, m) => messages.push(`${lane}: ${m}`);
    const d = await startTestDaemon({ lanes: 2, lineBufferBytes: 0 }, { executor });
    try {
      const c = await connect(d);
      const base = 1 << 20;
      await c.region({ name: 'h', base, size: 65536, dtype: 'int8', kind: 'weight', codec: 'zvc' });
      const good = testBytes(8192, 5);
      await c.write(base, good);
      const poison = new Uint8Array(4096);
      poison.set(new TextEncoder().encode(FAULT_MARKER));
      const t0 = performance.now();
      await expectCode(c.write(base + 16384, poison), 'E_LANE_FAILED');
      const waited = performance.now() - t0;
      assert.ok(waited >= 250, `answered after ${waited.toFixed(0)} ms, before the watchdog could stop the worker`);
      assert.ok(messages.some((m) => /hung: no answer to a batch for \d+ ms/.test(m)), messages.join('\n'));
      assert.equal(executor.restarts(0) + executor.restarts(1), 1);
      // The replacement serves the lane, and what was acknowledged before is intact.
      assert.deepEqual(Buffer.from(await c.read(base, 8192)), Buffer.from(good));
      await c.write(base + 16384, good.subarray(0, 4096));
      assert.deepEqual(Buffer.from(await c.read(base + 16384, 4096)), Buffer.from(good.subarray(0, 4096)));
      await c.close();
    } finally {
      await d.close();
    }
  });
});
