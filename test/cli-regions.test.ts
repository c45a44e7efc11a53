import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/server/spawn-daemon.ts';
import { DATA_DIR, hasData } from './helpers.ts';
import { ROOT } from './root.ts';

/**
 * `shimpack regions`, `shimpack free`, and replay's --space and
 * --address-offset, against a daemon in its own process, through real
 * processes (issue 13, items 2 and 6).
 */
const dir = mkdtempSync(join(tmpdir(), 'shimpack-regions-'));
const trace = join(dir, 'tiny.trace');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function shimpack(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe('regions, free and replay placement through the CLI', { skip: !hasData && 'no ../shared/data' }, () => {
  let d: SpawnedDaemon;
  const url = (): string => d.url;
  const regionsOf = (space?: string): { name: string; base: number }[] => {
    const r = shimpack('regions', '--url', url(), '--json', ...(space ? ['--space', space] : []));
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { regions: { name: string; base: number }[] }).regions;
  };

  before(async () => {
    d = await spawnDaemon(['--port', '0', '--lanes', '1']);
    const g = shimpack('trace', 'gen', '--data', DATA_DIR, '--model', 'faceapi-tiny-face-detector', '-o', trace, '-q');
    assert.equal(g.code, 0, g.stderr);
  });
  after(async () => {
    await d?.stop();
  });

  it('replay -q and --json on a truncated trace exit 1 with E_TRACE_TRUNCATED and leave no region behind', () => {
    const whole = readFileSync(trace);
    const cut = join(dir, 'cut.trace');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    for (const flag of ['-q', '--json']) {
      const r = shimpack('replay', cut, '--url', url(), flag);
      assert.equal(r.code, 1, `${flag}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^shimpack: E_TRACE_TRUNCATED/);
      assert.deepEqual(regionsOf(), [], `${flag}: regions left in the daemon`);
    }
  });

  it('a second replay of the same trace works with --address-offset or --space; regions lists them; free drops them', async () => {
    const first = shimpack('replay', trace, '--url', url(), '-q', '--keep-regions');
    assert.equal(first.code, 0, first.stderr);
    const held = regionsOf();
    assert.ok(held.length > 1);
    const text = shimpack('regions', '--url', url());
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout.split('\n')[0], /^name\s+base\s+size\s+codec/);
    for (const r of held) assert.ok(text.stdout.includes(r.name));

    // As before: the same addresses collide.
    const clash = shimpack('replay', trace, '--url', url(), '-q');
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /E_REGION_(OVERLAP|EXISTS)/);

    // Placed 4 GiB higher with other names, in the same space: no collision, every read verified.
    const offset = 2 ** 32;
    const moved = shimpack('replay', trace, '--url', url(), '--json', '--keep-regions', '--address-offset', `0x${offset.toString(16)}`, '--name-prefix', 'b/');
    assert.equal(moved.code, 0, moved.stderr);
    const summary = JSON.parse(moved.stdout) as { mismatches: number; errors: number; verifiedReads: number };
    assert.equal(summary.mismatches, 0);
    assert.equal(summary.errors, 0);
    assert.ok(summary.verifiedReads > 0);
    const both = regionsOf();
    assert.equal(both.length, 2 * held.length);
    for (const h of held) assert.equal(both.find((r) => r.name === `b/${h.name}`)?.base, h.base + offset);
    assert.equal(shimpack('free', '--url', url(), ...held.map((h) => `b/${h.name}`)).code, 0);

    // In its own address space at the same addresses, kept there.
    const own = shimpack('replay', trace, '--url', url(), '-q', '--keep-regions', '--space', 'moved');
    assert.equal(own.code, 0, own.stderr);
    const movedRegions = regionsOf('moved');
    assert.equal(movedRegions.length, held.length);
    for (const r of movedRegions) assert.equal(r.base, held.find((h) => h.name === r.name)!.base);

    // Its own address space, same addresses: no collision either; freed at the end as usual.
    const spaced = shimpack('replay', trace, '--url', url(), '-q', '--space', 'second');
    assert.equal(spaced.code, 0, spaced.stderr);
    assert.deepEqual(regionsOf('second'), []);

    // free: by name, an unknown name (exit 1, the others still freed), usage errors, --all.
    const one = shimpack('free', '--url', url(), held[0].name, 'no-such-region', held[1].name);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /no-such-region: E_NO_SUCH_REGION/);
    assert.equal(regionsOf().length, held.length - 2);
    assert.equal(shimpack('free', '--url', url()).code, 2);
    assert.equal(shimpack('free', '--url', url(), '--all', held[2].name).code, 2);
    const all = shimpack('free', '--url', url(), '--all');
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(regionsOf(), []);
    assert.equal(regionsOf('moved').length, held.length, 'another space is untouched');
    assert.equal(shimpack('free', '--url', url(), '--all', '--space', 'moved').code, 0);
    // The daemon agrees.
    const c = await ShimpackClient.connect(url(), { space: 'moved' });
    assert.equal((await c.stats()).regions.length, 0);
    await c.close();
  });

  it('regions with no daemon: one line, exit 1', () => {
    const r = shimpack('regions', '--url', 'ws://127.0.0.1:9/');
    assert.equal(r.code, 1);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^shimpack: cannot connect to ws:\/\/127\.0\.0\.1:9\//);
  });
});
