import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/server/spawn-daemon.ts';
import { testBytes } from './daemon-harness.ts';

const SECONDS = 2.5;
const DEPTH = 64;
const BLOCKS = 2048;

/** Closed loop of 4 KiB writes over 8 MiB for SECONDS; returns writes done and the daemon's full collections meanwhile. */
async function writeLoad(d: SpawnedDaemon): Promise<{ writes: number; majorGcs: number }> {
  const c = await ShimpackClient.connect(d.url);
  try {
    await c.region({ name: 'w', base: 0, size: BLOCKS * 4096, dtype: 'uint8', kind: 'other', codec: 'raw' });
    const blocks = Array.from({ length: 16 }, (_, i) => testBytes(4096, i, 0.3));
    const majors = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      return Number(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)/m.exec(text)?.[1] ?? 0); // no series before the first one
    };
    const before = await majors();
    const end = performance.now() + SECONDS * 1000;
    let writes = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: DEPTH }, async () => {
        while (performance.now() < end) {
          const k = next++;
          await c.write((k % BLOCKS) * 4096, blocks[k % blocks.length]);
          writes++;
        }
      }),
    );
    return { writes, majorGcs: (await majors()) - before };
  } finally {
    await c.close();
  }
}

describe('daemon heap tuning (daemon/server/heap-tuning.ts)', () => {
  it('a closed loop of 4 KiB writes runs with few full collections; node’s own --heap-growing-percent still wins', async (tc) => {
    const tuned = await spawnDaemon(['--port', '0', '--lanes', '1']);
    let t: { writes: number; majorGcs: number };
    try {
      t = await writeLoad(tuned);
    } finally {
      await tuned.stop();
    }
    // V8's default limit (heap-growing-percent unset, here set to what V8 uses for a fast collector)
    // restarts marking right after each full collection under this load.
    const untuned = await spawnDaemon(['--port', '0', '--lanes', '1'], { nodeArgs: ['--heap-growing-percent=100'] });
    let u: { writes: number; majorGcs: number };
    try {
      u = await writeLoad(untuned);
    } finally {
      await untuned.stop();
    }
    tc.diagnostic(`tuned: ${t.majorGcs} full collections in ${t.writes} writes; --heap-growing-percent=100: ${u.majorGcs} in ${u.writes}`);
    const perTenK = (r: { writes: number; majorGcs: number }): number => (r.majorGcs * 10_000) / r.writes;
    assert.ok(t.writes > 5000 && u.writes > 5000, `too little load to judge: ${t.writes} and ${u.writes} writes`);
    assert.ok(perTenK(t) <= 2, `tuned: ${t.majorGcs} full collections in ${t.writes} writes`);
    assert.ok(perTenK(u) > 2 * perTenK(t) + 1, `the explicit flag should bring the frequent collections back: ${u.majorGcs} in ${u.writes} writes vs ${t.majorGcs} in ${t.writes}`);
  });
});
