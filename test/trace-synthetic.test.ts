import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TraceError } from '../daemon/traces/errors.ts';
import { SyntheticPayload, parseSyntheticSpec } from '../daemon/traces/synthetic.ts';
import { parseAddress, parseHexAddress, parseWholeNumber } from '../daemon/traces/numbers.ts';
import { checkProperty } from './property.ts';

const sampleOf = (spec: string, index = 0, n = 200_000, offset = 0): Uint8Array => {
  const out = new Uint8Array(n);
  new SyntheticPayload(parseSyntheticSpec(spec)).bind('activation', index).fill(out, offset);
  return out;
};

describe('synthetic payloads', () => {
  it('parses specs with defaults and says what is wrong', () => {
    assert.equal(parseSyntheticSpec('relu').text, 'relu:seed=1,sparsity=0.5,mean=24');
    assert.equal(parseSyntheticSpec('Gaussian:sigma=10, seed=3').text, 'gaussian:seed=3,sigma=10,mean=0');
    for (const bad of ['foo', 'relu:sparsity=2', 'relu:sigma=3', 'gaussian:sigma=0', 'uniform:seed=-1', 'relu:sparsity']) {
      assert.throws(() => parseSyntheticSpec(bad), (e: unknown) => e instanceof TraceError && e.code === 'E_SYNTHETIC_SPEC', bad);
    }
  });

  it('is deterministic and random-access: any window equals the same slice of a longer fill', () => {
    checkProperty(
      fc.property(fc.constantFrom('uniform', 'relu:sparsity=0.3', 'gaussian:sigma=5'), fc.nat(2 ** 40), fc.integer({ min: 1, max: 300 }), fc.nat(200), (spec, base, len, skip) => {
        const whole = sampleOf(spec, 2, len + skip, base);
        const part = sampleOf(spec, 2, len, base + skip);
        assert.deepEqual(part, whole.subarray(skip));
      }),
      { numRuns: 200, seed: 5101 },
    );
    assert.notDeepEqual(sampleOf('uniform', 0, 64), sampleOf('uniform', 1, 64), 'regions differ');
    assert.notDeepEqual(sampleOf('uniform:seed=1', 0, 64), sampleOf('uniform:seed=2', 0, 64), 'seeds differ');
  });

  it('follows the stated distributions', () => {
    assert.ok(sampleOf('zeros').every((b) => b === 0));
    const u = sampleOf('uniform');
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    assert.ok(Math.abs(mean - 127.5) < 1.5, `uniform mean ${mean}`);
    for (const p of [0.2, 0.5, 0.9]) {
      const r = sampleOf(`relu:sparsity=${p}`);
      const zeros = r.filter((b) => b === 0).length / r.length;
      assert.ok(Math.abs(zeros - p) < 0.01, `relu sparsity ${p}: zero fraction ${zeros}`);
      const nz = r.filter((b) => b !== 0);
      const m = nz.reduce((a, b) => a + b, 0) / nz.length;
      assert.ok(Math.abs(m - 24.5) < 1.5, `relu non-zero mean ${m}`);
    }
    const g = new Int8Array(sampleOf('gaussian:sigma=10').buffer);
    const gm = g.reduce((a, b) => a + b, 0) / g.length;
    const sd = Math.sqrt(g.reduce((a, b) => a + (b - gm) ** 2, 0) / g.length);
    assert.ok(Math.abs(gm) < 0.2 && Math.abs(sd - 10) < 0.3, `gaussian mean ${gm} sd ${sd}`);
  });
});

describe('lenient numbers', () => {
  it('reads float-formatted whole numbers, hex with and without 0x, and refuses the rest', () => {
    assert.equal(parseWholeNumber('-3277.0'), -3277);
    assert.equal(parseWholeNumber(' 10000256.0 '), 10000256);
    assert.equal(parseWholeNumber('1e3'), 1000);
    assert.equal(parseWholeNumber('2.5'), undefined);
    assert.equal(parseWholeNumber('0x10'), undefined);
    assert.equal(parseAddress('0X1f'), 31);
    assert.equal(parseAddress('4096'), 4096);
    assert.equal(parseAddress('-1'), undefined);
    assert.equal(parseHexAddress('2000D5C0'), 0x2000d5c0);
    assert.equal(parseHexAddress('0x0000ffffffffffff'), 2 ** 48 - 1);
    assert.equal(parseHexAddress('0x1ffffffffffffff'), undefined, 'beyond safe integers');
    assert.equal(parseHexAddress('12g'), undefined);
  });
});
