import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/server/spawn-daemon.ts';
import { ROOT } from './root.ts';

/**
 * User mistakes through the real CLI: one `shimpack: ...` line on stderr and
 * the documented exit status, never a stack trace.
 */
const tmp = mkdtempSync(join(tmpdir(), 'shimpack-robust-'));

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

function run(args: string[], entry: 'bin' | 'dist' = 'bin', env: NodeJS.ProcessEnv = {}): Run {
  const pre = entry === 'bin' ? ['bin/shimpack.js'] : ['dist/daemon/cli/main.js'];
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
      "import { runCli } from './dist/daemon/cli/main.js';" +
      "setTimeout(() => { throw new Error('boom\\nsecond line'); }, 50);" +
      "await runCli(['node', 'shimpack', 'trace', '--help']);" +
      'await new Promise((r) => setTimeout(r, 1000));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
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
  for (const entry of ['bin', 'dist'] as const) {
    it(`a missing file is one line, exit 1 (${entry})`, () => {
      assertOneLine(run(['trace', 'info', join(tmp, 'missing.trace')], entry), 1, /missing\.trace.*ENOENT/);
    });
  }
});

describe('serve refuses to start with one line', () => {
  it('a port already taken: exit 1, EADDRINUSE, no recording left behind', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const rec = join(tmp, 'taken.trace');
    try {
      // spawnSync would block the event loop that keeps the blocker listening; it does not need to accept.
      assertOneLine(run(['serve', '--lanes', '1', '--port', String(port), '--record', rec]), 1, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      assert.equal(existsSync(rec), false);
    } finally {
      blocker.close();
    }
  });
  it('an address not on this machine: exit 1, EADDRNOTAVAIL', () => {
    assertOneLine(run(['serve', '--lanes', '1', '--host', '192.0.2.1', '--token', 'x']), 1, /cannot listen on 192\.0\.2\.1:\d+: EADDRNOTAVAIL/);
  });
  it('a non-loopback address without a token: usage error, exit 2', () => {
    assertOneLine(run(['serve', '--lanes', '1', '--host', '0.0.0.0'], 'dist'), 2, /0\.0\.0\.0.*needs a token/);
  });
  it('a missing --token-file: exit 1', () => {
    assertOneLine(run(['serve', '--lanes', '1', '--token-file', join(tmp, 'missing.tok')]), 1, /cannot read --token-file .*missing\.tok: ENOENT/);
  });
  it('a malformed --token-file: exit 1 with the line number', () => {
    const f = join(tmp, 'bad.tok');
    writeFileSync(f, '# tokens\nshort space\n');
    assertOneLine(run(['serve', '--lanes', '1', '--token-file', f]), 1, /bad\.tok:2: expected/);
  });
  it('an unwritable --record path is refused at startup, exit 1', () => {
    assertOneLine(run(['serve', '--lanes', '1', '--port', '0', '--record', join(tmp, 'no', 'dir', 'rec.trace')]), 1, /--record: cannot write trace .*rec\.trace: ENOENT/);
  });
});

describe('trace gen / import to an unwritable output', () => {
  it('import: one line, exit 1', () => {
    const input = join(tmp, 'd.trace');
    writeFileSync(input, '0x40 READ 1\n0x80 WRITE 2\n');
    for (const out of [join(tmp, 'no', 'x.trace'), join(tmp, 'no', 'x.trace.gz')]) {
      assertOneLine(run(['trace', 'import', '--from', 'dramsim3', input, '-q', '-o', out]), 1, /E_TRACE_IO: cannot write trace .*: ENOENT/);
    }
  });
});

describe('replay', () => {
  let daemon: SpawnedDaemon;
  const trace = join(tmp, 'small.trace');
  before(async () => {
    const input = join(tmp, 'replay-input.trace');
    writeFileSync(input, '0x40 READ 1\n0x80 WRITE 2\n');
    assert.equal(run(['trace', 'import', '--from', 'dramsim3', input, '-q', '-o', trace]).code, 0);
    daemon = await spawnDaemon(['--port', '0', '--lanes', '1']);
  });
  after(async () => {
    assert.equal(await daemon.stop(), 0, daemon.stderr());
  });

  it('an http:// --url is a usage error', () => {
    assertOneLine(run(['replay', trace, '-q', '--url', 'http://127.0.0.1:7420/']), 2, /--url must be a ws:\/\/ or wss:\/\/ URL/);
  });
  it('a daemon that is not there: one line naming the URL once', () => {
    const r = run(['replay', trace, '-q', '--url', 'ws://127.0.0.1:1/']);
    assertOneLine(r, 1, /cannot connect to ws:\/\/127\.0\.0\.1:1\/: .*ECONNREFUSED/);
    assert.equal(r.stderr.split('cannot connect').length, 2, r.stderr);
  });
  it('one pass ends at "pass 1"; the summary explains bursts; a refused region stops the replay with exit 1', () => {
    const first = run(['replay', trace, '--keep-regions', '--url', daemon.url]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /pass 1,/);
    assert.doesNotMatch(first.stderr, /pass 2/);
    assert.match(first.stdout, /1 pass\(es\)/);
    assert.match(first.stdout, /DRAM bursts exceed raw bursts .*docs\/daemon\.md/);
    // the regions are still there: the next replay cannot declare them, and must not loop on errors
    const again = run(['replay', trace, '-q', '--loop', '--duration', '30', '--url', daemon.url]);
    assertOneLine(again, 1, /E_REPLAY: the daemon refused region .* E_REGION_EXISTS/);
  });
});

describe('--help', () => {
  const help = (args: string[]): string => {
    const r = run([...args, '--help']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.replace(/\s+/g, ' ');
  };
  it('serve: no empty defaults, machine-independent --max-memory, status page, exit statuses', () => {
    const h = help(['serve']);
    assert.doesNotMatch(h, /default \)/);
    assert.match(h, /--token-file .*?default none\)/);
    assert.match(h, /--record .*?default none\)/);
    assert.match(h, /--max-memory .*?default half of RAM\)/);
    assert.match(h, /status page at \//);
    assert.match(h, /Exit status: 0 .* 70 internal error/);
  });
  it('required options say so; every command family states the exit statuses', () => {
    assert.match(help(['trace', 'gen']), /--model <id> model id in the data set manifest \(required\)/);
    assert.match(help(['compress']), /\(required\)/);
    for (const cmd of [['trace'], ['trace', 'gen'], ['trace', 'import'], ['trace', 'info'], ['compress'], ['ebpc'], ['bench'], ['bench', 'ratio'], ['replay']]) {
      assert.match(help(cmd), /Exit status: 0 .*1 .*2 usage error.* 70 internal error/, cmd.join(' '));
    }
  });
  it('trace import --kind shows its default', () => {
    assert.match(help(['trace', 'import']), /--kind <kind> .*\(default: activation/);
  });
});
