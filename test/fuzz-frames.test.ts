import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzFrame, vectorMutant } from '../daemon/fuzz/frame-gen.ts';
import { Rng } from '../daemon/fuzz/rng.ts';
import { validateRequest } from '../daemon/pipeline/validate.ts';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';

/**
 * The daemon fuzzer's broken vector requests must be broken: a mutant the
 * protocol accepts is reported as a finding against the daemon. One was not
 * (a writev of zero-length elements "shortened" to the empty data it
 * already had: seed 20261207018, case 1231).
 */
describe('fuzz frame generator', () => {
  it('every vector mutant said to be E_BAD_FIELD is refused as such by the request checks', () => {
    // The case the fuzzer reported, as it made it (seed * 7919 + case number, daemon-fuzz.ts).
    let id = 1;
    const found = fuzzFrame(new Rng(20261207018 * 7919 + 1231), 0, () => id++);
    assert.equal(found.klass, 'vector-mutant');
    assert.throws(() => validateRequest(decodeFrame(found.data as Uint8Array)), (e: Error & { code?: string }) => e.code === found.code);
    let checked = 0;
    for (let k = 0; k < 3000; k++) {
      const seed = 777 * 7919 + k;
      const m = vectorMutant(new Rng(seed), 1);
      if (m.code !== 'E_BAD_FIELD') continue; // E_TOO_LARGE: judged against the frame limit by the engine
      const wire = decodeFrame(encodeFrame(m.req));
      assert.throws(
        () => validateRequest(wire),
        (e: Error & { code?: string }) => e.code === 'E_BAD_FIELD',
        `seed ${seed}: ${JSON.stringify(wire, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 300)}`,
      );
      checked++;
    }
    assert.ok(checked > 1500, `${checked} mutants checked`);
  });
});
