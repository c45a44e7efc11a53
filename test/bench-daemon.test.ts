import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { benchData, runDaemonBench } from '../daemon/bench-daemon/run.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import { DEFAULT_DATA_DIR, loadDataset } from '../daemon/dataset/manifest.ts';
import { haveRedis, startRedis } from './redis-harness.ts';

describe('bench daemon', () => {
  it('drives a spawned daemon with every registered codec, reads back and verifies, and paces writes at the offered rate', { timeout: 120_000 }, async () => {
    // Every registered codec, as `bench daemon` runs by default (scc needs the stride the bench declares).
    const codecs = CODECS.map((c) => c.name);
    const rows = await runDaemonBench({
      codecs,
      connections: 1,
      seconds: 1,
      warmupSeconds: 0.2,
      writeBytes: 4096,
      depth: 4,
      laneCounts: [2],
      dataset: loadDataset(DEFAULT_DATA_DIR),
      dataBytes: 256 * 1024,
      rate: 200,
    });
    assert.equal(rows.length, codecs.length);
    for (const r of rows) {
      assert.equal(r.lanes, 2);
      assert.ok(r.verified, `${r.codec}: read-back differs`);
      assert.ok(r.write.ops > 0 && r.read.ops > 0);
      assert.equal(r.paced?.ops, 200, 'every paced write was acknowledged');
      assert.ok((r.paced?.p99us ?? 0) >= (r.paced?.p50us ?? 0));
    }
    const ratio = (codec: string): number => rows.find((r) => r.codec === codec)?.ratio ?? NaN;
    assert.ok(ratio('apack') > 1.2, `APack on int8 weights compresses (ratio ${ratio('apack')})`);
    assert.ok(ratio('scc') > 1.2, `SCC on int8 weights compresses (ratio ${ratio('scc')})`);
  });

  it('--vector 1,16: a row of single requests and one of 16-burst writev/readv, ops counting bursts, read back verified', { timeout: 120_000 }, async () => {
    const rows = await runDaemonBench({
      codecs: ['raw', 'apack'],
      connections: 1,
      seconds: 1,
      warmupSeconds: 0,
      writeBytes: 64,
      vectors: [1, 16],
      depth: 4,
      laneCounts: [1],
      dataset: loadDataset(DEFAULT_DATA_DIR),
      dataBytes: 64 * 1024,
      rate: 100,
    });
    assert.deepEqual(
      rows.map((r) => `${r.codec}/${r.vector}`),
      ['raw/1', 'raw/16', 'apack/1', 'apack/16'],
    );
    for (const r of rows) {
      assert.ok(r.verified, `${r.codec} vector ${r.vector}: read-back differs`);
      assert.ok(r.write.ops > 0 && r.read.ops > 0);
      assert.equal(r.write.bytes, r.write.ops * 64);
      if (r.vector === 16) {
        assert.equal(r.write.ops % 16, 0, 'ops count bursts, 16 per request');
        assert.equal(r.read.ops % 16, 0);
        assert.equal(r.paced, undefined, 'the paced phase belongs to the rows of single requests');
      } else assert.equal(r.paced?.ops, 100);
    }
  });

  it('--channels 2 --backend redis://: two channel daemons on one Redis, driven through the channel client, read back verified', { skip: haveRedis() ? false : 'redis-server not installed', timeout: 120_000 }, async () => {
    const redis = await startRedis();
    try {
      const rows = await runDaemonBench({
        codecs: ['apack'],
        connections: 1,
        seconds: 1,
        warmupSeconds: 0,
        writeBytes: 4096,
        depth: 4,
        laneCounts: [1],
        dataset: loadDataset(DEFAULT_DATA_DIR),
        dataBytes: 256 * 1024,
        backend: redis.url,
        channels: 2,
      });
      assert.equal(rows.length, 1);
      assert.ok(rows[0].verified && rows[0].write.ops > 0 && rows[0].read.ops > 0);
      // The bench freed its regions on both channels: their region tables are gone from Redis.
      const keys = (ch: string): number => spawnSync('redis-cli', ['-p', String(redis.port), '--scan', '--pattern', `shimpack:{shimpack:${ch}}:regions`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).length;
      assert.deepEqual([keys('ch0of2'), keys('ch1of2')], [0, 0], 'the bench freed its regions on both channels');
      assert.ok(rows[0].ratio > 1.2);
    } finally {
      await redis.stop();
    }
  });

  it('takes its data from weight tensors of one stride, the one with the most bytes', () => {
    const ds = loadDataset(DEFAULT_DATA_DIR);
    const { data, stride } = benchData(ds, 1 << 20);
    assert.equal(data.length, 1 << 20);
    assert.ok(Number.isInteger(stride) && stride >= 1);
  });
});
