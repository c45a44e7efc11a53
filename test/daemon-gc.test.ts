import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { benchData } from '../daemon/bench-daemon/run.ts';
import { DEFAULT_DATA_DIR, loadDataset } from '../daemon/dataset/manifest.ts';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/server/spawn-daemon.ts';

const SECONDS = 2.5;
const CONNECTIONS = 2;
const DEPTH = 32;
const { data, stride } = benchData(loadDataset(DEFAULT_DATA_DIR), 4 << 20);
const BLOCKS = data.length / 4096;

/**
 * What `bench daemon` does (APack on real int8 weights, 2 connections x 32
 * closed-loop 4 KiB writes) for SECONDS; returns writes done and the
 * daemon's full collections meanwhile.
 */
async function writeLoad(d: SpawnedDaemon): Promise<{ writes: number; majorGcs: number }> {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => ShimpackClient.connect(d.url)));
  try {
    await Promise.all(clients.map((c, i) => c.region({ name: `w${i}`, base: i * 2 ** 32, size: data.length, dtype: 'int8', kind: 'weight', codec: 'apack', stride })));
    await Promise.all(clients.map((c, i) => c.write(i * 2 ** 32, data.subarray(0, 1 << 20)))); // APack fits its table here
    const majors = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      return Number(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)/m.exec(text)?.[1] ?? 0); // no series before the first one
    };
    const before = await majors();
    const end = performance.now() + SECONDS * 1000;
    let writes = 0;
    await Promise.all(
      clients.map(async (c, i) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: DEPTH }, async () => {
            while (performance.now() < end) {
              const k = next++ % BLOCKS;
              await c.write(i * 2 ** 32 + k * 4096, data.subarray(k * 4096, (k + 1) * 4096));
              writes++;
            }
          }),
        );
      }),
    );
    return { writes, majorGcs: (await majors()) - before };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

describe('daemon heap tuning (daemon/server/heap-tuning.ts)', () => {
  it('a closed loop of 4 KiB writes runs with few full collections; far fewer than with V8’s default, which node’s own --heap-growing-percent restores', async (tc) => {
    const tuned = await spawnDaemon(['--port', '0', '--lanes', '1']);
    let t: { writes: number; majorGcs: number };
    try {
      t = await writeLoad(tuned);
    } finally {
      await tuned.stop();
    }
    // --heap-growing-percent=0 is V8's own default (the daemon then leaves it): under this load
    // V8 starts marking again right after each full collection.
    const untuned = await spawnDaemon(['--port', '0', '--lanes', '1'], { nodeArgs: ['--heap-growing-percent=0'] });
    let u: { writes: number; majorGcs: number };
    try {
      u = await writeLoad(untuned);
    } finally {
      await untuned.stop();
    }
    tc.diagnostic(`tuned: ${t.majorGcs} full collections in ${t.writes} writes; V8's default: ${u.majorGcs} in ${u.writes}`);
    const perTenK = (r: { writes: number; majorGcs: number }): number => (r.majorGcs * 10_000) / r.writes;
    assert.ok(t.writes > 3000 && u.writes > 3000, `too little load to judge: ${t.writes} and ${u.writes} writes`);
    assert.ok(perTenK(t) <= 2, `tuned: ${t.majorGcs} full collections in ${t.writes} writes`);
    assert.ok(perTenK(u) > 2 * perTenK(t) + 1, `V8's default should collect far more often: ${u.majorGcs} in ${u.writes} writes vs ${t.majorGcs} in ${t.writes}`);
  });
});
