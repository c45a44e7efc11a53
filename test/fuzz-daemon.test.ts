import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runDaemonFuzz } from '../daemon/fuzz/daemon-fuzz.ts';
import { runMisuse } from '../daemon/fuzz/misuse.ts';
import { RawConnection } from '../daemon/fuzz/raw-connection.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { heapMiB } from './heap.ts';
import { ROOT } from './root.ts';

/** Quick daemon fuzz over real sockets (the long run is `npm run fuzz`). */
describe('daemon fuzzing', () => {
  const maxFrameBytes = 1 << 20;
  let d: RunningDaemon;
  before(async () => {
    d = await startTestDaemon({ maxFrameBytes });
  });
  after(async () => {
    await d.close();
  });

  it('garbage, mutated and hostile frames get documented answers; a verify loop on another connection is unaffected; memory stays flat', async () => {
    const warm = await runDaemonFuzz({ url: d.url, cases: 800, seed: 11, maxFrameBytes });
    assert.deepEqual(warm.findings, []);
    const heap0 = heapMiB();
    const s = await runDaemonFuzz({ url: d.url, cases: 4000, seed: 12, maxFrameBytes, connections: 3 });
    assert.deepEqual(s.findings, []);
    assert.equal(s.cases, 4000);
    assert.ok(s.closes > 100, 'unparseable frames were generated and closed connections');
    assert.ok(s.errorAnswers > 1000 && s.answers > s.errorAnswers, `answers ${s.answers}, errors ${s.errorAnswers}`);
    assert.ok(s.verifyOps > 50, `verify ops ${s.verifyOps}`);
    for (const k of ['deep', 'huge-length', 'text', 'byte-mutant', 'garbage-batch']) assert.ok((s.byClass[k] ?? 0) > 100, k);
    const grown = heapMiB() - heap0;
    assert.ok(grown < 25, `heap grew by ${grown.toFixed(1)} MiB`);
    // Everything the fuzzers declared was freed: nothing stays in the daemon.
    assert.equal(d.engine.regions.size, 0);
    assert.equal(d.engine.backend.blocksHeld(), 0);
  });

  it('protocol misuse: no hello, freed regions, writes racing free', async () => {
    for (let i = 0; i < 5; i++) assert.deepEqual(await runMisuse(d.url, undefined, i), []);
  });

  it('a frame far above the limit is not read: the connection closes with 1009 and the daemon serves others', async () => {
    const c = await RawConnection.open(d.url);
    const got = await c.exchange(new Uint8Array(maxFrameBytes * 2 + (2 << 20)), true);
    assert.equal(got, 'closed');
    assert.equal(c.closedWith, 1009);
    const k = await RawConnection.open(d.url);
    assert.equal((await k.call({ op: 'hello', id: 1, version: 1 })).ok, true);
    k.close();
  });
});

describe('npm run fuzz fails clearly', () => {
  const root = ROOT;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, ['dist/daemon/fuzz/main.js', ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  };

  it('a daemon that cannot start: one clear line, exit 1; a bad option: exit 2', () => {
    // The spawned daemon inherits the environment: a backend setting it refuses.
    const r = run(['--codec-cases', '0', '--daemon-cases', '10', '--seed', '1'], { SHIMPACK_BACKEND: 'nowhere' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /daemon: FAILED to start: .*backend must be "memory", "file:DIR"/);
    assert.match(r.stderr, /FINDINGS/);
    const u = run(['--daemon-cases', 'many']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /--daemon-cases must be a whole number/);
    const c = run(['--daemon-connections', '0']);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /--daemon-connections must be at least 1/);
    const o = run(['--frobnicate']);
    assert.equal(o.status, 2);
    assert.match(o.stderr, /--help lists the options/);
  });

  it('--help names every option and the 1,000,000-frame command, exit 0', () => {
    const r = spawnSync(process.execPath, ['dist/daemon/fuzz/main.js', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    for (const opt of ['--codec-cases', '--daemon-cases', '--daemon-connections', '--kill-restarts', '--daemon-seconds', '--kill-seconds', '--seed']) assert.ok(r.stdout.includes(opt), opt);
    assert.match(r.stdout, /--daemon-cases 1000000/);
  });
});
