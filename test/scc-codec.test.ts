import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../daemon/codecs/errors.ts';
import { decodeContainer, encodeContainer, readContainerInfo } from '../daemon/codecs/container.ts';
import { codecById, codecByName } from '../daemon/codecs/index.ts';
import { CODEC_NAMES } from '../daemon/codecs/codec.ts';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import {
  ACT_P,
  ACT_Q,
  ORDER0,
  WEIGHT_CC,
  WEIGHT_NEIGHBOURS,
  scc,
  sccModelFromHistogram,
  sccModelWith,
  sccParamsOf,
  type ConfigPlan,
} from '../daemon/codecs/scc/index.ts';
import { parseParams, serialiseParams } from '../daemon/codecs/scc/config.ts';
import { wasmDecoder } from '../daemon/codecs/scc/wasm/instance.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
};

/**
 * NHWC-like test data: per channel a level, neighbouring pixels of a channel
 * alike, some ReLU zeros; so every tap and the predictor carry information.
 */
function structured(n: number, stride: number, seed: number, signed = false): Uint8Array {
  const noise = randomBytes(n + stride, seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % stride;
    const level = (c * 37) % 61;
    const prev = i >= stride ? out[i - stride] : level;
    let v = (prev + level) / 2 + ((noise[i] % 9) - 4);
    if (noise[i + stride] < 60) v = 0;
    v = Math.max(0, Math.min(signed ? 127 : 255, Math.round(v)));
    out[i] = signed && noise[i] & 1 ? -v & 255 : v;
  }
  return out;
}

function roundTrip(model: CodecModel, data: Uint8Array, blockSize: number): void {
  const c = encodeContainer(data, { codec: 'scc', dtype: model.dtype, blockSize, model });
  const back = decodeContainer(c);
  assert.deepEqual(back.data, data);
  // The parameters alone rebuild the model (the stride is inside them).
  if (!back.info.wholeTensorRaw) assert.equal(scc.load(back.info.params, model.dtype).describe(), model.describe());
}

const ALL_PLANS: [string, ConfigPlan[]][] = [
  ['order-0', [ORDER0]],
  ['weights CC/x[i-S] static', [WEIGHT_CC]],
  ['weights x[i-1],x[i-2] adaptive', [WEIGHT_NEIGHBOURS]],
  ['activations P', [ACT_P]],
  ['activations Q', [ACT_Q]],
  ['activations P/Q switch', [ACT_P, ACT_Q]],
  ['switch of a static and an adaptive configuration', [WEIGHT_CC, WEIGHT_NEIGHBOURS]],
];

describe('scc: registration and arguments', () => {
  it('runs the coders this run asks for: WebAssembly, or the JS fallback under SHIMPACK_WASM=0 (test/run.sh runs this file both ways)', () => {
    assert.equal(wasmDecoder === null, process.env.SHIMPACK_WASM === '0');
  });

  it('is codec 4, named scc, for 8-bit dtypes', () => {
    assert.ok((CODEC_NAMES as readonly string[]).includes('scc'));
    assert.equal(codecByName('scc'), scc);
    assert.equal(codecById(4), scc);
    assert.deepEqual([...scc.dtypes], ['uint8', 'int8']);
  });

  it('needs a valid stride: missing, zero, fractional or above 65535 is E_BAD_ARGUMENT with a clear message', () => {
    const d = randomBytes(1000, 1);
    assert.throws(() => scc.fit(d, 'uint8'), (e) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT' && /needs a stride/.test(e.message));
    assert.throws(() => encodeContainer(d, { codec: 'scc', dtype: 'uint8' }), (e) => e instanceof CodecError && /stride/.test(e.message));
    for (const stride of [0, -3, 1.5, 65536, NaN]) assert.equal(codeOf(() => scc.fit(d, 'uint8', { stride })), 'E_BAD_ARGUMENT', String(stride));
    assert.equal(codeOf(() => scc.fit(d, 'uint8', { stride: 8, kind: 'bogus' as 'weight' })), 'E_BAD_ARGUMENT');
    assert.equal(codeOf(() => scc.fit(d, 'int16', { stride: 8 })), 'E_UNSUPPORTED_DTYPE');
    assert.equal(codeOf(() => scc.load(new Uint8Array(0), 'uint4')), 'E_UNSUPPORTED_DTYPE');
  });
});

describe('scc: round trips', () => {
  for (const [name, plans] of ALL_PLANS) {
    it(`configuration ${name}: blocks of 4 KiB, short blocks and blocks longer than the channel-class map`, () => {
      for (const [stride, signed] of [[24, false], [1, true], [5000, false], [3, true]] as const) {
        const data = structured(20000, stride, stride + plans.length, signed);
        const model = sccModelWith(data, signed ? 'int8' : 'uint8', stride, plans);
        const p = sccParamsOf(model);
        assert.equal(p.kind, plans.length === 1 ? 'single' : 'switch');
        for (const bs of [4096, 100, 16, 10000]) roundTrip(model, data, bs);
        // a model fitted to one tensor codes any other (unseen contexts, values and lengths)
        roundTrip(model, randomBytes(9000, stride), 4096);
        roundTrip(model, new Uint8Array(7000), 1024);
      }
    });
  }

  it('the switch really switches: a tensor of two halves uses both configurations', () => {
    // first half: every channel a slow random walk (the predictor wins); second half: sparse noise
    const steps = randomBytes(16384, 5);
    const data = new Uint8Array(32768);
    for (let i = 0; i < 16384; i++) data[i] = i < 16 ? 100 + 5 * i : Math.max(0, Math.min(255, data[i - 16] + (steps[i] % 3) - 1));
    data.set(randomBytes(16384, 9).map((v) => (v < 128 ? 0 : v & 15)), 16384);
    const model = sccModelWith(data, 'uint8', 16, [ACT_P, ACT_Q]);
    const out = new Uint8Array(model.maxEncodedBytes(4096));
    const seen = new Set<number>();
    for (let off = 0; off < data.length; off += 4096) {
      const n = model.encodeBlock(data.subarray(off, off + 4096), out);
      seen.add(out[0] >> 7); // the select bit leads the range-coder stream
      const back = new Uint8Array(4096);
      model.decodeBlock(out.slice(0, n), back);
      assert.deepEqual(back, data.subarray(off, off + 4096));
    }
    assert.deepEqual([...seen].sort(), [0, 1]);
  });

  it('property: any bytes, any stride (S = 1, S above a block, tensors shorter than S), both dtypes, every kind, any block size', () => {
    checkProperty(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 6000 }),
          fc.integer({ min: 0, max: 6000 }).map((n) => new Uint8Array(n)),
          fc.tuple(fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 255 })).map(([n, v]) => new Uint8Array(n).fill(v)),
          fc.tuple(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 1000 })).map(([n, s, seed]) => structured(n, s, seed)),
        ),
        fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 65535 }), fc.constantFrom(4096, 4097, 65535)),
        fc.constantFrom('uint8', 'int8') as fc.Arbitrary<'uint8' | 'int8'>,
        fc.constantFrom('weight', 'activation', 'other', undefined) as fc.Arbitrary<'weight' | 'activation' | 'other' | undefined>,
        fc.constantFrom(16, 333, 4096, 8192),
        (data, stride, dtype, kind, blockSize) => {
          const c = encodeContainer(data, { codec: 'scc', dtype, blockSize, codecOptions: { stride, kind } });
          assert.deepEqual(decodeContainer(c).data, data);
          assert.ok(c.length <= data.length + 30 + 7 * Math.ceil(data.length / blockSize));
        },
      ),
      { numRuns: 60, seed: 4101 },
    );
  });

  it('kinds choose among their own configurations; small tensors fall back to order-0 or raw', () => {
    const act = structured(65536, 32, 3);
    const actModel = sccParamsOf(scc.fit(act, 'uint8', { stride: 32, kind: 'activation' }));
    assert.ok(actModel.configs.every((c) => c.adaptive || c.tapA === 'none'), 'activations: P, P/Q or order-0');
    assert.ok(actModel.configs.some((c) => c.predictor), 'a smooth NHWC map uses the predictor');
    const w = sccParamsOf(scc.fit(act, 'uint8', { stride: 32, kind: 'weight' }));
    assert.equal(w.kind, 'single');
    assert.ok(!w.configs[0].predictor, 'weights never use the predictor');
    const tiny = sccParamsOf(scc.fit(structured(300, 8, 1), 'uint8', { stride: 8, kind: 'activation' }));
    assert.ok(tiny.kind === 'raw' || tiny.configs[0].tapA === 'none', `a 300-byte tensor: ${tiny.kind}`);
    // The choice is exact: the chosen model is never larger than any forced candidate.
    const chosen = encodeContainer(act, { codec: 'scc', dtype: 'uint8', codecOptions: { stride: 32, kind: 'activation' } }).length;
    for (const plans of [[ORDER0], [ACT_P], [ACT_P, ACT_Q]]) {
      const forced = encodeContainer(act, { codec: 'scc', dtype: 'uint8', model: sccModelWith(act, 'uint8', 32, plans) }).length;
      assert.ok(chosen <= forced, `${chosen} > ${forced}`);
    }
  });

  it('a model from a 256-bin histogram is adaptive, holds the stride and codes anything', () => {
    const data = structured(30000, 64, 2);
    const hist = new Array(256).fill(0);
    for (const v of data) hist[v]++;
    const m = sccModelFromHistogram(hist, 'uint8', { stride: 64, kind: 'activation' });
    const p = sccParamsOf(m);
    assert.equal(p.stride, 64);
    assert.ok(p.configs[0].adaptive);
    roundTrip(m, data, 4096);
    roundTrip(m, randomBytes(5000, 3), 4096);
    assert.match(m.describe(), /stride 64.*adaptive/);
    assert.equal(codeOf(() => sccModelFromHistogram(new Array(16).fill(1), 'uint8', { stride: 4 })), 'E_BAD_ARGUMENT');
    assert.equal(codeOf(() => sccModelFromHistogram(hist, 'uint8', { stride: 0 })), 'E_BAD_ARGUMENT');
    assert.equal(codeOf(() => sccModelFromHistogram(new Array(256).fill(-1), 'uint8', { stride: 4 })), 'E_BAD_ARGUMENT');
    // an all-zero histogram still gives a valid model
    roundTrip(sccModelFromHistogram(new Array(256).fill(0), 'int8', { stride: 4 }), randomBytes(3000, 4), 1024);
  });
});

describe('scc: header format', () => {
  it('parse(serialise(p)) is p for every configuration, and describe() names the choice', () => {
    for (const [, plans] of ALL_PLANS) {
      const m = sccModelWith(structured(12000, 48, 7), 'uint8', 48, plans);
      const p = sccParamsOf(m);
      assert.deepEqual(parseParams(serialiseParams(p)), p);
      assert.deepEqual(serialiseParams(parseParams(m.params)), m.params);
      assert.match(m.describe(), /stride 48/);
    }
    assert.match(sccModelWith(structured(12000, 48, 7), 'uint8', 48, [ACT_P, ACT_Q]).describe(), /switch.*predictor x\[i-S\].*taps cc, xS/);
  });

  it('malformed parameters fail cleanly with E_CORRUPT: every truncation, extra bytes, bad fields, random damage', () => {
    const m = sccModelWith(structured(12000, 48, 7), 'uint8', 48, [ACT_P, ACT_Q]);
    const good = m.params;
    for (let n = 0; n < good.length; n++) assert.equal(codeOf(() => scc.load(good.slice(0, n), 'uint8')), 'E_CORRUPT', `cut at ${n}`);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    assert.equal(codeOf(() => scc.load(longer, 'uint8')), 'E_CORRUPT');
    const bad = (edit: (b: Uint8Array) => void): string => {
      const b = good.slice();
      edit(b);
      return codeOf(() => scc.load(b, 'uint8'));
    };
    assert.equal(bad((b) => (b[0] = 3)), 'E_CORRUPT', 'unknown kind');
    assert.equal(bad((b) => ((b[1] = 0), (b[2] = 0))), 'E_CORRUPT', 'stride 0');
    // random damage: a valid header or E_CORRUPT, never anything else
    for (let seed = 1; seed <= 300; seed++) {
      const r = randomBytes(4, seed);
      const b = good.slice();
      b[(r[0] * 256 + r[1]) % b.length] ^= 1 << (r[2] & 7);
      const code = codeOf(() => scc.load(b, 'uint8'));
      assert.ok(code === 'no error' || code === 'E_CORRUPT', code);
    }
  });
});

describe('scc: corrupt streams', () => {
  it('damaged or truncated blocks of every configuration give bytes or a CodecError, never a hang or another error', () => {
    for (const [name, plans] of ALL_PLANS) {
      const data = structured(8192, 24, 11);
      const m = sccModelWith(data, 'uint8', 24, plans);
      const out = new Uint8Array(m.maxEncodedBytes(4096));
      const n = m.encodeBlock(data.subarray(0, 4096), out);
      const coded = out.slice(0, n);
      const back = new Uint8Array(4096);
      let errors = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const r = randomBytes(4, seed * 7 + plans.length);
        let b: Uint8Array;
        if (seed % 3 === 0) b = coded.slice(0, (r[0] * 256 + r[1]) % coded.length);
        else if (seed % 3 === 1) {
          b = coded.slice();
          b[(r[0] * 256 + r[1]) % b.length] ^= 1 << (r[2] & 7);
        } else b = Uint8Array.from([...coded, r[0]]);
        const code = codeOf(() => m.decodeBlock(b, back));
        if (code !== 'no error') errors++;
      }
      assert.ok(errors > 100, `${name}: only ${errors} of 200 damaged blocks were rejected`);
      assert.equal(codeOf(() => m.decodeBlock(new Uint8Array(0), back)), 'E_TRUNCATED', name);
      assert.equal(codeOf(() => m.decodeBlock(Uint8Array.of(1), new Uint8Array(0))), 'E_CORRUPT', name);
    }
  });

  it('a corrupt SCC container fails with a CodecError (checksums catch what the block coder cannot)', () => {
    const data = structured(20000, 32, 4);
    const good = encodeContainer(data, { codec: 'scc', dtype: 'uint8', codecOptions: { stride: 32, kind: 'activation' } });
    const info = readContainerInfo(good);
    assert.equal(info.codec, 'scc');
    for (let byte = 0; byte < good.length; byte += 5) {
      const f = good.slice();
      f[byte] ^= 1 << byte % 8;
      assert.notEqual(codeOf(() => decodeContainer(f)), 'no error', `flip at byte ${byte}`);
    }
    for (const cut of [10, info.headerBytes, good.length - 1]) assert.notEqual(codeOf(() => decodeContainer(good.slice(0, cut))), 'no error');
  });
});
