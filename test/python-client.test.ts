// Runs the Python client's unittest suite (clients/python/tests) under Debian's
// /usr/bin/python3, so `npm test` covers it. The suite starts its own daemon.
// Skipped, with the reason, where that Python lacks msgpack or websockets (CI
// installs python3-msgpack and python3-websockets; see .ci/run).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT as REPO } from './root.ts';

const PYTHON = '/usr/bin/python3';

function whySkip(): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (Debian: apt-get install python3)`;
  const probe = spawnSync(PYTHON, ['-c', 'import msgpack, websockets'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return `${PYTHON} cannot import msgpack and websockets (apt-get install python3-msgpack python3-websockets): ${probe.stderr.trim().split('\n').pop() ?? ''}`;
  }
  return false;
}

const skip = whySkip();

test('Python client: unittest suite against a real daemon', { skip, timeout: 120_000 }, () => {
  const run = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 110_000,
    // The suite puts clients/python on sys.path itself; a pyenv PYTHONPATH must not leak in.
    env: { ...process.env, PYTHONPATH: '', PYTHONDONTWRITEBYTECODE: '1' },
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  assert.equal(run.error, undefined, `could not run ${PYTHON}: ${run.error?.message}\n${output}`);
  assert.equal(run.status, 0, `Python client tests failed (exit ${run.status}, signal ${run.signal}):\n${output}`);
  // A discovery mistake would run nothing and still exit 0.
  const ran = /Ran (\d+) tests?/.exec(output);
  assert.ok(ran && Number(ran[1]) >= 20, `expected the Python suite to run its tests:\n${output}`);
});
