import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockPut, BlockRef } from '../daemon/backend/backend.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import type { ControlMessage, LaneBatch, LaneResult } from '../daemon/lanes/batch-format.ts';
import type { BlockJob, JobOutcome } from '../daemon/lanes/block-job.ts';
import type { LaneExecutor } from '../daemon/lanes/executor.ts';
import { LaneFailedError } from '../daemon/lanes/lane-failed-error.ts';
import { LaneProcessor } from '../daemon/lanes/lane-processor.ts';
import { LaneScheduler } from '../daemon/lanes/lane-scheduler.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A gate: `wait()` resolves once `open()` is called. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/**
 * One lane whose "worker" is a LaneProcessor the test drives by hand:
 * batches wait until `answer()`, and `die()` does what the worker executor
 * does when a thread dies (fail what is on it, new processor with an empty
 * cache, generation bump).
 */
class HandLane implements LaneExecutor {
  readonly lanes = 1;
  private proc = new LaneProcessor();
  private gen = 0;
  private readonly models: ControlMessage[] = [];
  readonly queue: { batch: LaneBatch; resolve: (r: LaneResult) => void; reject: (e: Error) => void; gen: number }[] = [];
  runs = 0;
  broadcast(msg: ControlMessage): void {
    this.models.push(msg);
    this.proc.handle(msg);
  }
  run(_lane: number, batch: LaneBatch): Promise<LaneResult> {
    this.runs++;
    return new Promise((resolve, reject) => this.queue.push({ batch, resolve, reject, gen: this.gen }));
  }
  /** Answer the oldest batch (the processor runs it now). */
  answer(): void {
    const b = this.queue.shift();
    assert.ok(b, 'no batch to answer');
    assert.equal(b.gen, this.gen, 'a batch sent to a dead worker reached its replacement');
    b.resolve(this.proc.handle(b.batch) as LaneResult);
  }
  die(): void {
    this.gen++;
    for (const b of this.queue.splice(0)) b.reject(new LaneFailedError(0, 'lane 0 worker died'));
    this.proc = new LaneProcessor();
    for (const m of this.models) this.proc.handle(m);
  }
  generation(): number {
    return this.gen;
  }
  restarts(): number {
    return this.gen;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The in-memory store, with commits and reads the test can hold back. */
class HeldBackend extends InMemoryBackend {
  putGate: { wait: Promise<void>; open: () => void } | undefined;
  getGate: { wait: Promise<void>; open: () => void } | undefined;
  gets = 0;
  override putMany(puts: readonly BlockPut[]): Promise<void> {
    const g = this.putGate;
    return g ? g.wait.then(() => super.putMany(puts)) : super.putMany(puts);
  }
  override getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    this.gets++;
    const got = super.getMany(refs); // read now, answer when the gate opens
    const g = this.getGate;
    return g ? g.wait.then(() => got) : got;
  }
}

const BLOCK = 256;

function setup(): { lane: HandLane; backend: HeldBackend; sched: LaneScheduler } {
  const lane = new HandLane();
  const backend = new HeldBackend();
  lane.broadcast({ type: 'model', region: 1, codec: 'zvc', dtype: 'int8', params: codecByName('zvc').fit(new Uint8Array(BLOCK), 'int8').params });
  // Tiny batches: a busy lane is handed the next one at once (one job per batch here).
  const sched = new LaneScheduler(lane, backend, { batchBytes: 16, batchesInFlight: 4, laneQueueBytes: 1 << 30 });
  return { lane, backend, sched };
}

function job(kind: 'write' | 'read', offset: number, len: number, data?: Uint8Array): { job: BlockJob; outcome: Promise<JobOutcome & { copy?: Uint8Array }> } {
  let settle!: (o: JobOutcome & { copy?: Uint8Array }) => void;
  let fail!: (e: Error) => void;
  const outcome = new Promise<JobOutcome & { copy?: Uint8Array }>((res, rej) => ((settle = res), (fail = rej)));
  return {
    outcome,
    job: {
      kind,
      region: 1,
      index: 0,
      blockLen: BLOCK,
      offset,
      len,
      data,
      done(o) {
        if (o instanceof Error) fail(o);
        else settle({ ...o, copy: o.bytes?.slice() });
      },
    },
  };
}

describe('lane scheduler after a worker replacement', () => {
  it('builds no batch until the dead worker\'s answered batches are committed (the new worker has no cache of them)', async () => {
    const { lane, backend, sched } = setup();
    const x = new Uint8Array(BLOCK).fill(7);
    backend.putGate = gate();
    const w = job('write', 0, BLOCK, x);
    sched.submit(0, w.job);
    await tick();
    lane.answer(); // answered, its commit held back
    await tick();
    lane.die();
    const r = job('read', 0, BLOCK);
    sched.submit(0, r.job);
    await tick();
    assert.equal(backend.gets, 0, 'the read was built (backend read) before the answered write was committed');
    assert.equal(lane.queue.length, 0);
    backend.putGate.open();
    await w.outcome;
    await tick();
    assert.equal(backend.gets, 1);
    lane.answer();
    const got = await r.outcome;
    assert.deepEqual(got.copy, x, 'the read after the replacement sees the acknowledged write');
  });

  it('a batch being built when the worker dies is built again, not sent to the replacement', async () => {
    const { lane, backend, sched } = setup();
    const x = new Uint8Array(BLOCK).fill(9);
    backend.putGate = gate();
    const w1 = job('write', 0, BLOCK, x);
    sched.submit(0, w1.job);
    await tick();
    lane.answer(); // the whole-block write: answered, not committed
    await tick();
    // A partial write: read-modify-write of the block, its backend read held back.
    backend.getGate = gate();
    const y = new Uint8Array(10).fill(3);
    const w2 = job('write', 0, 10, y);
    sched.submit(0, w2.job);
    await tick();
    assert.equal(backend.gets, 1);
    lane.die(); // while w2's batch is being built on a read from before w1's commit
    backend.getGate.open();
    backend.getGate = undefined;
    await tick();
    assert.equal(lane.queue.length, 0, 'the batch built for the dead worker was sent to its replacement');
    backend.putGate.open();
    await w1.outcome;
    await tick();
    assert.equal(backend.gets, 2, 'built again after the commit');
    lane.answer();
    await w2.outcome;
    const r = job('read', 0, BLOCK);
    sched.submit(0, r.job);
    await tick();
    lane.answer();
    const got = await r.outcome;
    const expect = x.slice();
    expect.set(y, 0);
    assert.deepEqual(got.copy, expect, 'the partial write kept the rest of the acknowledged block');
  });

  it('batches on the dead worker fail with LaneFailedError and the queue behind them still runs', async () => {
    const { lane, sched } = setup();
    const w = job('write', 0, BLOCK, new Uint8Array(BLOCK).fill(1));
    sched.submit(0, w.job);
    await tick();
    lane.die();
    await assert.rejects(w.outcome, (e: Error) => e instanceof LaneFailedError && e.code === 'E_LANE_FAILED');
    const r = job('read', 0, BLOCK);
    sched.submit(0, r.job);
    await tick();
    lane.answer();
    const got = await r.outcome;
    assert.deepEqual(got.copy, new Uint8Array(BLOCK), 'the failed write was not stored');
    assert.equal(sched.depth(0), 0);
    assert.equal(sched.pendingBytes(0), 0);
  });
});
