import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomBytes } from './helpers.ts';
import { ROOT, SHARED } from './root.ts';

const FLOAT_DIR = `${SHARED}data-float`;
const tmp = mkdtempSync(join(tmpdir(), 'shimpack-fpack-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function shimpack(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, input, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** bf16 bit patterns of ReLU'd values, with the neighbour 16 back correlated. */
function bf16Map(n: number): Uint8Array {
  const r = randomBytes(n, 5);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = Math.max(0, (i >= 16 ? 0.6 * f[i - 16] : 0) + (r[i] - 120) / 50);
  const u = new Uint32Array(f.buffer);
  const out = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = (u[i] >>> 16) & 255;
    out[2 * i + 1] = u[i] >>> 24;
  }
  return out;
}

describe('shimpack CLI with float dtypes and fpack', () => {
  it('compress --codec fpack round-trips through decompress, and inspect names it', () => {
    const data = bf16Map(30000);
    for (const extra of [[], ['--stride', '16'], ['--shape', '1,50,600,16', '--layout', 'NHWC']]) {
      const c = shimpack(['compress', '--codec', 'fpack', '--dtype', 'bfloat16', ...extra, '-', '-o', '-'], data);
      assert.equal(c.status, 0, c.stderr);
      assert.ok(c.stdout.length < 0.7 * data.length, `${extra.join(' ')}: ${c.stdout.length}`);
      const d = shimpack(['decompress', '-', '-o', '-'], c.stdout);
      assert.equal(d.status, 0, d.stderr);
      assert.ok(Buffer.from(d.stdout).equals(data));
      const i = shimpack(['inspect', '-'], c.stdout);
      assert.match(i.stdout.toString(), /fpack/);
      assert.match(i.stdout.toString(), /bfloat16/);
    }
    // fp8 modes by flag
    const fp8 = data.filter((_, k) => k % 2 === 1);
    for (const mode of ['split', 'whole', 'delta', 'palette']) {
      const c = shimpack(['compress', '--codec', 'fpack', '--dtype', 'float8_e4m3', '--stride', '16', '--fpack-mode', mode, '-', '-o', '-'], fp8);
      assert.equal(c.status, 0, c.stderr);
      assert.ok(Buffer.from(shimpack(['decompress', '-', '-o', '-'], c.stdout).stdout).equals(fp8), mode);
    }
    // palette on a 16-bit tensor of few distinct values
    const few = new Uint8Array(4000).map((_, k) => (k % 2 === 0 ? (k * 7) % 40 : 0x3c));
    const pc = shimpack(['compress', '--codec', 'fpack', '--dtype', 'bfloat16', '--fpack-mode', 'palette', '-', '-o', '-'], few);
    assert.equal(pc.status, 0, pc.stderr);
    assert.ok(Buffer.from(shimpack(['decompress', '-', '-o', '-'], pc.stdout).stdout).equals(few), 'palette');
    assert.match(shimpack(['inspect', '-'], pc.stdout).stdout.toString(), /palette mode, \d+ distinct values/);
    // raw and zvc take float dtypes as they are
    for (const codec of ['raw', 'zvc']) {
      const c = shimpack(['compress', '--codec', codec, '--dtype', 'float16', '-', '-o', '-'], data);
      assert.equal(c.status, 0, c.stderr);
      assert.ok(Buffer.from(shimpack(['decompress', '-', '-o', '-'], c.stdout).stdout).equals(data));
    }
  });

  it('bad input and usage errors: odd 16-bit lengths, unsupported pairs, modes that do not apply', () => {
    const odd = shimpack(['compress', '--codec', 'fpack', '--dtype', 'float16', '-', '-o', '-'], new Uint8Array(7));
    assert.equal(odd.status, 1);
    assert.match(odd.stderr, /even length/);
    const apack = shimpack(['compress', '--codec', 'apack', '--dtype', 'bfloat16', '-', '-o', '-'], new Uint8Array(8));
    assert.equal(apack.status, 2);
    assert.match(apack.stderr, /does not support dtype bfloat16/);
    const int8 = shimpack(['compress', '--codec', 'fpack', '--dtype', 'int8', '-', '-o', '-'], new Uint8Array(8));
    assert.equal(int8.status, 2);
    const mode = shimpack(['compress', '--codec', 'zvc', '--dtype', 'float16', '--fpack-mode', 'split', '-', '-o', '-'], new Uint8Array(8));
    assert.equal(mode.status, 2);
    assert.match(mode.stderr, /--fpack-mode is only for --codec fpack/);
    const delta16 = shimpack(['compress', '--codec', 'fpack', '--dtype', 'bfloat16', '--fpack-mode', 'delta', '-', '-o', '-'], new Uint8Array(8));
    assert.notEqual(delta16.status, 0);
    assert.match(delta16.stderr, /8-bit floats/);
  });

  it('trace gen needs --format on a float data set, and bench refuses an unknown format', { skip: !existsSync(join(FLOAT_DIR, 'manifest.json')) && 'no ../shared/data-float' }, () => {
    const g = shimpack(['trace', 'gen', '--data', FLOAT_DIR, '--model', 'faceapi-face-recognition-resnet', '-o', join(tmp, 'x.trace'), '-q']);
    assert.equal(g.status, 1);
    assert.match(g.stderr, /float32 tensors: give the float format/);
    const b = shimpack(['bench', 'ratio', '--data', FLOAT_DIR, '--format', 'fp32']);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--format takes all or a comma-separated list/);
  });
});
