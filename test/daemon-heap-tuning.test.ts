import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAEMON_HEAP_GROWING_PERCENT } from '../daemon/server/heap-tuning.ts';
import { spawnDaemon } from '../daemon/server/spawn-daemon.ts';

/**
 * What the setting does to full collections depends on the load and is
 * measured in docs/daemon.md (Benchmark); under a test runner sharing two
 * cores it is too intermittent to assert on. What is asserted here is the
 * part that is ours: serve applies it, says so, and yields to node's own flag.
 */
describe('serve heap tuning (daemon/server/heap-tuning.ts)', () => {
  it('serve sets --heap-growing-percent and says so in its listening line', async () => {
    const d = await spawnDaemon(['--port', '0', '--lanes', '1']);
    try {
      assert.match(d.stderr(), new RegExp(`heap growing ${DAEMON_HEAP_GROWING_PERCENT} %\\)`));
    } finally {
      await d.stop();
    }
  });

  it("node's own --heap-growing-percent wins (0 = V8's default)", async () => {
    const d = await spawnDaemon(['--port', '0', '--lanes', '1'], { nodeArgs: ['--heap-growing-percent=0'] });
    try {
      assert.match(d.stderr(), /heap growing 0 %\)/);
    } finally {
      await d.stop();
    }
  });
});
