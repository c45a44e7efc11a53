// shimpack compress/decompress/inspect with the context codec (scc), its
// --stride, --shape, --layout and --kind options, and their usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_DATA_DIR, loadDataset, readTensor, type TensorEntry } from '../daemon/dataset/manifest.ts';
import { ROOT } from './root.ts';

const tmp = mkdtempSync(join(tmpdir(), 'shimpack-scc-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 'manifest.json'));

function shimpack(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, input, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A tensor of the shared data set by the end of its file name, written to tmp. */
function tensor(fileEnd: string): { t: TensorEntry; bytes: Uint8Array; path: string } {
  const ds = loadDataset();
  const t = ds.tensors.find((x) => x.file.endsWith(fileEnd));
  assert.ok(t, `no tensor ${fileEnd} in the data set`);
  const bytes = readTensor(ds, t);
  const path = join(tmp, fileEnd.replace(/\//g, '_'));
  writeFileSync(path, bytes);
  return { t, bytes, path };
}

describe('compress --stride/--shape/--layout/--kind: usage errors (exit 2, one line)', () => {
  const input = join(tmp, 'small.bin');
  writeFileSync(input, Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0x3f));
  const out = join(tmp, 'x.shpk');

  it('the options belong to scc: with another codec they are a usage error naming them', () => {
    for (const [extra, named] of [
      [['--stride', '16'], /--stride is only for --codec scc\/fpack \(zvc does not use it\)/],
      [['--kind', 'weight'], /--kind is only for --codec scc/],
      [['--shape', '1,4,4,16', '--layout', 'NHWC'], /--shape, --layout are only for --codec scc/],
    ] as const) {
      const r = shimpack(['compress', '--codec', 'zvc', ...extra, input, '-o', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, named);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('bad values: --stride outside 1 ... 65535 or not a number, --shape not numbers, --kind unknown', () => {
    for (const extra of [
      ['--stride', '0'],
      ['--stride', '65536'],
      ['--stride', '1.5'],
      ['--stride', 'C'],
      ['--shape', '1,a,4', '--layout', 'HWC'],
      ['--shape', '1,0,4', '--layout', 'HWC'],
      ['--kind', 'bias'],
    ]) {
      const r = shimpack(['compress', '--codec', 'zvc', ...extra, input, '-o', out]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^shimpack: --(stride|shape|kind) /, extra.join(' '));
    }
  });

  it('scc without a stride, with half of --shape/--layout, a bad layout, a wrong rank, or a disagreeing --stride', () => {
    const cases: [string[], RegExp][] = [
      [[], /--codec scc needs the tensor's stride: --stride N .* or --shape and --layout/],
      [['--shape', '1,4,4,16'], /--shape and --layout go together/],
      [['--layout', 'NHWC'], /--shape and --layout go together/],
      [['--shape', '1,4,4,16', '--layout', 'NWHC'], /unknown layout "NWHC"/],
      [['--shape', '4,4,16', '--layout', 'NHWC'], /layout NHWC needs a shape of 4 dimensions, got 3/],
      [['--shape', '1,4,4,16', '--layout', 'NHWC', '--stride', '8'], /--stride 8 disagrees with --shape 1,4,4,16 --layout NHWC, which give 16/],
      [['--shape', '1,1,1,70000', '--layout', 'NHWC'], /stride must be an integer 1 \.\.\. 65535, got 70000/],
    ];
    for (const [extra, message] of cases) {
      const r = shimpack(['compress', '--codec', 'scc', ...extra, input, '-o', out]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, extra.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    // scc takes 8-bit data only
    const r = shimpack(['compress', '--codec', 'scc', '--dtype', 'int16', '--stride', '4', input, '-o', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /codec scc does not support dtype int16/);
  });

  it('--help explains the stride', () => {
    const r = shimpack(['compress', '--help']);
    assert.equal(r.code, 0);
    for (const want of [/--stride <n>/, /--shape <dims>/, /--layout <layout>/, /--kind <kind>/, /C for NHWC\/HWC activations, O for HWIO/, /C\*M for depthwise HWCM/, /--codec scc .*--stride/]) {
      assert.match(r.stdout, want);
    }
  });
});

describe('compress --codec scc round trips on real tensors', { skip: !HAVE_DATA && 'no ../shared/data' }, () => {
  /** Compress, decompress, compare; returns the container and inspect's JSON. */
  function roundTrip(path: string, bytes: Uint8Array, args: string[]): { container: Uint8Array; info: Record<string, unknown>; text: string } {
    const shpk = `${path}.${args.join('_').replace(/[^\w]/g, '')}.shpk`;
    const c = shimpack(['compress', ...args, path, '-o', shpk]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, new RegExp(`${bytes.length} -> \\d+ bytes`));
    const back = `${shpk}.back`;
    const d = shimpack(['decompress', shpk, '-o', back]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(back)), bytes, 'byte-exact round trip');
    const j = shimpack(['inspect', '--json', shpk]);
    assert.equal(j.code, 0, j.stderr);
    const t = shimpack(['inspect', shpk]);
    assert.equal(t.code, 0, t.stderr);
    return { container: new Uint8Array(readFileSync(shpk)), info: JSON.parse(j.stdout) as Record<string, unknown>, text: t.stdout };
  }

  it('an NHWC uint8 activation: --stride and --shape/--layout give the same container, smaller than APack; inspect shows the configuration', () => {
    const { t, bytes, path } = tensor('faceapi-sample1-face0/001_conv32_1_conv1_conv.u8.bin');
    const c = t.shape[3];
    const byStride = roundTrip(path, bytes, ['--codec', 'scc', '--dtype', 'uint8', '--kind', 'activation', '--stride', String(c)]);
    const byShape = roundTrip(path, bytes, ['--codec', 'scc', '--dtype', 'uint8', '--kind', 'activation', '--shape', t.shape.join(','), '--layout', t.layout]);
    assert.deepEqual(byShape.container, byStride.container, 'the derived stride is the given one');
    const apack = roundTrip(path, bytes, ['--codec', 'apack', '--dtype', 'uint8']);
    assert.equal(byStride.info.codec, 'scc');
    assert.ok((byStride.info.footprint as number) < (apack.info.footprint as number), `scc ${byStride.info.footprint} vs apack ${apack.info.footprint}`);
    // the model's describe(): the stride and the configurations chosen
    assert.match(String(byStride.info.params), new RegExp(`\\b${c}\\b`), `params: ${byStride.info.params}`);
    assert.match(byStride.text, /codec\s+scc/);
    assert.match(byStride.text, /parameters\s+\S/);
  });

  it('an HWIO int8 weight with --kind weight, and without --kind', () => {
    const { t, bytes, path } = tensor('weights/020_MobilenetV1_Conv2d_4_pointwise_weights.i8.bin');
    const w = roundTrip(path, bytes, ['--codec', 'scc', '--dtype', 'int8', '--kind', 'weight', '--shape', t.shape.join(','), '--layout', t.layout]);
    assert.ok((w.info.footprint as number) < 1, `footprint ${w.info.footprint}`);
    roundTrip(path, bytes, ['--codec', 'scc', '--dtype', 'int8', '--stride', String(t.shape[3])]);
  });

  it('odd inputs: empty, shorter than the stride, a stride larger than a block, stride 1, through stdin/stdout', () => {
    const odd: [string, Uint8Array, string][] = [
      ['empty', new Uint8Array(0), '64'],
      ['short', Uint8Array.from({ length: 50 }, (_, i) => i), '64'],
      ['big-stride', Uint8Array.from({ length: 20000 }, (_, i) => (i * 31) & 0xff), '6000'],
      ['stride-1', Uint8Array.from({ length: 9000 }, (_, i) => (i >> 4) & 0xff), '1'],
    ];
    for (const [name, bytes, stride] of odd) {
      const c = shimpack(['compress', '--codec', 'scc', '--stride', stride, '-', '-o', '-'], bytes);
      assert.equal(c.code, 0, `${name}: ${c.stderr}`);
      const r = spawnSync(process.execPath, ['bin/shimpack.js', 'compress', '--codec', 'scc', '--stride', stride, '-', '-o', '-'], { cwd: ROOT, input: bytes });
      const d = spawnSync(process.execPath, ['bin/shimpack.js', 'decompress', '-', '-o', '-'], { cwd: ROOT, input: r.stdout });
      assert.equal(d.status, 0, `${name}: ${d.stderr}`);
      assert.deepEqual(new Uint8Array(d.stdout), bytes, name);
    }
  });

  it('a corrupt scc container fails cleanly (exit 1, one line)', () => {
    const { bytes, path } = tensor('faceapi-sample1-face0/002_conv32_1_conv2_conv.u8.bin');
    const shpk = `${path}.shpk`;
    assert.equal(shimpack(['compress', '--codec', 'scc', '--stride', '32', path, '-o', shpk]).code, 0);
    const broken = new Uint8Array(readFileSync(shpk));
    broken[Math.floor(broken.length * 0.6)] ^= 0x5a;
    const bad = `${shpk}.bad`;
    writeFileSync(bad, broken);
    const r = shimpack(['decompress', bad, '-o', join(tmp, 'never')]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(bytes.length > 0);
  });
});
