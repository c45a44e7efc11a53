import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { runKillLoop } from '../daemon/fuzz/kill-loop.ts';
import { configWith } from '../daemon/config.ts';
import { startDaemon } from '../daemon/server/daemon.ts';
import { testBytes } from './daemon-harness.ts';

describe('file backend: crash consistency and restart', () => {
  it('kill -9 under write load (singles and writev), 20 restarts: every acknowledged write reads back exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-kill9-'));
    try {
      const r = await runKillLoop({ restarts: 20, dir, seed: 20240 });
      assert.deepEqual(r.findings, []);
      assert.equal(r.restarts, 20);
      assert.ok(r.ackedWrites > 500, `acknowledged writes: ${r.ackedWrites}`);
      assert.ok(r.ackedVectors > 0, `acknowledged writev requests: ${r.ackedVectors}`);
      assert.equal(r.blocksVerified, 20 * 128);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the loop fails cleanly: a daemon that cannot start, or dies by itself, ends it with a finding and leaves no daemon running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-kill9-fail-'));
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      // --backend file:DIR where DIR is a regular file: serve exits before listening.
      const notDir = join(dir, 'plain-file');
      writeFileSync(notDir, 'x');
      const r1 = await runKillLoop({ restarts: 3, dir: notDir, seed: 1 });
      assert.equal(r1.findings.length, 1);
      assert.match(r1.findings[0], /^cycle 0: the daemon did not start: .*exited/);
      assert.equal(r1.restarts, 0);
      // A daemon that dies under load without our kill (here: killed from outside) is a finding, not a restart.
      const pids: number[] = [];
      const r2 = await runKillLoop({
        restarts: 3,
        dir: join(dir, 'log'),
        seed: 2,
        loadMs: [400, 400],
        onStart: (pid) => {
          pids.push(pid);
          if (pids.length === 2) setTimeout(() => process.kill(pid, 'SIGKILL'), 100);
        },
      });
      assert.ok(r2.restarts <= 1, r2.findings.join('; '));
      assert.ok(r2.findings.length >= 1);
      assert.match(r2.findings.join('; '), /cycle 1: .*the daemon exited by itself/);
      for (const pid of pids) assert.equal(alive(pid), false, `daemon ${pid} still running`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a clean restart keeps regions, calibration, codec tables, stats of held blocks; freed regions stay freed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-restart-'));
    const cfg = configWith({ host: '127.0.0.1', port: 0, lanes: 2, backend: `file:${dir}`, sync: 'always' });
    try {
      const d1 = await startDaemon(cfg);
      const c1 = await ShimpackClient.connect(d1.url);
      await c1.region({ name: 'w', base: 0, size: 65536, dtype: 'int8', kind: 'weight', codec: 'apack', blockBytes: 4096 });
      await c1.region({ name: 'gone', base: 1 << 20, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
      const data = testBytes(65536, 9, 0.3).map((v) => (v % 9) - 4);
      await c1.write(0, data);
      await c1.write(1 << 20, testBytes(4096, 2));
      await c1.free('gone');
      const before = (await c1.stats('w')).regions[0];
      await c1.close();
      await d1.close();
      const d2 = await startDaemon(cfg);
      const c2 = await ShimpackClient.connect(d2.url);
      const after = (await c2.stats()).regions;
      assert.deepEqual(after.map((x) => x.name), ['w']);
      assert.equal(after[0].calibration, 'first-write');
      for (const k of ['blocksHeld', 'storedBytes', 'rawBytesStored', 'blocksRaw', 'ratio'] as const) assert.equal(after[0][k], before[k], k);
      assert.deepEqual(await c2.read(0, 65536), Buffer.from(data));
      await assert.rejects(c2.read(1 << 20, 16), /E_OUT_OF_REGION|not inside/);
      // New regions get fresh ids: their blocks never mix with restored ones.
      await c2.region({ name: 'n', base: 1 << 21, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
      assert.deepEqual([...(await c2.read(1 << 21, 8))], [0, 0, 0, 0, 0, 0, 0, 0]);
      await c2.close();
      await d2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
