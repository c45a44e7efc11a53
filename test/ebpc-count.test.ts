import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../daemon/codecs/errors.ts';
import { decodeEbpcStreams, ebpcStreamValueCounts, encodeEbpcStreams } from '../daemon/codecs/ebpc/streams.ts';
import { checkProperty } from './property.ts';
import { ROOT } from './root.ts';

/**
 * Bare EBPC streams do not carry the value count: a wrong --count must be
 * reported as such (E_COUNT_MISMATCH, with the count the streams hold), not
 * as padding corruption or as a silent extra zero (issue 13, item 8).
 */

const countError = (f: () => unknown): CodecError | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof CodecError, String(e));
    return e;
  }
};

describe('EBPC value count against the streams', () => {
  for (const [W, N] of [[8, 8], [16, 8], [16, 16]] as const) {
    it(`W=${W} N=${N}: the true count decodes; every other count is E_COUNT_MISMATCH, except the one padding cannot tell from a last zero (seeded property)`, () => {
      const seed = 0x13c0 + W + N;
      checkProperty(
        fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: -(2 ** (W - 1)), max: 2 ** (W - 1) - 1 })), { minLength: 0, maxLength: 300 }), (vals) => {
          const bytes = W === 8 ? Uint8Array.from(vals, (v) => v & 0xff) : new Uint8Array(Int16Array.from(vals).buffer);
          const s = encodeEbpcStreams(bytes, W, N);
          const n = vals.length;
          const holds = ebpcStreamValueCounts(s.znz, W);
          assert.ok(holds.min === n || holds.max === n, `holds ${holds.min}..${holds.max}, encoded ${n}`);
          assert.deepEqual(decodeEbpcStreams(s.znz, s.bpc, n, W, N), bytes);
          for (const c of [n - 2, n - 1, n + 1, n + 2]) {
            if (c < 0) continue;
            const e = countError(() => decodeEbpcStreams(s.znz, s.bpc, c, W, N));
            if (c >= holds.min && c <= holds.max) {
              // The ambiguous reading: same streams, one zero value more or less at the end.
              assert.equal(e, undefined);
              continue;
            }
            assert.equal(e?.code, 'E_COUNT_MISMATCH', `count ${c} of ${n}: ${e?.message}`);
            assert.match(e.message, new RegExp(`the value count ${c} disagrees with the streams: the ZNZ stream holds ${holds.min} values`));
          }
        }),
        { numRuns: 150, seed },
      );
    });
  }
});

describe('shimpack ebpc decode with a wrong --count', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'shimpack-ebpc-count-'));
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, timeout: 60_000 });
  // 1000 values ending in a non-zero value, so the true count is the only reading.
  const values = Uint8Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 0 : (i * 37) & 0x7f) | 1);
  values.forEach((v, i) => (values[i] = i % 3 === 0 ? 0 : v));
  values[999] = 5;
  const input = join(tmp, 'v.bin');
  writeFileSync(input, values);
  const enc = run('ebpc', 'encode', input, '--znz', join(tmp, 'v.znz'), '--bpc', join(tmp, 'v.bpc'));

  for (const [count, word] of [[999, 'more'], [1001, 'fewer'], [1, 'more'], [5000, 'fewer']] as const) {
    it(`--count ${count} (true 1000): one line, E_COUNT_MISMATCH, exit 1, no output written`, () => {
      assert.equal(enc.status, 0, enc.stderr.toString());
      const out = join(tmp, `out-${count}.bin`);
      const r = run('ebpc', 'decode', '--znz', join(tmp, 'v.znz'), '--bpc', join(tmp, 'v.bpc'), '--count', String(count), '-o', out);
      assert.equal(r.status, 1);
      const lines = r.stderr.toString().split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr.toString());
      assert.equal(lines[0], `shimpack: E_COUNT_MISMATCH: the value count ${count} disagrees with the streams: the ZNZ stream holds 1000 values, ${word} than ${count}`);
      assert.throws(() => readFileSync(out));
    });
  }

  it('--count 1000 decodes exactly, without a note', () => {
    const r = run('ebpc', 'decode', '--znz', join(tmp, 'v.znz'), '--bpc', join(tmp, 'v.bpc'), '--count', '1000', '-o', join(tmp, 'ok.bin'));
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(r.stderr.toString(), '');
    assert.deepEqual(new Uint8Array(readFileSync(join(tmp, 'ok.bin'))), values);
  });

  it('streams that also read as one more zero value: both counts decode, and a note says which was taken', () => {
    const v = Uint8Array.of(5, 0); // a last lone zero: five zero bits, like padding
    const s = encodeEbpcStreams(v, 8, 8);
    const holds = ebpcStreamValueCounts(s.znz, 8);
    assert.deepEqual(holds, { min: 1, max: 2 });
    writeFileSync(join(tmp, 'z.znz'), s.znz);
    writeFileSync(join(tmp, 'z.bpc'), s.bpc);
    for (const count of ['1', '2']) {
      const r = run('ebpc', 'decode', '--znz', join(tmp, 'z.znz'), '--bpc', join(tmp, 'z.bpc'), '--count', count, '-o', join(tmp, `z${count}.bin`));
      assert.equal(r.status, 0, r.stderr.toString());
      assert.match(r.stderr.toString(), /^shimpack: note: these streams decode as 1 or 2 values/);
    }
    assert.deepEqual([...readFileSync(join(tmp, 'z2.bin'))], [5, 0]);
  });
});
