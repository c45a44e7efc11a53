import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ShimpackClient } from '../clients/ts/index.ts';
import { spawnEchoFloor } from '../daemon/bench-daemon/echo-floor.ts';
import { benchData, runDaemonBench } from '../daemon/bench-daemon/run.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import { DEFAULT_DATA_DIR, loadDataset } from '../daemon/dataset/manifest.ts';
import { CLI_JS } from './helpers.ts';
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
      // The latency floor: the same 200 paced writes at the same rate, against the echo server.
      const { paced, floor } = r;
      assert.ok(paced && floor, `${r.codec}: a paced row has its floor`);
      assert.equal(floor.ops, 200, 'every write to the echo floor was answered');
      assert.equal(floor.offeredPerSecond, paced.offeredPerSecond, 'the floor is measured at the daemon\'s paced rate');
      assert.equal(floor.bytes, 200 * 4096);
      assert.ok(floor.p50us > 0 && floor.p99us >= floor.p50us, `${r.codec}: floor p50 ${floor.p50us} us, p99 ${floor.p99us} us`);
      assert.equal(r.p99OverFloor, paced.p99us / floor.p99us);
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

  it('without --rate there is no paced phase and no floor', { timeout: 60_000 }, async () => {
    const rows = await runDaemonBench({ codecs: ['raw'], connections: 1, seconds: 1, writeBytes: 4096, depth: 2, laneCounts: [1], dataset: loadDataset(DEFAULT_DATA_DIR), dataBytes: 64 * 1024 });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].paced, undefined);
    assert.equal(rows[0].floor, undefined);
    assert.equal(rows[0].p99OverFloor, undefined);
  });

  it('the echo floor server answers every request of single and batched frames with {id, ok: true}, over each of several connections', { timeout: 60_000 }, async () => {
    const echo = await spawnEchoFloor();
    try {
      const a = await ShimpackClient.connect(echo.url);
      const b = await ShimpackClient.connect(echo.url, { autoBatch: false });
      // a's 50 requests go out as one batch frame (same tick); b's one frame each.
      const got = await Promise.all([...Array.from({ length: 50 }, (_, i) => a.request({ op: 'write', addr: i * 64, data: new Uint8Array(64) })), ...Array.from({ length: 5 }, () => b.request({ op: 'fence' }))]);
      assert.equal(got.length, 55);
      for (const r of got) assert.deepEqual(Object.keys(r).sort(), ['id', 'ok']);
      assert.deepEqual(
        got.slice(0, 50).map((r) => r.id),
        Array.from({ length: 50 }, (_, i) => i + 2), // id 1 was hello
      );
      await Promise.all([a.close(), b.close()]);
    } finally {
      assert.equal(await echo.stop(), 0, 'the echo server exits cleanly on SIGTERM');
    }
  });

  it('the CLI prints the floor and p99/floor beside the paced figures, in the table and in --json', { timeout: 120_000 }, async () => {
    const run = promisify(execFile);
    const args = [CLI_JS, 'bench', 'daemon', '--codec', 'raw', '--lanes', '1', '--duration', '1', '--warmup', '0', '--depth', '2', '--data-bytes', '65536', '--rate', '100'];
    const table = (await run(process.execPath, args)).stdout;
    assert.match(table, /floor: the same paced writes against a bare ws echo through one worker-thread hop/);
    const [header, , row] = table.split('\n').slice(1);
    const cols = header.trim().split(/\s{2,}/);
    const cells = row.trim().split(/\s+/);
    assert.equal(cells.length, cols.length, table);
    const at = (name: string): number => Number(cells[cols.indexOf(name)]);
    assert.ok(at('floor p99 us') > 0, table);
    // p99/floor of the printed (rounded) figures, within their rounding.
    assert.ok(Math.abs(at('p99/floor') - at('pw p99 us') / at('floor p99 us')) <= 0.01 + (0.5 * (at('p99/floor') + 1)) / at('floor p99 us'), table);
    const json = JSON.parse((await run(process.execPath, [...args, '--json'])).stdout) as { rows: { paced: { p99us: number; offeredPerSecond: number }; floor: { ops: number; p99us: number; offeredPerSecond: number }; p99OverFloor: number }[] };
    const r = json.rows[0];
    assert.equal(r.floor.ops, 100);
    assert.equal(r.floor.offeredPerSecond, 100);
    assert.ok(r.floor.p99us > 0);
    assert.equal(r.p99OverFloor, r.paced.p99us / r.floor.p99us);
  });

  it('takes its data from weight tensors of one stride, the one with the most bytes', () => {
    const ds = loadDataset(DEFAULT_DATA_DIR);
    const { data, stride } = benchData(ds, 1 << 20);
    assert.equal(data.length, 1 << 20);
    assert.ok(Number.isInteger(stride) && stride >= 1);
  });
});
