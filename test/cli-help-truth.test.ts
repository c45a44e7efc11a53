import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readContainerInfo } from '../daemon/codecs/container.ts';
import { DATA_DIR, SHARED, hasData, randomBytes } from './helpers.ts';
import { ROOT } from './root.ts';

/**
 * What --help, package.json and the README promise, checked against what the
 * command line does, through real processes (issue 13, item 9).
 */
const tmp = mkdtempSync(join(tmpdir(), 'shimpack-help-truth-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function shimpack(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
/** Exactly one stderr line starting with `shimpack: `. */
function oneLine(r: Run, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^shimpack: /);
  assert.match(lines[0], re);
}

describe('help and docs against behaviour', () => {
  it('the top-level help and package.json name every codec, SCC included', () => {
    const help = shimpack('--help');
    assert.equal(help.code, 0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { description: string };
    for (const codec of ['APack', 'EBPC', 'SCC', 'ZVC', 'raw']) {
      assert.ok(help.stdout.includes(codec), `--help lacks ${codec}`);
      assert.ok(pkg.description.includes(codec), `package.json description lacks ${codec}`);
    }
  });

  it('shimpack with no arguments prints the usage on stderr and exits 2', () => {
    const r = shimpack();
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Usage: shimpack /);
    // A command family without its subcommand, too.
    const b = shimpack('bench');
    assert.equal(b.code, 2);
    assert.match(b.stderr, /^Usage: shimpack bench /);
    // Asking for help is not an error.
    assert.equal(shimpack('help').code, 0);
  });

  it('parser errors take one line, like every other error', () => {
    oneLine(shimpack('compress', 'x.bin'), 2, /required option '-o, --output <file>' not specified \(run with --help for usage\)$/);
    oneLine(shimpack('compress', 'x.bin', '-o', 'y', '--bogus'), 2, /unknown option '--bogus'/);
    oneLine(shimpack('decompress', '-o', 'x'), 2, /missing required argument 'in'/);
    oneLine(shimpack('inspect', 'a', 'b'), 2, /too many arguments/);
    oneLine(shimpack('nosuchcommand'), 2, /unknown command 'nosuchcommand'/);
    oneLine(shimpack('ebpc', 'decode', '--znz', 'a', '--bpc', 'b', '-o', 'c'), 2, /required option '--count <n>' not specified/);
  });

  it('a missing --config file exits 1, as serve --help says', () => {
    const help = shimpack('serve', '--help');
    assert.match(help.stdout.replace(/\s+/g, ' '), /1 cannot start \([^)]*missing or unreadable --config file/);
    oneLine(shimpack('serve', '--port', '0', '--config', join(tmp, 'no-such-config.json')), 1, /cannot read config file .*no-such-config\.json: ENOENT/);
    // A config file that is there but wrong is a usage error.
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ lanes: 'many' }));
    assert.equal(shimpack('serve', '--port', '0', '--config', join(tmp, 'bad.json')).code, 2);
  });

  it('bench speed --seconds accepts decimals (0.3), and refuses what is not a number', { skip: !hasData && 'no ../shared/data' }, () => {
    // Accepted: the run fails on the data set instead, after parsing.
    oneLine(shimpack('bench', 'speed', '--seconds', '0.3', '--data', join(tmp, 'no-data')), 1, /no-data/);
    oneLine(shimpack('bench', 'speed', '--seconds', 'soon'), 2, /--seconds must be a number of seconds/);
    oneLine(shimpack('bench', 'speed', '--clock', 'sundial'), 2, /--clock takes wall or cpu, got "sundial"/);
    oneLine(shimpack('bench', 'speed', '--codecs', 'ebpc,lzma'), 2, /--codecs takes a comma-separated list of apack, ebpc, .*got "ebpc,lzma"/);
    const r = shimpack('bench', 'speed', '--seconds', '0.05', '--max-mb', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { rows: unknown[] }).rows.length >= 5);
  });

  it('bench ratio --model / --tensor measure a subset', { skip: !hasData && 'no ../shared/data' }, () => {
    const r = shimpack('bench', 'ratio', '--data', DATA_DIR, '--model', 'faceapi-tiny-face-detector', '--tensor', 'conv1', '--no-brotli', '--json');
    assert.equal(r.code, 0, r.stderr);
    const files = (JSON.parse(r.stdout) as { tensors: { file: string; model: string }[] }).tensors;
    assert.ok(files.length > 0);
    for (const t of files) {
      assert.equal(t.model, 'faceapi-tiny-face-detector');
      assert.ok(t.file.includes('conv1'), t.file);
    }
    oneLine(shimpack('bench', 'ratio', '--data', DATA_DIR, '--model', 'no-such-model'), 2, /--model no-such-model: no such model/);
    oneLine(shimpack('bench', 'ratio', '--data', DATA_DIR, '--tensor', 'no-such-tensor-name'), 2, /no tensor .* "no-such-tensor-name"/);
  });

  it('trace import --from ramulator2 reads the Ramulator 2 sample (as the README says "Ramulator 1/2")', () => {
    const out = join(tmp, 'r2.trace');
    const r = shimpack('trace', 'import', '--from', 'ramulator2', `${SHARED}traces/ramulator2/example_inst.trace`, '-o', out);
    assert.equal(r.code, 0, r.stderr);
    const info = shimpack('trace', 'info', out, '--json');
    assert.equal(info.code, 0, info.stderr);
    const summary = JSON.parse(info.stdout) as { readBytes: number; endRecord: string; header: { source: string } };
    assert.equal(summary.header.source, 'import:ramulator');
    assert.ok(summary.readBytes > 0);
    assert.equal(summary.endRecord, 'agrees');
    assert.match(shimpack('trace', 'import', '--help').stdout, /ramulator2/);
  });

  it('an APack block that does not decode is named in the error, as a checksum error names it', () => {
    // Weights-like bytes: small values, so APack codes the blocks.
    const data = randomBytes(16384, 9).map((b) => (b % 7) - 3);
    writeFileSync(join(tmp, 'w.bin'), data);
    const packed = join(tmp, 'w.shpk');
    assert.equal(shimpack('compress', '--codec', 'apack', '--dtype', 'int8', join(tmp, 'w.bin'), '-o', packed).code, 0);
    const bytes = new Uint8Array(readFileSync(packed));
    const info = readContainerInfo(bytes);
    const coded = info.blocks.findIndex((b) => !b.storedRaw);
    assert.ok(coded >= 0, 'a coded block');
    const blk = info.blocks[coded];
    // Damage the coded payload until the decoder (not only the checksum) objects; deterministic over the bytes.
    let seen: Run | undefined;
    for (let k = 0; k < blk.storedBytes && !seen; k++) {
      const bad = bytes.slice();
      bad[blk.offset + k] ^= 0xff;
      bad.fill(0xff, blk.offset + k, Math.min(blk.offset + blk.storedBytes, blk.offset + k + 8));
      writeFileSync(join(tmp, 'bad.shpk'), bad);
      const r = shimpack('decompress', join(tmp, 'bad.shpk'), '-o', join(tmp, 'bad.bin'));
      if (/E_CORRUPT|E_TRUNCATED/.test(r.stderr)) seen = r;
      if (k > 64) break;
    }
    assert.ok(seen, 'some damage the decoder itself reports');
    oneLine(seen, 1, new RegExp(`^shimpack: E_(CORRUPT|TRUNCATED): block ${coded}: `));
  });
});
