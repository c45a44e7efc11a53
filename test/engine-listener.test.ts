import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InlineLaneExecutor } from '../daemon/lanes/inline-executor.ts';
import type { AccessListener } from '../daemon/pipeline/engine.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

describe('engine: a listener that throws', () => {
  it('does not cut short the lane batch it completes in: the other accesses are answered and the lanes drain', async () => {
    const d = await startTestDaemon({ lanes: 1 }, { executor: new InlineLaneExecutor(1) });
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const c = await connect(d);
      await c.region({ name: 'r', base: 0, size: 1 << 16, dtype: 'uint8', kind: 'other', codec: 'zvc' });
      const heard: number[] = [];
      const listener = (i: number): AccessListener => ({
        accessDone(e) {
          heard.push(i);
          if (!e && i % 2 === 0) throw new Error(`listener ${i} broke`);
        },
      });
      // Submitted in one go: one lane, one batch of 8 jobs.
      for (let i = 0; i < 8; i++) d.engine.write({ op: 'write', id: i, addr: i * 4096, data: testBytes(4096, i) }, '', listener(i));
      await d.engine.scheduler.whenIdle();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(heard.sort(), [0, 1, 2, 3, 4, 5, 6, 7], 'every access was answered');
      assert.equal(d.engine.scheduler.pendingBytes(0), 0, 'the lane holds nothing');
      assert.equal(errors.filter((m) => m.includes('internal error while answering a write')).length, 4);
      // The daemon goes on serving.
      const back = await c.read(4096, 4096);
      assert.deepEqual(new Uint8Array(back), testBytes(4096, 1));
      await c.close();
    } finally {
      process.stderr.write = write;
      await d.close();
    }
  });
});
