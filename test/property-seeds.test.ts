import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkProperty } from './property.ts';
import { TEST_SRC } from './root.ts';


describe('property tests are seeded', () => {
  it('every fast-check run in test/ goes through checkProperty (which needs a seed)', () => {
    // (this file calls fast-check directly, to check the helper)
    const bare: string[] = [];
    for (const f of readdirSync(TEST_SRC).filter((n) => n.endsWith('.ts') && n !== 'property.ts' && n !== 'property-seeds.test.ts')) {
      const text = readFileSync(join(TEST_SRC, f), 'utf8');
      for (const m of text.matchAll(/\bfc\s*\.\s*(assert|check)\s*\(/g)) bare.push(`${f}: ${m[0]}`);
    }
    assert.deepEqual(bare, []);
  });

  it('a failure names its seed and reproduces with it', () => {
    const failing = fc.property(fc.integer({ min: 0, max: 1000 }), (n) => n < 500);
    const messages: string[] = [];
    for (let k = 0; k < 2; k++) {
      try {
        withEnv('SHIMPACK_FC_RUNS', undefined, () => checkProperty(failing, { seed: 4242, numRuns: 50 }));
      } catch (e) {
        messages.push((e as Error).message);
      }
    }
    assert.equal(messages.length, 2, 'the property must fail');
    assert.match(messages[0], /^fast-check property failed with seed 4242 /);
    assert.match(messages[0], /Counterexample: \[500\]/);
    assert.equal(messages[0], messages[1], 'same seed, same failure');
    // and fast-check's own report agrees on the seed
    const details = fc.check(failing, { seed: 4242, numRuns: 50 });
    assert.equal(details.seed, 4242);
  });

  it('SHIMPACK_FC_RUNS=F runs the first F of each property\'s cases, same seed, same order (test:fast sets 0.25)', () => {
    const seen = (runs: string | undefined): number[] => {
      const out: number[] = [];
      withEnv('SHIMPACK_FC_RUNS', runs, () => checkProperty(fc.property(fc.integer(), (n) => (out.push(n), true)), { seed: 77, numRuns: 40 }));
      return out;
    };
    const full = seen(undefined);
    const quarter = seen('0.25');
    assert.equal(full.length, 40);
    assert.equal(quarter.length, 10);
    assert.deepEqual(quarter, full.slice(0, 10));
    assert.equal(seen('0.001').length, 1, 'at least one run');
    for (const bad of ['0', '-1', 'x']) assert.throws(() => seen(bad), new RegExp(`SHIMPACK_FC_RUNS must be a number > 0 .*got "${bad}"`));
  });

  it('SHIMPACK_FC_SEED must be an integer', () => {
    withEnv('SHIMPACK_FC_SEED', 'x1', () => assert.throws(() => checkProperty(fc.property(fc.nat(), () => true), { seed: 1 }), /SHIMPACK_FC_SEED must be an integer, got "x1"/));
  });
});

/** Run `f` with the variable set to `value` (unset for undefined), then restore it. */
function withEnv(name: string, value: string | undefined, f: () => void): void {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    f();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
