import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes } from './helpers.ts';
import { ROOT } from './root.ts';

const tmp = mkdtempSync(join(tmpdir(), 'shimpack-cli-'));

function shimpack(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, input, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('shimpack compress / decompress / inspect', () => {
  const data = randomBytes(30000, 9).map((v, i) => (i % 3 === 0 ? v : 0));
  const input = join(tmp, 'in.bin');
  writeFileSync(input, data);

  it('round-trips through files and reports the ratio', () => {
    const out = join(tmp, 'in.shpk');
    const c = shimpack(['compress', '--codec', 'zvc', '--dtype', 'uint8', '--block-size', '2048', input, '-o', out]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /30000 -> \d+ bytes/);
    const d = shimpack(['decompress', out, '-o', join(tmp, 'back.bin')]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(join(tmp, 'back.bin'))), data);
    const i = shimpack(['inspect', out]);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stdout.toString(), /codec\s+zvc/);
    assert.match(i.stdout.toString(), /blocks\s+15 /);
    const j = JSON.parse(shimpack(['inspect', '--json', out]).stdout.toString());
    assert.equal(j.rawBytes, 30000);
    assert.equal(j.blockSize, 2048);
  });

  it('streams through stdin and stdout with -', () => {
    const c = shimpack(['compress', '--codec', 'zvc', '-', '-o', '-'], data);
    assert.equal(c.code, 0, c.stderr);
    const d = shimpack(['decompress', '-', '-o', '-'], c.stdout);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(new Uint8Array(d.stdout), data);
  });

  it('corrupt input exits 1 with one line', () => {
    const bad = join(tmp, 'bad.shpk');
    writeFileSync(bad, 'definitely not a container');
    const r = shimpack(['decompress', bad, '-o', join(tmp, 'x')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /E_BAD_MAGIC/);
    const missing = shimpack(['compress', '--codec', 'zvc', join(tmp, 'nope.bin'), '-o', join(tmp, 'x')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*ENOENT/);
  });

  it('--fit-bytes fits the table to a prefix, as the daemon fits a region to its first writes', () => {
    // The first 4 KiB hold values 200-207, the rest small values (skewed towards 0): a table fitted to the prefix codes the rest worse.
    const t = randomBytes(65536, 21).map((v, i) => (i < 4096 ? 200 | (v & 7) : (v * v) >> 10));
    const file = join(tmp, 'fit.bin');
    writeFileSync(file, t);
    const whole = shimpack(['compress', '--codec', 'apack', file, '-o', join(tmp, 'fit-whole.shpk')]);
    const prefix = shimpack(['compress', '--codec', 'apack', '--fit-bytes', '4096', file, '-o', join(tmp, 'fit-prefix.shpk')]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(prefix.code, 0, prefix.stderr);
    assert.ok(readFileSync(join(tmp, 'fit-prefix.shpk')).length > readFileSync(join(tmp, 'fit-whole.shpk')).length);
    const d = shimpack(['decompress', join(tmp, 'fit-prefix.shpk'), '-o', '-']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(new Uint8Array(d.stdout), t);
    // A prefix longer than the tensor is the whole tensor.
    const all = shimpack(['compress', '--codec', 'apack', '--fit-bytes', '1000000', file, '-o', join(tmp, 'fit-all.shpk')]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(readFileSync(join(tmp, 'fit-all.shpk')), readFileSync(join(tmp, 'fit-whole.shpk')));
    const bad = shimpack(['compress', '--codec', 'apack', '--fit-bytes', '0', file, '-o', join(tmp, 'x')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fit-bytes/);
  });

  it('usage errors exit 2', () => {
    assert.equal(shimpack(['compress', '--codec', 'lz4', input, '-o', join(tmp, 'x')]).code, 2);
    assert.equal(shimpack(['compress', '--block-size', '3', '--codec', 'zvc', input, '-o', join(tmp, 'x')]).code, 2);
    assert.equal(shimpack(['compress', input]).code, 2); // no -o
    assert.equal(shimpack(['frobnicate']).code, 2);
    assert.equal(shimpack(['--help']).code, 0);
  });
});
