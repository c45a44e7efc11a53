import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { crc32Range } from '../daemon/traces/crc32-range.ts';
import { checkProperty } from './property.ts';

/** The replay's CRC-32 of a range must be zlib's CRC-32 of the same bytes, for every range of every buffer. */
describe('crc32Range', () => {
  it('matches zlib on the standard check value and on edge ranges', () => {
    const check = new TextEncoder().encode('123456789');
    assert.equal(crc32Range(check, 0, check.length), 0xcbf43926);
    assert.equal(crc32Range(check, 0, 0), 0);
    const all = Uint8Array.from({ length: 300 }, (_, i) => (i * 167 + 13) & 0xff);
    for (const [from, len] of [[0, 1], [1, 3], [3, 4], [5, 5], [0, 64], [7, 64], [0, 300], [299, 1]] as const) {
      assert.equal(crc32Range(all, from, len), crc32(all.subarray(from, from + len)), `range ${from}+${len}`);
    }
    assert.equal(crc32Range(new Uint8Array(64).fill(0xff), 0, 64), crc32(new Uint8Array(64).fill(0xff)));
  });

  it('equals zlib crc32 of the subarray for any range (property)', () => {
    checkProperty(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 700 }).chain((b) => fc.tuple(fc.constant(b), fc.nat(b.length)).chain(([bytes, from]) => fc.tuple(fc.constant(bytes), fc.constant(from), fc.nat(bytes.length - from)))),
        ([bytes, from, len]) => {
          assert.equal(crc32Range(bytes, from, len), crc32(bytes.subarray(from, from + len)));
        },
      ),
      { seed: 20261214, numRuns: 500 },
    );
  });
});
