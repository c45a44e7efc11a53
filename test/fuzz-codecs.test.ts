import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { CodecCorpus, runCodecCase, type Finding } from '../daemon/fuzz/codec-fuzz.ts';
import { runCodecFuzz } from '../daemon/fuzz/codec-fuzz-run.ts';

/** Quick decoder fuzz (the long run is `npm run fuzz`). */
describe('codec decoder fuzzing', () => {
  it('mutated, truncated and spliced streams of every codec and the container give bytes or a CodecError', async () => {
    const s = await runCodecFuzz({ firstSeed: 1, cases: 30_000, timeBoundMs: 1000 });
    assert.deepEqual(s.findings, []);
    assert.equal(s.cases, 30_000);
    // Both outcomes occur: the damage is neither always fatal nor always harmless.
    assert.ok(s.codecErrors > 1000, `codec errors: ${s.codecErrors}`);
    assert.ok(s.decoded > 100, `decoded: ${s.decoded}`);
  });

  it('the corpus covers every codec, dtype and the container, and round-trips unmutated', () => {
    const c = new CodecCorpus(1);
    c.selfCheck();
    const targets = new Set(c.blocks.map((b) => b.target.split('/').slice(0, 2).join('/')));
    for (const t of ['apack/int8', 'apack/uint4', 'ebpc/int16', 'zvc/int16', 'raw/uint8', 'scc/uint8', 'scc/int8']) assert.ok(targets.has(t), t);
    assert.ok(c.containers.length >= 12);
  });

  it('reports a decoder that throws something other than CodecError, writes out of range or mutates its input', () => {
    const c = new CodecCorpus(1);
    const base = c.blocks[0].model;
    const broken = (decode: CodecModel['decodeBlock']): CodecModel => ({ ...base, decodeBlock: decode });
    const cases: [string, CodecModel, RegExp][] = [
      ['throws RangeError', broken(() => { throw new RangeError('offset out of bounds'); }), /RangeError/],
      ['writes past out', broken((_s, out) => new Uint8Array(out.buffer, out.byteOffset, out.length + 1).fill(1)), /outside its output/],
      ['mutates src', broken((src) => { if (src.length) src[0] ^= 1; }), /modified its input/],
    ];
    for (const [name, model, want] of cases) {
      c.blocks.length = 0;
      c.blocks.push({ target: name, model, raw: new Uint8Array(64), coded: new Uint8Array(40) });
      let hit: Finding | undefined;
      // Block cases are 70 % of seeds: a few seeds are enough to hit one.
      for (let seed = 1; seed < 50 && !hit; seed++) {
        const r = runCodecCase(c, seed, 1000);
        if (typeof r !== 'string' && r.target === name) hit = r;
      }
      assert.ok(hit, `${name} was not reported`);
      assert.match(hit.problem, want);
    }
  });

  it('runs the wasm coders against their JS twins, and reports a disagreement', () => {
    const c = new CodecCorpus(1);
    for (const name of ['apack', 'ebpc', 'zvc', 'scc']) assert.ok(c.blocks.some((b) => b.model.codec === name && b.reference), `${name} has no JS reference in the corpus`);
    // a "wasm" decoder that accepts everything the reference rejects
    const s = c.blocks.find((b) => b.model.codec === 'apack' && b.reference)!;
    const lenient: CodecModel = { ...s.model, decodeBlock: (_src, out) => out.fill(0) };
    c.blocks.length = 0;
    c.blocks.push({ ...s, target: 'lenient', model: lenient });
    let hit: Finding | undefined;
    for (let seed = 1; seed < 100 && !hit; seed++) {
      const r = runCodecCase(c, seed, 1000);
      if (typeof r !== 'string' && r.target === 'lenient') hit = r;
    }
    assert.ok(hit, 'the disagreement was not reported');
    assert.match(hit.problem, /wasm and JS decoders disagree/);
  });

  it('a decoder that hangs is caught by the watchdog, named by seed, and the run goes on', async () => {
    const s = await runCodecFuzz({ firstSeed: 100, cases: 400, plantHangAtSeed: 250, hangMs: 1500 });
    assert.equal(s.findings.length, 1);
    assert.equal(s.findings[0].seed, 250);
    assert.match(s.findings[0].problem, /hang/);
    assert.equal(s.cases, 400);
  });
});
