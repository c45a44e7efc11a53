import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * User mistakes through the real CLI: one `shimpack: ...` line on stderr and
 * the documented exit status, never a stack trace.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'shimpack-robust-'));

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

function run(args: string[], entry: 'bin' | 'tsx' = 'bin', env: NodeJS.ProcessEnv = {}): Run {
  const pre = entry === 'bin' ? ['bin/shimpack.js'] : ['--import', 'tsx', 'daemon/cli/main.ts'];
  const r = spawnSync(process.execPath, [...pre, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: r.status, stderr: r.stderr.toString(), stdout: r.stdout.toString() };
}

/** Exactly one line, starting with `shimpack: `, matching `re`. */
function assertOneLine(r: Run, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^shimpack: /);
  assert.match(lines[0], re);
}

describe('unexpected errors: exit 70, one line', () => {
  const script = (debug: boolean): Run => {
    const code =
      "import { runCli } from './daemon/cli/main.ts';" +
      "setTimeout(() => { throw new Error('boom\\nsecond line'); }, 50);" +
      "await runCli(['node', 'shimpack', 'trace', '--help']);" +
      'await new Promise((r) => setTimeout(r, 1000));';
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      env: { ...process.env, SHIMPACK_DEBUG: debug ? '1' : '' },
    });
    return { code: r.status, stderr: r.stderr.toString(), stdout: r.stdout.toString() };
  };
  it('reports an error thrown from a callback as an internal error', () => {
    assertOneLine(script(false), 70, /^shimpack: internal error: boom \(set SHIMPACK_DEBUG=1/);
  });
  it('adds the stack with SHIMPACK_DEBUG=1', () => {
    const r = script(true);
    assert.equal(r.code, 70);
    assert.match(r.stderr, /^shimpack: internal error: boom\n/);
    assert.match(r.stderr, /at /);
  });
  it('documents exit 70 in the top-level help', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /70\s+internal error/);
  });
});

describe('trace info', () => {
  for (const entry of ['bin', 'tsx'] as const) {
    it(`a missing file is one line, exit 1 (${entry})`, () => {
      assertOneLine(run(['trace', 'info', join(tmp, 'missing.trace')], entry), 1, /missing\.trace.*ENOENT/);
    });
  }
});
