import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import type { LaneBatch, LaneResult } from '../daemon/lanes/batch-format.ts';
import type { BlockJob, JobOutcome } from '../daemon/lanes/block-job.ts';
import { JOB_FIELDS } from '../daemon/lanes/batch-format.ts';
import { InlineLaneExecutor } from '../daemon/lanes/inline-executor.ts';
import { LaneScheduler } from '../daemon/lanes/lane-scheduler.ts';

/** Inline lanes that count the jobs each batch carried. */
class CountingExecutor extends InlineLaneExecutor {
  jobsSent = 0;
  override run(lane: number, batch: LaneBatch): Promise<LaneResult> {
    this.jobsSent += batch.jobs.length / JOB_FIELDS;
    return super.run(lane, batch);
  }
}

/**
 * A job that became moot while queued (a line-buffer fill whose block was
 * written whole and let go) is settled by the scheduler without the lane:
 * dropped() instead of done(), nothing sent, its queue bytes released; the
 * jobs around it run as before, in order.
 */
describe('lane scheduler: moot jobs', () => {
  it('are dropped, not sent; the others run in order and the lane drains', async () => {
    const executor = new CountingExecutor(1);
    executor.broadcast({ type: 'model', region: 1, codec: 'raw', dtype: 'int8', params: codecByName('raw').fit(new Uint8Array(0), 'int8').params });
    const sched = new LaneScheduler(executor, new InMemoryBackend(), { batchBytes: 1 << 16, batchesInFlight: 2, laneQueueBytes: 1 << 30 });
    const events: string[] = [];
    let mootAsked = 0;
    const job = (name: string, kind: 'write' | 'read', moot: boolean | undefined): BlockJob => ({
      kind,
      region: 1,
      index: 0,
      blockLen: 256,
      offset: 0,
      len: 256,
      data: kind === 'write' ? new Uint8Array(256).fill(name.length) : undefined,
      done(o: JobOutcome | Error) {
        events.push(o instanceof Error ? `${name}: error ${o.message}` : `${name}: done`);
      },
      ...(moot === undefined
        ? {}
        : {
            moot: () => {
              mootAsked++;
              return moot;
            },
            dropped: () => events.push(`${name}: dropped`),
          }),
    });
    sched.submit(0, job('w', 'write', undefined));
    sched.submit(0, job('fill-moot', 'read', true));
    sched.submit(0, job('fill-live', 'read', false));
    sched.submit(0, job('fill-moot2', 'read', true));
    await sched.whenIdle();
    assert.equal(mootAsked, 3);
    assert.equal(executor.jobsSent, 2, 'only the write and the live fill reach the lane');
    // Dropped at once when taken; the lane's jobs complete in order after.
    assert.deepEqual(events, ['fill-moot: dropped', 'fill-moot2: dropped', 'w: done', 'fill-live: done']);
    assert.equal(sched.depth(0), 0);
    assert.equal(sched.pendingBytes(0), 0);
    // A queue holding only moot jobs sends nothing and drains too.
    sched.submit(0, job('only-moot', 'read', true));
    await sched.whenIdle();
    assert.equal(executor.jobsSent, 2);
    assert.equal(events.at(-1), 'only-moot: dropped');
    assert.equal(sched.pendingBytes(0), 0);
    await executor.close();
  });
});
