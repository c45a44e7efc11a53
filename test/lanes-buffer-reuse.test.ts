import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import type { BlockJob, JobOutcome } from '../daemon/lanes/block-job.ts';
import { BufferPool } from '../daemon/lanes/buffer-pool.ts';
import { InlineLaneExecutor } from '../daemon/lanes/inline-executor.ts';
import { LaneScheduler } from '../daemon/lanes/lane-scheduler.ts';
import { rng, testBytes } from './daemon-harness.ts';

describe('BufferPool', () => {
  it('hands out power-of-two buffers of at least the size asked, and takes back only those', () => {
    const p = new BufferPool(2);
    const a = p.take(5000);
    assert.equal(a.byteLength, 8192);
    assert.equal(p.take(1).byteLength, 4096);
    p.give(a);
    assert.equal(p.take(8000), a, 'a returned buffer is reused');
    p.give(new ArrayBuffer(5000)); // not a class size: dropped
    assert.notEqual(p.take(5000).byteLength, 5000);
    p.give(a);
    p.give(new ArrayBuffer(8192));
    p.give(new ArrayBuffer(8192)); // over the per-class cap: dropped
    const got = new Set([p.take(8192), p.take(8192), p.take(8192)]);
    assert.equal(got.size, 3);
  });
});

/**
 * Pooled batch, result and block buffers hold old bytes. Random whole and
 * partial writes and reads over many small batches on a lane (inline, same
 * semantics as a worker) must still read back exactly what was written, and
 * never-written bytes as zero: no byte of an earlier batch may leak.
 */
describe('lane buffers reused across batches', () => {
  for (const codec of ['zvc', 'apack', 'raw']) {
    it(`${codec}: reads see exactly the writes, unwritten bytes read zero`, async () => {
      const blockBytes = 1024;
      const blocks = 24;
      const size = blockBytes * blocks;
      const executor = new InlineLaneExecutor(1);
      const model = codecByName(codec).fit(testBytes(8192, 5, 0.5), 'int8');
      executor.broadcast({ type: 'model', region: 1, codec, dtype: 'int8', params: model.params });
      const sched = new LaneScheduler(executor, new InMemoryBackend(), { batchBytes: 3000, batchesInFlight: 3, laneQueueBytes: 1 << 30 });
      const shadow = new Uint8Array(size);
      const rand = rng(12345);
      const pending: Promise<void>[] = [];
      let checked = 0;
      for (let i = 0; i < 3000; i++) {
        const index = Math.floor(rand() * blocks);
        const whole = rand() < 0.3;
        const offset = whole ? 0 : Math.floor(rand() * (blockBytes - 1));
        const len = whole ? blockBytes : 1 + Math.floor(rand() * (blockBytes - offset - 1));
        const isWrite = rand() < 0.6;
        const data = isWrite ? testBytes(len, i + 1, 0.4) : undefined;
        const expected = isWrite ? undefined : shadow.slice(index * blockBytes + offset, index * blockBytes + offset + len);
        if (data) shadow.set(data, index * blockBytes + offset);
        pending.push(
          new Promise<void>((resolve, reject) => {
            const job: BlockJob = {
              kind: isWrite ? 'write' : 'read',
              region: 1,
              index,
              blockLen: blockBytes,
              offset,
              len,
              data,
              done(o: JobOutcome | Error) {
                if (o instanceof Error) return reject(o);
                if (expected) {
                  try {
                    assert.deepEqual(Buffer.from(o.bytes as Uint8Array), Buffer.from(expected), `read ${i}: block ${index} [${offset}, ${offset + len})`);
                    checked++;
                  } catch (e) {
                    return reject(e as Error);
                  }
                }
                resolve();
              },
            };
            sched.submit(0, job);
          }),
        );
        // Let batches complete now and then, so committed blocks leave the lane's cache and their arrays are reused.
        if (i % 97 === 0) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      assert.ok(checked > 1000);
    });
  }
});
