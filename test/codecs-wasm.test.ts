import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contextOptions } from '../daemon/bench/context-options.ts';
import type { Codec, CodecModel, CodecOptions } from '../daemon/codecs/codec.ts';
import { dtypeBits, type Dtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { apack, apackJs, apackTableOf } from '../daemon/codecs/apack/index.ts';
import { makeTable, serialiseTable, withStates } from '../daemon/codecs/apack/table.ts';
import { CODECS, JS_CODECS } from '../daemon/codecs/index.ts';
import { codecWasm, wasmOffReason } from '../daemon/codecs/wasm/instance.ts';
import { APACK_SLOT_COUNT } from '../daemon/codecs/wasm/layout.ts';
import { loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { DATA_DIR, hasData, randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';
import { ROOT } from './root.ts';

// The wasm block coders (daemon/codecs/wasm/assembly) against the JS coders
// they must match bit for bit: every codec whose default path is wasm has a
// JS twin in JS_CODECS. Real tensors, seeded property inputs and corrupt
// blocks: the same bytes out, the same CodecError (code and message) for
// every broken block.

/** The properties' seed (test/property.ts: SHIMPACK_FC_SEED overrides it). */
const SEED = 1414;
const BLOCK = 4096;
/** APack fitted as usual, then loaded in the first block layout (1 rANS state), which existing params keep. */
function apackFirstLayout(codec: Codec): Codec {
  return {
    ...codec,
    fit: (data, dtype, options) => codec.load(serialiseTable(withStates(apackTableOf(codec.fit(data, dtype, options)), 1)), dtype),
  };
}
const pairs = [
  ...JS_CODECS.map((js) => ({ label: js.name, js, wasm: CODECS.find((c) => c.name === js.name) as Codec })),
  // new APack fits get 4 interleaved states: the first layout is compared as a pair of its own
  { label: 'apack, 1 rANS state (first layout)', js: apackFirstLayout(apackJs), wasm: apackFirstLayout(apack) },
];

type Outcome = { ok: true; bytes: string } | { ok: false; code: string; message: string };

function outcome(run: () => Uint8Array): Outcome {
  try {
    return { ok: true, bytes: Buffer.from(run()).toString('hex') };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Both models of one tensor: the default one (wasm) and the JS twin, from the same parameters. */
function modelsOf(pair: (typeof pairs)[number], data: Uint8Array, dtype: Dtype, options?: CodecOptions): { wasm: CodecModel; js: CodecModel } {
  const wasm = pair.wasm.fit(data, dtype, options);
  return { wasm, js: pair.js.load(wasm.params, dtype) };
}

/** Encode a block with both, compare; decode the result with both, compare; returns the coded block. */
function compareRoundTrip(m: { wasm: CodecModel; js: CodecModel }, raw: Uint8Array, what: string): Uint8Array {
  const bufW = new Uint8Array(m.wasm.maxEncodedBytes(raw.length));
  const bufJ = new Uint8Array(bufW.length);
  const coded = bufJ.slice(0, m.js.encodeBlock(raw, bufJ));
  const codedW = bufW.subarray(0, m.wasm.encodeBlock(raw, bufW));
  assert.equal(Buffer.from(codedW).toString('hex'), Buffer.from(coded).toString('hex'), `${what}: encoders differ`);
  const outW = new Uint8Array(raw.length);
  const outJ = new Uint8Array(raw.length);
  m.wasm.decodeBlock(coded, outW);
  m.js.decodeBlock(coded, outJ);
  assert.ok(Buffer.from(outJ).equals(Buffer.from(raw)), `${what}: the JS coder does not round-trip`);
  assert.ok(Buffer.from(outW).equals(Buffer.from(raw)), `${what}: the wasm decoder differs`);
  return coded;
}

function compareDecode(m: { wasm: CodecModel; js: CodecModel }, block: Uint8Array, rawLength: number, what: string): void {
  const w = outcome(() => {
    const out = new Uint8Array(rawLength);
    m.wasm.decodeBlock(block, out);
    return out;
  });
  const j = outcome(() => {
    const out = new Uint8Array(rawLength);
    m.js.decodeBlock(block, out);
    return out;
  });
  assert.deepEqual(w, j, what);
}

/** 8-bit tensors as they are; 4-bit ones made from them (the high nibble of each value, two per byte). */
function asDtype(data: Uint8Array, dtype: Dtype): Uint8Array {
  if (dtypeBits(dtype) !== 4) return data;
  const out = new Uint8Array(data.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (data[2 * i] >> 4) | (data[2 * i + 1] & 0xf0);
  return out;
}

/** Skewed bytes, as quantised tensors are: most values near zero. */
const skewed = (len: number): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 7 }))
    .map(([seed, spread]) => {
      const r = randomBytes(len, seed);
      return r.map((v, i) => (i % 5 === 0 ? v : (v % (1 << spread)) * (v & 1 ? 1 : -1)) & 0xff);
    });

function optionsFor(codec: Codec): CodecOptions | undefined {
  return codec.name === 'scc' || codec.name === 'fpack' ? { stride: 16, kind: 'activation' } : undefined;
}

describe('codec wasm coders', () => {
  it('are on (the module was built and loads) unless SHIMPACK_WASM=0', () => {
    if (process.env.SHIMPACK_WASM === '0') assert.equal(codecWasm, null);
    else assert.notEqual(codecWasm, null, `wasm coders are off: ${wasmOffReason}`);
  });

  for (const pair of pairs) {
    const dtypes = pair.js.dtypes;
    // SCC fits are slow (a search over configurations): fewer runs; test/scc-wasm.test.ts covers it further
    const runs = pair.js.name === 'scc' ? 0.1 : 1;

    // fpack takes float tensors: test/fpack-wasm.test.ts compares it on ../shared/data-float
    const realSkip = pair.js.name === 'fpack' ? 'float dtypes: test/fpack-wasm.test.ts' : !hasData && 'no ../shared/data';
    it(`${pair.label}: the same blocks as the JS coder on real tensors (${dtypes.join(', ')})`, { skip: realSkip }, () => {
      const ds = loadDataset(DATA_DIR);
      // every 12th tensor, at most 8 blocks of each, spread over the tensor
      const picks = ds.tensors.filter((_, i) => i % (pair.js.name === 'scc' ? 36 : 12) === 0);
      let blocks = 0;
      for (const t of picks) {
        const options = pair.js.name === 'scc' ? contextOptions(t) : undefined;
        if (pair.js.name === 'scc' && options === undefined) continue;
        const data8 = readTensor(ds, t);
        for (const dtype of dtypes) {
          if (dtypeBits(dtype) === 16 || (dtypeBits(dtype) === 8 && dtype !== t.dtype)) continue;
          const data = asDtype(data8, dtype);
          const m = modelsOf(pair, data, dtype, options);
          const step = Math.max(BLOCK, Math.floor(data.length / 8 / BLOCK) * BLOCK);
          for (let off = 0; off < data.length; off += step) {
            compareRoundTrip(m, data.subarray(off, Math.min(data.length, off + BLOCK)), `${t.file} ${dtype} @${off}`);
            blocks++;
          }
        }
      }
      assert.ok(blocks > 20, `only ${blocks} blocks compared`);
    });

    it(`${pair.label}: the same blocks on property inputs (seed ${SEED})`, () => {
      checkProperty(
        fc.property(skewed(3000), fc.integer({ min: 1, max: 3000 }), fc.constantFrom(...dtypes), fc.boolean(), (data, len, dtype, wide) => {
          if (dtypeBits(dtype) === 16) len &= ~1;
          if (len === 0) return;
          const raw = data.subarray(0, len);
          // EBPC: blocks of 16 values where the words allow it
          const options = { ...optionsFor(pair.js), ebpcBlockSize: wide && dtypeBits(dtype) === 16 ? (16 as const) : (8 as const) };
          compareRoundTrip(modelsOf(pair, raw, dtype, options), raw, `${dtype} N=${options.ebpcBlockSize}`);
        }),
        { seed: SEED, numRuns: Math.ceil(150 * runs) },
      );
    });

    it(`${pair.label}: the same CodecError for corrupt blocks (seed ${SEED})`, () => {
      const data = skewed(BLOCK);
      checkProperty(
        fc.property(
          data,
          fc.constantFrom(...dtypes),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: -8, max: 8 }),
          fc.boolean(),
          fc.boolean(),
          fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
          (raw, dtype, edits, resize, tail, wide, flips) => {
            const options = { ...optionsFor(pair.js), ebpcBlockSize: wide && dtypeBits(dtype) === 16 ? (16 as const) : (8 as const) };
            const m = modelsOf(pair, raw, dtype, options);
            const coded = compareRoundTrip(m, raw, dtype);
            const broken = new Uint8Array(Math.max(0, coded.length + resize));
            broken.set(coded.subarray(0, broken.length));
            // anywhere, or in the last quarter only (where the second stream of a block lies, e.g. APack's offsets)
            const from = tail ? broken.length - (broken.length >> 2) : 0;
            for (const [at, v] of edits) if (broken.length > from) broken[from + (at % (broken.length - from))] = v;
            compareDecode(m, broken, raw.length, `${dtype}: ${edits.length} edits${tail ? ' in the tail' : ''}, resized by ${resize}`);
            // single bits flipped: the subtle damage (one symbol changed, the rest intact)
            for (const at of flips) {
              const flipped = coded.slice();
              if (flipped.length === 0) break;
              const bit = at % (flipped.length * 8);
              flipped[bit >> 3] ^= 0x80 >> (bit & 7);
              compareDecode(m, flipped, raw.length, `${dtype}: bit ${bit} flipped`);
            }
            // each bit of the last byte flipped (padding bits, for streams that end in them)
            for (let b = 0; b < 8 && coded.length > 0; b++) {
              const flipped = coded.slice();
              flipped[flipped.length - 1] ^= 1 << b;
              compareDecode(m, flipped, raw.length, `${dtype}: last byte bit ${b} flipped`);
            }
            // the right block decoded for a wrong length
            compareDecode(m, coded, raw.length + (dtypeBits(dtype) === 16 ? 2 : 1), `${dtype}: one value more`);
            if (raw.length > 2) compareDecode(m, coded, raw.length - (dtypeBits(dtype) === 16 ? 2 : 1), `${dtype}: one value fewer`);
          },
        ),
        { seed: SEED, numRuns: Math.ceil(300 * runs) },
      );
    });
  }

  it('apack: an offset outside its group is refused by the wasm decoder (its SIMD offset pass) as by the JS one, 8- and 4-bit, at every block length mod 16', () => {
    // groups of 3 values (OL 2): offset 3 is outside; every bit of the offset stream flipped in turn, so some flips
    // give offset 3 with the rANS stream intact, the one check that then fails
    const cases = [
      { dtype: 'uint8' as const, table: makeTable(256, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 256], [...new Array<number>(14).fill(70), 44]), lengths: [1, 5, 15, 16, 17, 31, 33, 100, 4096], value: (v: number) => v % 42 },
      // two values per byte: lengths in bytes, so 2, 6, 14, 16, 18, ... values
      { dtype: 'uint4' as const, table: makeTable(16, [0, 3, 6, 9, 12, 16], [250, 250, 250, 250, 24]), lengths: [1, 3, 7, 8, 9, 15, 17, 50, 2048], value: (v: number) => (v % 12) | ((v >> 4) % 12 << 4) },
    ];
    for (const { dtype, table, lengths, value } of cases) {
      const models = { wasm: apack.load(serialiseTable(table), dtype), js: apackJs.load(serialiseTable(table), dtype) };
      let outside = 0;
      for (const len of lengths) {
        const raw = randomBytes(len, len).map(value);
        const coded = compareRoundTrip(models, raw, `${dtype} length ${len}`);
        // [varint rANS length][rANS bytes][offsets]
        let p = 0;
        let ransLen = 0;
        for (let shift = 0; ; shift += 7) {
          const b = coded[p++];
          ransLen += (b & 0x7f) << shift;
          if (b < 0x80) break;
        }
        for (let bit = (p + ransLen) * 8; bit < coded.length * 8; bit++) {
          const flipped = coded.slice();
          flipped[bit >> 3] ^= 0x80 >> (bit & 7);
          compareDecode(models, flipped, len, `${dtype} length ${len}, offset bit ${bit} flipped`);
          try {
            models.wasm.decodeBlock(flipped, new Uint8Array(len));
          } catch (e) {
            if (/offset is outside its group/.test((e as Error).message)) outside++;
          }
        }
      }
      assert.ok(outside > 100, `${dtype}: only ${outside} flips put an offset outside its group`);
    }
  });

  it('apack: more models than table slots, taking turns: every block decodes right (slots refilled round-robin)', () => {
    // 16 groups of 16 values; two groups' counts moved by k, so every model codes differently and a
    // slot left with another model's tables (or split tables) decodes its block wrong or not at all
    const count = APACK_SLOT_COUNT + 9;
    const tableFor = (k: number) => {
      const counts = new Array<number>(16).fill(64);
      counts[k % 16] += 1 + (k % 37);
      counts[(k + 1) % 16] -= 1 + (k % 37);
      return makeTable(256, Array.from({ length: 17 }, (_, g) => g * 16), counts);
    };
    const raws = Array.from({ length: count }, (_, k) => randomBytes(4096, 500 + k));
    const models = Array.from({ length: count }, (_, k) => {
      const params = serialiseTable(tableFor(k));
      return { wasm: apack.load(params, 'uint8'), js: apackJs.load(params, 'uint8') };
    });
    const coded: Uint8Array[] = [];
    for (let k = 0; k < count; k++) {
      // model k takes the slot of model k - slots, the oldest: decoded just before, so the decoder's
      // copy of the tables (at a constant address) is that slot's, and the refill must replace it
      if (k >= APACK_SLOT_COUNT) models[k - APACK_SLOT_COUNT].wasm.decodeBlock(coded[k - APACK_SLOT_COUNT], new Uint8Array(4096));
      coded.push(compareRoundTrip(models[k], raws[k], `model ${k}`));
    }
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < count; k++) {
        const out = new Uint8Array(4096);
        models[k].wasm.decodeBlock(coded[k], out);
        assert.ok(Buffer.from(out).equals(Buffer.from(raws[k])), `pass ${pass}, model ${k}`);
      }
    }
  });

  it('apack: a 4-state block too long for the two-pass decoder\'s scratch goes to the one-pass decoder, with the same outcome', () => {
    // Only junk makes one: the wrapper gives wasm blocks with length + 2n + 8 <= 2 MiB (IN_BYTES), and the two
    // passes need n + 16 (group indices) + length + 16 (the reversed copy) <= 2 MiB (SCRATCH_BYTES), so a few
    // values followed by almost 2 MiB
    const raw = randomBytes(10, 7).map((v) => v % 45);
    const m = modelsOf(pairs.find((p) => p.label === 'apack')!, raw, 'uint8');
    const coded = compareRoundTrip(m, raw, '10 values');
    const long = new Uint8Array(0x200000 - 2 * raw.length - 8);
    assert.ok(raw.length + 16 + long.length + 16 > 0x200000);
    long.set(coded);
    compareDecode(m, long, raw.length, '10 values with almost 2 MiB of junk after them');
    assert.throws(() => m.wasm.decodeBlock(long, new Uint8Array(raw.length)), /bytes after its offset stream/);
  });

  it('ebpc: a zero run split in two (not canonical) is refused by both decoders alike', () => {
    const pair = pairs.find((p) => p.js.name === 'ebpc')!;
    const raw = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1);
    const m = modelsOf(pair, raw, 'int8');
    const coded = compareRoundTrip(m, raw, 'run of 7');
    // [ZNZ length 1][ZNZ '1' '0 0110' '1' + pad][BPC]: the run of 7 as one symbol
    assert.deepEqual([...coded.subarray(0, 2)], [1, 0x9a]);
    // the same run as 3 + 4: '1' '0 0010' '0 0011' '1' + pad, two bytes
    const split = Uint8Array.of(2, 0x88, 0x70, ...coded.subarray(2));
    compareDecode(m, split, raw.length, 'split run');
    assert.throws(() => m.wasm.decodeBlock(split, new Uint8Array(raw.length)), /follows a run shorter/);
  });

  it('SHIMPACK_WASM=0 turns every codec to its JS coders, which round-trip', () => {
    const script = [
      "import { codecWasm } from './daemon/codecs/wasm/instance.ts';",
      "import { CODECS } from './daemon/codecs/index.ts';",
      'if (codecWasm !== null) throw new Error("wasm still on");',
      'const raw = new Uint8Array(4096).map((_, i) => (i * 7) % 13);',
      // Every codec that takes bytes (fpack takes float dtypes only: test/fpack-wasm.test.ts covers its JS decoder).
      "for (const c of CODECS.filter((x) => x.dtypes.includes('uint8'))) { const m = c.fit(raw, 'uint8', { stride: 16, kind: 'activation' }); const b = new Uint8Array(m.maxEncodedBytes(raw.length));",
      '  const coded = b.subarray(0, m.encodeBlock(raw, b)); const out = new Uint8Array(raw.length); m.decodeBlock(coded, out);',
      '  if (!out.every((v, i) => v === raw[i])) throw new Error(c.name + " does not round-trip"); }',
      'console.log("js ok");',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, SHIMPACK_WASM: '0' },
      encoding: 'utf8',
    });
    assert.match(out, /js ok/);
  });
});
