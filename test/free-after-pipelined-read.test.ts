import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

// protocol/README.md §3.1: requests of a connection take effect in the order
// sent, so a read sent before a free still returns what an earlier write put
// there, even when the free arrives before the write's lane batch is committed.
describe('free pipelined behind a write and a read of the same region', () => {
  it('the read still returns the written bytes (worker lanes)', async () => {
    const d = await startTestDaemon({ lanes: 2 });
    const c = await connect(d);
    try {
      for (let round = 0; round < 20; round++) {
        const name = `z${round}`;
        await c.region({ name, base: 3 << 20, size: 8 * 1024, dtype: 'uint8', kind: 'other', codec: 'zvc', blockBytes: 1024 });
        const data = testBytes(3000, 4 + round, 0.9);
        // Same tick: one frame, admitted in order. The read's jobs queue behind
        // the write's batch on each lane; the free is admitted before that batch commits.
        const [, got] = await Promise.all([c.write(3 << 20, data), c.read(3 << 20, 3000), c.free(name)]);
        const g = Buffer.from(got as Uint8Array);
        let first = 0;
        while (first < data.length && g[first] === data[first]) first++;
        assert.equal(first, data.length, `round ${round}: byte ${first} read back as 0x${g[first]?.toString(16)}, written 0x${data[first]?.toString(16)}`);
      }
    } finally {
      await c.close();
      await d.close();
    }
  });
});
