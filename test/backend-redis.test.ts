import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileBackend } from '../daemon/backend/file.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { BackendOpenError, RedisBackend } from '../daemon/backend/redis.ts';
import { parseRedisUrl } from '../daemon/backend/redis-url.ts';
import { runKillLoop } from '../daemon/fuzz/kill-loop.ts';
import { backendContract } from './backend-contract.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';
import { freePort, haveRedis, startRedis, startRedisCluster, type RedisCluster, type RedisServer } from './redis-harness.ts';
import { ROOT } from './root.ts';

const skip = haveRedis() ? false : 'redis-server / redis-cli not installed (.ci/run installs redis-server redis-tools)';

let server: RedisServer;
let cluster: RedisCluster;
let prefixes = 0;

function redisTarget(url: () => string): { open(): Promise<RedisBackend>; reopen(): Promise<RedisBackend> } {
  let prefix = '';
  const make = (): Promise<RedisBackend> =>
    RedisBackend.open({ target: parseRedisUrl(`${url()}?prefix=${prefix}`), channel: 'ch0of1', layout: 'channels=1 granule=0', sync: 'batch', timeoutMs: 5000, log: () => undefined });
  return {
    open() {
      prefix = `t${process.pid}-${++prefixes}`; // a fresh, empty store each time
      return make();
    },
    reopen: make,
  };
}

describe('backend contract', { skip }, () => {
  const dirs: string[] = [];
  before(async () => {
    server = await startRedis();
    cluster = await startRedisCluster(1);
  });
  after(async () => {
    await server?.stop();
    await cluster?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  backendContract({ name: 'memory', open: async () => new InMemoryBackend() });
  let dir = '';
  backendContract({
    name: 'file',
    open: async () => {
      dir = mkdtempSync(join(tmpdir(), 'shimpack-contract-'));
      dirs.push(dir);
      return new FileBackend(dir, { sync: 'none' });
    },
    reopen: async () => new FileBackend(dir, { sync: 'none' }),
  });
  backendContract({ name: 'redis', ...redisTarget(() => server.url) });
  backendContract({ name: 'redis-cluster', ...redisTarget(() => cluster.url) });

  it('redis-cluster: a killed master fails requests with E_BACKEND, no crash; after failover every acknowledged write is back and writes go on', async () => {
    // --sync always with ?wait=1: acknowledged only once the replica has it, so failover cannot lose it.
    const d = await startTestDaemon({ backend: `${cluster.url}?prefix=failover&wait=1`, sync: 'always', backendTimeoutMs: 3000 });
    const c = await connect(d);
    try {
      await c.region({ name: 'w', base: 0, size: 1 << 20, dtype: 'int8', kind: 'weight', codec: 'zvc' });
      const data = testBytes(1 << 20, 77);
      await c.write(0, data);
      // Kill the master holding block group 0 of the region.
      const victim = cluster.masterOf('{failover:ch0of1:r1:g0}');
      await victim.kill();
      // While the cluster notices: requests fail with E_BACKEND or succeed, the daemon stays up.
      let failures = 0;
      const until = Date.now() + 30_000;
      let back: Uint8Array | undefined;
      while (Date.now() < until) {
        try {
          back = await c.read(0, 1 << 20);
          break;
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'E_BACKEND', (e as Error).message);
          failures++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.ok(back, 'the data did not come back within 30 s of the master being killed');
      assert.deepEqual(new Uint8Array(back), data);
      // The promoted replica has no replica of its own: with wait=1 a write is refused (E_BACKEND) rather
      // than acknowledged undurably, until the killed node is back (it rejoins as the new master's replica).
      const more = testBytes(4096, 78);
      await expectCode(c.write(8192, more), 'E_BACKEND');
      await victim.restart();
      let wrote = false;
      for (const stop = Date.now() + 30_000; !wrote && Date.now() < stop; ) {
        wrote = await c.write(8192, more).then(
          () => true,
          () => new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
        );
      }
      assert.ok(wrote, 'writes did not resume after the killed node came back');
      assert.deepEqual(new Uint8Array(await c.read(8192, 4096)), more);
      process.stderr.write(`# failover: ${failures} requests answered E_BACKEND before the data was back\n`);
    } finally {
      await c.close();
      await d.close();
    }
  });
});

describe('redis backend faults', { skip }, () => {
  it('Redis unreachable at start: serve prints one line naming it and exits 1', async () => {
    const port = await freePort();
    const r = spawnSync(process.execPath, ['bin/shimpack.js', 'serve', '--port', '0', '--lanes', '1', '--backend', `redis://127.0.0.1:${port}`], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`cannot use Redis redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });

  it('a bad --backend URL is a usage error naming the fault', () => {
    const r = spawnSync(process.execPath, ['bin/shimpack.js', 'serve', '--backend', 'redis://127.0.0.1:6379?wait=x'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /wait must be a number of replicas/);
  });

  it('a daemon with another channel layout on the same prefix is refused at start', async () => {
    const s = await startRedis();
    try {
      const a = await startTestDaemon({ backend: s.url, channel: '0/2' });
      await a.close();
      await assert.rejects(startTestDaemon({ backend: s.url, channel: '0/3' }), (e: Error) => e instanceof BackendOpenError && /another channel layout \(channels=2 granule=4096\)/.test(e.message));
      // Another prefix is another store.
      const b = await startTestDaemon({ backend: `${s.url}?prefix=other`, channel: '0/3' });
      await b.close();
    } finally {
      await s.stop();
    }
  });

  it('Redis lost while running: E_BACKEND, no crash, no acknowledged write lost, service resumes when it is back', async () => {
    const s = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    const d = await startTestDaemon({ backend: s.url, sync: 'always', backendTimeoutMs: 2000 });
    const c = await connect(d);
    try {
      await c.region({ name: 'a', base: 0, size: 256 * 1024, dtype: 'int8', kind: 'activation', codec: 'ebpc' });
      const data = testBytes(256 * 1024, 9);
      await c.write(0, data);
      await s.kill();
      await expectCode(c.write(0, testBytes(4096, 10)), 'E_BACKEND');
      await expectCode(c.read(0, 4096), 'E_BACKEND');
      const health = await fetch(`http://127.0.0.1:${d.port}/healthz`);
      assert.equal(health.status, 200);
      await s.restart(); // replays its append-only file
      const until = Date.now() + 20_000;
      let back: Uint8Array | undefined;
      while (!back && Date.now() < until) {
        back = await c.read(0, 256 * 1024).catch(() => undefined);
        if (!back) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(back, 'service did not resume');
      // The failed write may or may not have landed (whole blocks); everything else is what was acknowledged.
      assert.deepEqual(new Uint8Array(back).subarray(4096), data.subarray(4096));
      const next = testBytes(4096, 11);
      await c.write(0, next);
      assert.deepEqual(new Uint8Array(await c.read(0, 4096)), next);
    } finally {
      await c.close();
      await d.close();
      await s.stop();
    }
  });

  it('address spaces live under their own key prefixes; a restarted daemon brings each region back into its space', async () => {
    const s = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-spaces-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, 'alice-0123456789abcdef alice\nbob-0123456789abcdefgh bob\n');
    try {
      // --sync always: every acknowledged write is in Redis at its ack (not in a line buffer).
      let d = await startTestDaemon({ backend: s.url, tokenFile: file, sync: 'always' });
      const alice = await connect(d, { token: 'alice-0123456789abcdef' });
      const bob = await connect(d, { token: 'bob-0123456789abcdefgh' });
      for (const c of [alice, bob]) await c.region({ name: 'same', base: 0, size: 8192, dtype: 'int8', kind: 'other', codec: 'raw' });
      await alice.write(0, testBytes(8192, 1));
      await bob.write(0, testBytes(8192, 2));
      await alice.close();
      await bob.close();
      const keys = spawnSync('redis-cli', ['-p', String(s.port), '--scan', '--pattern', 'shimpack:ch0of1:*'], { encoding: 'utf8' }).stdout.trim().split('\n').sort();
      assert.equal(keys.length, 2, keys.join(' '));
      assert.match(keys[0], /^shimpack:ch0of1:s=alice:\{/);
      assert.match(keys[1], /^shimpack:ch0of1:s=bob:\{/);
      await d.close();
      d = await startTestDaemon({ backend: s.url, tokenFile: file });
      const a2 = await connect(d, { token: 'alice-0123456789abcdef' });
      const b2 = await connect(d, { token: 'bob-0123456789abcdefgh' });
      assert.deepEqual(new Uint8Array(await a2.read(0, 8192)), testBytes(8192, 1));
      assert.deepEqual(new Uint8Array(await b2.read(0, 8192)), testBytes(8192, 2));
      await a2.close();
      await b2.close();
      await d.close();
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Redis out of memory: writes fail with E_BACKEND, blocks they would have created read as never written, acknowledged ones intact', async () => {
    const s = await startRedis(['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction']);
    // --sync always: each write reaches Redis before its answer, so the refusal answers the write itself.
    const d = await startTestDaemon({ backend: s.url, sync: 'always' });
    const c = await connect(d);
    try {
      const size = 8 << 20;
      await c.region({ name: 'full', base: 0, size, dtype: 'int8', kind: 'other', codec: 'raw' });
      const acked: number[] = [];
      let refused = -1;
      for (let k = 0; k < size / 4096; k++) {
        try {
          await c.write(k * 4096, testBytes(4096, k + 1));
          acked.push(k);
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'E_BACKEND', (e as Error).message);
          refused = k;
          break;
        }
      }
      assert.ok(refused > 0, 'Redis never refused a write');
      for (const k of acked) assert.deepEqual(new Uint8Array(await c.read(k * 4096, 4096)), testBytes(4096, k + 1));
      // The refused block, and one never written, read as zeros (not E_BACKEND: nothing was lost).
      assert.deepEqual(new Uint8Array(await c.read(refused * 4096, 4096)), new Uint8Array(4096));
      assert.deepEqual(new Uint8Array(await c.read(size - 4096, 4096)), new Uint8Array(4096));
      // Freeing makes room (Redis frees UNLINKed keys in the background): writes go on.
      await c.free('full');
      await c.region({ name: 'again', base: 0, size: 4096, dtype: 'int8', kind: 'other', codec: 'raw' });
      let wrote = false;
      for (const stop = Date.now() + 10_000; !wrote && Date.now() < stop; ) {
        wrote = await c.write(0, testBytes(4096, 5)).then(
          () => true,
          () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
        );
      }
      assert.ok(wrote, 'writes did not resume after the free');
    } finally {
      await c.close();
      await d.close();
      await s.stop();
    }
  });

  it('kill -9 of the daemon under write load, 2 restarts on the same Redis: every acknowledged write reads back', async () => {
    const s = await startRedis();
    try {
      const r = await runKillLoop({ restarts: 2, dir: '', backend: s.url, seed: 1616, loadMs: [200, 500] });
      assert.deepEqual(r.findings, []);
      assert.equal(r.restarts, 2);
      assert.ok(r.ackedWrites > 20, `acknowledged writes: ${r.ackedWrites}`);
      assert.equal(r.blocksVerified, 2 * 128);
    } finally {
      await s.stop();
    }
  });
});
