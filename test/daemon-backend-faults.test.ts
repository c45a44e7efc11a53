import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockPut, BlockRef, MemoryBackend } from '../daemon/backend/backend.ts';
import { BackendError, GuardedBackend } from '../daemon/backend/guarded.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';

/**
 * A backend that fails on command, per region: 'throw' (synchronously, not
 * even a rejected promise) or 'stall' (the call never answers until
 * released; a released put then takes effect, late).
 */
class FaultyBackend extends InMemoryBackend {
  readonly putFaults = new Map<number, 'throw' | 'stall'>();
  readonly getFaults = new Map<number, 'throw' | 'stall'>();
  deleteFault: 'throw' | undefined;
  private stalled: (() => void)[] = [];

  get stalledCalls(): number {
    return this.stalled.length;
  }

  /** Let every stalled call finish (a put then stores its blocks). */
  release(): void {
    for (const go of this.stalled.splice(0)) go();
  }

  override putMany(puts: readonly BlockPut[]): Promise<void> {
    const fault = puts.map((p) => this.putFaults.get(p.ref.region)).find((f) => f !== undefined);
    if (fault === 'throw') throw new Error('disk on fire');
    if (fault === 'stall') {
      const copy = puts.map((p) => ({ ref: p.ref, bytes: p.bytes.slice() }));
      return new Promise((resolve) => this.stalled.push(() => resolve(super.putMany(copy))));
    }
    return super.putMany(puts);
  }

  override getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    const fault = refs.map((r) => this.getFaults.get(r.region)).find((f) => f !== undefined);
    if (fault === 'throw') throw new Error('read head crashed');
    if (fault === 'stall') return new Promise((resolve) => this.stalled.push(() => resolve(super.getMany(refs))));
    return super.getMany(refs);
  }

  override deleteRegion(region: number): Promise<void> {
    if (this.deleteFault === 'throw') return Promise.reject(new Error('cannot delete'));
    return super.deleteRegion(region);
  }
}

/** One sample of a Prometheus text exposition (0 when absent). */
async function sample(d: RunningDaemon, name: string, labels: string): Promise<number> {
  const text = await d.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Region ids the daemon gave the regions (the backend sees ids, not names). */
function regionId(d: RunningDaemon, name: string): number {
  const r = d.engine.regions.named(name);
  assert.ok(r, name);
  return r.id;
}

const BLOCK = 4096;

/** Bytes read back equal the expected ones (a Buffer from the client, a Uint8Array here). */
function sameBytes(got: Uint8Array, want: Uint8Array, what?: string): void {
  assert.ok(Buffer.from(got).equals(Buffer.from(want)), what ?? 'bytes differ');
}

// These run with --line-buffer-bytes 0: every write reaches the backend before its ack, so a fault is the
// write's own. Faults of buffered write-backs: test/line-buffer-faults.test.ts.
describe('backend faults: the failing request gets E_BACKEND, the daemon keeps serving', () => {
  it('a throwing backend: writes, reads and free answer E_BACKEND, other regions are served, errors are counted by code', async () => {
    const backend = new FaultyBackend();
    const d = await startTestDaemon({ backendTimeoutMs: 2000, lineBufferBytes: 0 }, { backend });
    try {
      const c = await connect(d);
      await c.region({ name: 'x', base: 0, size: 2 * BLOCK, dtype: 'int8', kind: 'other', codec: 'zvc' });
      await c.region({ name: 'y', base: 1 << 20, size: 2 * BLOCK, dtype: 'int8', kind: 'other', codec: 'zvc' });
      const x0 = testBytes(2 * BLOCK, 1);
      const y0 = testBytes(2 * BLOCK, 2);
      await c.write(0, x0);
      await c.write(1 << 20, y0);
      const x = regionId(d, 'x');
      let answered = 0;

      const held = (await c.stats('x')).regions[0];
      backend.putFaults.set(x, 'throw');
      await expectCode(c.write(0, testBytes(BLOCK, 3)), 'E_BACKEND');
      answered++;
      // Not counted as committed: what the region holds is what the acknowledged write left.
      const st = (await c.stats('x')).regions[0];
      for (const k of ['blocksHeld', 'storedBytes', 'rawBytesStored', 'burstsStored'] as const) assert.equal(st[k], held[k], k);
      // Another region, same daemon, meanwhile: served.
      await c.write((1 << 20) + BLOCK, y0.subarray(BLOCK));
      sameBytes(await c.read(1 << 20, 2 * BLOCK), y0);
      backend.putFaults.delete(x);

      backend.getFaults.set(x, 'throw');
      await expectCode(c.read(0, 16), 'E_BACKEND');
      answered++;
      backend.getFaults.delete(x);
      // The failed write never reached the backend: the acknowledged bytes are intact.
      sameBytes(await c.read(0, 2 * BLOCK), x0);

      // free: the region leaves the address space at once; its blocks are deleted once the backend takes it.
      backend.deleteFault = 'throw';
      await expectCode(c.free('y'), 'E_BACKEND');
      answered++;
      assert.equal(d.engine.regions.named('y'), undefined);
      const guard = d.engine.backend as GuardedBackend;
      assert.equal(guard.pendingDeletes, 1);
      backend.deleteFault = undefined;
      const t0 = performance.now();
      while (guard.pendingDeletes > 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(guard.pendingDeletes, 0, 'the delete was retried');
      assert.equal(backend.blocksHeld(), 2, 'only x holds blocks');

      assert.equal(await sample(d, 'shimpack_errors_total', 'code="E_BACKEND"'), answered);
      assert.equal(await sample(d, 'shimpack_errors_total', 'code="E_INTERNAL"'), 0);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="putMany",kind="error"'), 1);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="getMany",kind="error"'), 1);
      await c.close();
    } finally {
      await d.close();
    }
  });

  it('a stalling backend: the request is answered E_BACKEND at the timeout, others keep working, a late write never overtakes a newer one, acked data intact', async () => {
    const timeoutMs = 600;
    const backend = new FaultyBackend();
    const d = await startTestDaemon({ backendTimeoutMs: timeoutMs, lineBufferBytes: 0 }, { backend });
    try {
      const a = await connect(d);
      const b = await connect(d);
      await a.region({ name: 'x', base: 0, size: 2 * BLOCK, dtype: 'int8', kind: 'other', codec: 'zvc' });
      await a.region({ name: 'y', base: 1 << 20, size: 16 * BLOCK, dtype: 'int8', kind: 'other', codec: 'zvc' });
      const x0 = testBytes(2 * BLOCK, 10);
      await a.write(0, x0);
      const x = regionId(d, 'x');
      const guard = d.engine.backend as GuardedBackend;

      // Connection b keeps a write/read-back loop on y going through all of this.
      let stop = false;
      let yOps = 0;
      let yFailure: unknown;
      const yLoop = (async () => {
        for (let i = 0; !stop; i++) {
          const at = (1 << 20) + (i % 16) * BLOCK;
          const data = testBytes(BLOCK, 100 + i);
          await b.write(at, data);
          sameBytes(await b.read(at, BLOCK), data, `y block ${i % 16}`);
          yOps++;
        }
      })().catch((e: unknown) => {
        yFailure = e;
        stop = true;
      });

      backend.putFaults.set(x, 'stall');
      const x1 = testBytes(BLOCK, 11);
      let t = performance.now();
      await expectCode(a.write(0, x1), 'E_BACKEND');
      let took = performance.now() - t;
      // Answered by the deadline (a lower bound load cannot break), as a timeout.
      assert.ok(took >= timeoutMs * 0.9, `answered after ${took.toFixed(0)} ms`);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="putMany",kind="timeout"'), 1);
      assert.equal(guard.lateOperations, 1);
      assert.equal(await sample(d, 'shimpack_backend_late_operations', ''), 1);

      // While that write is late, region x refuses writes at once (they would race it); reads still work.
      const stalledBefore = backend.stalledCalls;
      await expectCode(a.write(BLOCK, testBytes(BLOCK, 12)), 'E_BACKEND');
      // Refused at once: never issued to the backend (kind "blocked", not a second timeout).
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="putMany",kind="blocked"'), 1);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="putMany",kind="timeout"'), 1);
      assert.equal(backend.stalledCalls, stalledBefore);
      sameBytes(await a.read(BLOCK, BLOCK), x0.subarray(BLOCK), 'block 1 holds its acknowledged bytes');
      // Region y is served at full speed meanwhile (only the batches that shared the stalled
      // batch's lane waited, up to the timeout).
      const yAt = yOps;
      const waitFrom = performance.now();
      while (yOps - yAt < 5 && !stop && performance.now() - waitFrom < 5000) await new Promise((r) => setTimeout(r, 10));
      assert.ok(yOps - yAt >= 5, `y was served while x was stuck: ${yOps - yAt} write/read pairs`);
      assert.equal(guard.lateOperations, 1, 'x was still stuck meanwhile');

      // The backend recovers: the late write lands (it was answered as failed: its block may hold
      // the old or the new bytes), then x takes writes again and newer writes win.
      backend.putFaults.delete(x);
      backend.release();
      while (guard.lateOperations > 0) await new Promise((r) => setTimeout(r, 10));
      const x2 = testBytes(2 * BLOCK, 13);
      await a.write(0, x2);
      sameBytes(await a.read(0, 2 * BLOCK), x2);

      // A read that stalls: answered E_BACKEND at the timeout; y still served.
      backend.getFaults.set(x, 'stall');
      t = performance.now();
      await expectCode(a.read(0, 16), 'E_BACKEND');
      took = performance.now() - t;
      assert.ok(took >= timeoutMs * 0.9, `read answered after ${took.toFixed(0)} ms`);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="getMany",kind="timeout"'), 1);
      // Until the backend answers that read, further reads of x fail at once instead of costing their lane a timeout each.
      assert.equal(guard.lateOperations, 1);
      await expectCode(a.read(BLOCK, 16), 'E_BACKEND');
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="getMany",kind="blocked"'), 1, 'a blocked read is refused at once, not issued');
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="getMany",kind="timeout"'), 1);
      backend.getFaults.delete(x);
      backend.release();
      while (guard.lateOperations > 0) await new Promise((r) => setTimeout(r, 10));
      const yMid = yOps;
      while (yOps < yMid + 3 && !stop) await new Promise((r) => setTimeout(r, 10));
      stop = true;
      await yLoop;
      assert.equal(yFailure, undefined);
      sameBytes(await a.read(0, 2 * BLOCK), x2, 'acknowledged data intact after the faults');

      assert.equal(await sample(d, 'shimpack_errors_total', 'code="E_BACKEND"'), 4);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="putMany",kind="timeout"'), 1);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="putMany",kind="blocked"'), 1);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="getMany",kind="timeout"'), 1);
      assert.equal(await sample(d, 'shimpack_backend_failures_total', 'op="getMany",kind="blocked"'), 1);
      // Both late calls were finished by the backend after their requests had been answered.
      assert.equal(await sample(d, 'shimpack_backend_late_settled_total', 'op="putMany",outcome="completed"'), 1);
      assert.equal(await sample(d, 'shimpack_backend_late_settled_total', 'op="getMany",outcome="completed"'), 1);
      await a.close();
      await b.close();
    } finally {
      await d.close();
    }
  });

  it('a delete still owed at shutdown is tried once more before the backend closes', async () => {
    const backend = new FaultyBackend();
    const d = await startTestDaemon({ backendTimeoutMs: 60_000, lineBufferBytes: 0 }, { backend });
    const c = await connect(d);
    await c.region({ name: 'x', base: 0, size: BLOCK, dtype: 'int8', kind: 'other', codec: 'zvc' });
    await c.write(0, testBytes(BLOCK, 1));
    backend.deleteFault = 'throw';
    await expectCode(c.free('x'), 'E_BACKEND');
    backend.deleteFault = undefined;
    assert.equal(backend.blocksHeld(), 1, 'not retried yet (the retry period is the 60 s timeout)');
    let deletedBeforeClose = false;
    const close = backend.close.bind(backend);
    backend.close = () => {
      deletedBeforeClose = backend.blocksHeld() === 0;
      return close();
    };
    await c.close();
    await d.close();
    assert.ok(deletedBeforeClose);
  });

  // Held forever, close() would never settle: the test's timeout is the check.
  it('shutdown is not held by a backend that never answers', { timeout: 60_000 }, async () => {
    const timeoutMs = 300;
    const backend = new FaultyBackend();
    const d = await startTestDaemon({ backendTimeoutMs: timeoutMs, shutdownTimeoutMs: 2000, lineBufferBytes: 0 }, { backend });
    const c = await connect(d);
    await c.region({ name: 'x', base: 0, size: BLOCK, dtype: 'int8', kind: 'other', codec: 'zvc' });
    backend.putFaults.set(regionId(d, 'x'), 'stall');
    backend.close = () => new Promise(() => undefined); // and never closes either
    await expectCode(c.write(0, testBytes(BLOCK, 1)), 'E_BACKEND');
    await assert.rejects(d.close(), (e: unknown) => e instanceof BackendError && e.op === 'close' && e.kind === 'timeout');
    assert.equal(backend.stalledCalls, 1);
  });
});

describe('GuardedBackend', () => {
  it('records a declaration the backend refused before the region\'s next blocks, so no acknowledged block is held without it', async () => {
    const inner = new InMemoryBackend();
    const calls: string[] = [];
    let failMeta = true;
    inner.putRegion = () => {
      calls.push('putRegion');
      return failMeta ? Promise.reject(new Error('meta lost')) : Promise.resolve();
    };
    const putMany = inner.putMany.bind(inner);
    inner.putMany = (p) => {
      calls.push('putMany');
      return putMany(p);
    };
    const g = new GuardedBackend(inner, { timeoutMs: 1000 });
    await assert.rejects(g.putRegion(7, new Uint8Array([1])), (e: unknown) => e instanceof BackendError && e.code === 'E_BACKEND');
    const put = [{ ref: { region: 7, index: 0 }, bytes: new Uint8Array([0, 1, 2]) }];
    await assert.rejects(g.putMany(put), BackendError);
    assert.equal(inner.blocksHeld(), 0, 'no block stored while its declaration is not');
    failMeta = false;
    await g.putMany(put);
    assert.deepEqual(calls, ['putRegion', 'putRegion', 'putRegion', 'putMany']);
    await g.putMany(put);
    assert.deepEqual(calls.slice(4), ['putMany'], 'recorded once, not before every put');
    // An older declaration that fails after a newer one succeeded is not recorded again over it.
    let rejectOld: (e: Error) => void = () => undefined;
    (inner as MemoryBackend).putRegion = (_r: number, meta: Uint8Array): Promise<void> => {
      calls.push(`putRegion ${meta[0]}`);
      return meta[0] === 1 ? new Promise((_, rej) => (rejectOld = rej)) : Promise.resolve();
    };
    const older = g.putRegion(8, new Uint8Array([1]));
    await g.putRegion(8, new Uint8Array([2]));
    rejectOld(new Error('late failure'));
    await assert.rejects(older, BackendError);
    await g.putMany([{ ref: { region: 8, index: 0 }, bytes: new Uint8Array([0]) }]);
    assert.deepEqual(calls.slice(5), ['putRegion 1', 'putRegion 2', 'putMany']);
    await g.close();
  });
});
