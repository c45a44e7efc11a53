import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes } from './helpers.ts';
import { ROOT } from './root.ts';

/**
 * `-o -` into a real pipe whose reader is slower than the writer: the pipe
 * (64 KiB) fills, and the output must still arrive whole (issue 13, item 1).
 */
const tmp = mkdtempSync(join(tmpdir(), 'shimpack-pipes-'));
const SHIMPACK = `${JSON.stringify(process.execPath)} bin/shimpack.js`;

/** Run `shimpack ARGS | (sleep; cat) > OUT` in a shell; the exit statuses of both sides and the bytes that arrived. */
function throughPipe(args: string, out: string): { status: string; stderr: string; bytes: Buffer } {
  const r = spawnSync('bash', ['-c', `${SHIMPACK} ${args} | (sleep 0.3; cat > ${JSON.stringify(out)}); echo "\${PIPESTATUS[@]}"`], { cwd: ROOT, timeout: 60_000 });
  return { status: r.stdout.toString().trim(), stderr: r.stderr.toString(), bytes: readFileSync(out) };
}

describe('-o - into a pipe', () => {
  // 2 MiB of incompressible bytes: far above what a pipe holds.
  const data = randomBytes(2 << 20, 13);
  const input = join(tmp, 'in.bin');
  writeFileSync(input, data);

  it('compress and decompress write every byte to a slow pipe', () => {
    const packed = throughPipe(`compress --codec zvc --dtype uint8 ${input} -o -`, join(tmp, 'packed.shpk'));
    assert.equal(packed.status, '0 0', packed.stderr);
    assert.ok(packed.bytes.length > data.length, `${packed.bytes.length} bytes arrived`);
    const back = throughPipe(`decompress ${join(tmp, 'packed.shpk')} -o -`, join(tmp, 'back.bin'));
    assert.equal(back.status, '0 0', back.stderr);
    assert.equal(back.bytes.length, data.length);
    assert.ok(back.bytes.equals(Buffer.from(data)));
  });

  it('ebpc encode --znz - writes the whole stream to a slow pipe', () => {
    const viaFile = spawnSync(process.execPath, ['bin/shimpack.js', 'ebpc', 'encode', input, '--znz', join(tmp, 'f.znz'), '--bpc', join(tmp, 'f.bpc')], { cwd: ROOT });
    assert.equal(viaFile.status, 0, viaFile.stderr.toString());
    const expected = readFileSync(join(tmp, 'f.znz'));
    assert.ok(expected.length > 256 * 1024);
    const piped = throughPipe(`ebpc encode ${input} --znz - --bpc ${join(tmp, 'p.bpc')}`, join(tmp, 'p.znz'));
    assert.equal(piped.status, '0 0', piped.stderr);
    assert.ok(piped.bytes.equals(expected), `${piped.bytes.length} of ${expected.length} bytes arrived`);
  });
});
