import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BitWriter } from '../daemon/codecs/bits.ts';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import type { Dtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { entropyBits, histogram } from '../daemon/codecs/apack/histogram.ts';
import { apack, apackIdealBits, apackJs, apackModelFromHistogram, apackTableOf } from '../daemon/codecs/apack/index.ts';
import {
  COUNT_TOTAL,
  heuristicTable,
  makeTable,
  offsetLength,
  optimalCounts,
  optimalPartitions,
  optimalTable,
  parseTable,
  quantiseCounts,
  serialiseTable,
  tableCostBits,
  withStates,
  type ApackStates,
  type ApackTable,
} from '../daemon/codecs/apack/table.ts';
import { hasData, randomBytes, sampleTensors } from './helpers.ts';
import { checkProperty } from './property.ts';

const BLOCK = 4096;
const DTYPES: Dtype[] = ['uint8', 'int8', 'uint4', 'int4'];

function isCodecError(e: unknown, ...codes: string[]): boolean {
  return e instanceof CodecError && (codes.length === 0 || codes.includes(e.code));
}

function encode(m: CodecModel, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(m.maxEncodedBytes(data.length));
  const len = m.encodeBlock(data, out);
  assert.ok(len <= out.length, `encoded ${len} bytes > maxEncodedBytes ${out.length}`);
  return out.slice(0, len);
}

function roundTrip(m: CodecModel, data: Uint8Array, block = data.length || 1): number {
  let coded = 0;
  for (let o = 0; o < data.length || o === 0; o += block) {
    const blk = data.subarray(o, Math.min(o + block, data.length));
    const enc = encode(m, blk);
    const back = new Uint8Array(blk.length);
    m.decodeBlock(enc, back);
    assert.deepEqual(back, blk);
    coded += enc.length;
    if (data.length === 0) break;
  }
  return coded;
}

/** Groups' mass and sizes of a partition, the inputs of the count quantisers. */
function massAndSizes(hist: ArrayLike<number>, vmin: readonly number[]): { mass: number[]; sizes: number[] } {
  const mass: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i + 1 < vmin.length; i++) {
    let m = 0;
    for (let v = vmin[i]; v < vmin[i + 1]; v++) m += hist[v];
    mass.push(m);
    sizes.push(vmin[i + 1] - vmin[i]);
  }
  return { mass, sizes };
}

/** Ideal cost with real probabilities (the DP objective). */
function realCost(hist: ArrayLike<number>, vmin: readonly number[]): number {
  const { mass, sizes } = massAndSizes(hist, vmin);
  const n = mass.reduce((a, b) => a + b, 0);
  let bits = 0;
  mass.forEach((m, i) => {
    if (m > 0) bits += m * (offsetLength(sizes[i]) - Math.log2(m / n));
  });
  return bits;
}

const hist16 = fc.array(fc.oneof(fc.constant(0), fc.nat(1000), fc.nat(20)), { minLength: 16, maxLength: 16 });
const hist256 = fc.oneof(
  fc.array(fc.oneof(fc.constant(0), fc.nat(5000)), { minLength: 256, maxLength: 256 }),
  // peaked, two-sided like int8 weights
  fc.tuple(fc.double({ min: 0.5, max: 40, noNaN: true }), fc.nat(255)).map(([b, c]) =>
    Array.from({ length: 256 }, (_, v) => Math.floor(1e5 * Math.exp(-Math.abs(((v - c + 384) % 256) - 128) / b))),
  ),
);

describe('apack histogram', () => {
  it('counts bytes, and nibbles with the lower index in the low nibble', () => {
    const h8 = histogram(Uint8Array.of(0, 0, 255, 7), 'uint8');
    assert.equal(h8.length, 256);
    assert.deepEqual([h8[0], h8[255], h8[7], h8[1]], [2, 1, 1, 0]);
    const h4 = histogram(Uint8Array.of(0x21, 0x11), 'int4');
    assert.equal(h4.length, 16);
    assert.deepEqual([...h4.slice(0, 3)], [0, 3, 1]);
  });

  it('order-0 entropy of known distributions', () => {
    assert.equal(entropyBits(histogram(new Uint8Array(100), 'uint8')), 0);
    assert.equal(entropyBits(histogram(Uint8Array.from({ length: 256 }, (_, i) => i), 'uint8')), 256 * 8);
    assert.equal(entropyBits([1, 1, 0, 2]), 6);
  });
});

describe('apack count quantisation', () => {
  it('spec §2.2 counts: sum 1024, >= 1 per non-empty group, 0 per empty group', () => {
    checkProperty(
      fc.property(fc.array(fc.tuple(fc.nat(100000), fc.nat(3)), { minLength: 1, maxLength: 16 }), (groups) => {
        const mass = groups.map(([m, s]) => (s === 0 ? 0 : m));
        const sizes = groups.map(([, s]) => s);
        if (sizes.every((s) => s === 0)) return;
        for (const q of [quantiseCounts(mass, sizes), optimalCounts(mass, sizes)]) {
          assert.equal(q.reduce((a, b) => a + b, 0), COUNT_TOTAL);
          q.forEach((c, i) => (sizes[i] === 0 ? assert.equal(c, 0) : assert.ok(c >= 1)));
        }
      }),
      { seed: 1101 },
    );
  });

  it('optimal counts equal the brute-force optimum over every split of 1024 (3 groups)', () => {
    const cost = (mass: number[], q: number[]) => mass.reduce((s, m, i) => s - m * Math.log2(q[i] / COUNT_TOTAL), 0);
    for (const mass of [[1000, 3, 0], [5, 5, 90000], [1, 2, 3], [7000, 6000, 1]]) {
      const sizes = [4, 1, 9];
      let best = Infinity;
      for (let a = 1; a < COUNT_TOTAL - 1; a++) for (let b = 1; a + b < COUNT_TOTAL; b++) best = Math.min(best, cost(mass, [a, b, COUNT_TOTAL - a - b]));
      const q = optimalCounts(mass, sizes);
      assert.ok(Math.abs(cost(mass, q) - best) < 1e-9 * Math.max(1, best), `${mass}: ${cost(mass, q)} vs ${best}`);
      assert.ok(cost(mass, q) <= cost(mass, quantiseCounts(mass, sizes)) + 1e-9);
    }
  });
});

describe('apack table search', () => {
  it('DP equals brute force over every partition of a 16-value space into <= 4 groups', () => {
    checkProperty(
      fc.property(hist16, (h) => {
        if (h.every((c) => c === 0)) return;
        let best = Infinity;
        let bestQuantised = Infinity;
        const visit = (cuts: number[]): void => {
          const vmin = [0, ...cuts, 16];
          best = Math.min(best, realCost(h, vmin));
          const { mass, sizes } = massAndSizes(h, vmin);
          bestQuantised = Math.min(bestQuantised, tableCostBits(makeTable(16, vmin, optimalCounts(mass, sizes)), h));
          if (cuts.length < 3) for (let c = (cuts.at(-1) ?? 0) + 1; c < 16; c++) visit([...cuts, c]);
        };
        visit([]);
        const dp = Math.min(...optimalPartitions(h, 4).map((p) => p.realBits));
        assert.ok(Math.abs(dp - best) <= 1e-9 * Math.max(1, best), `DP ${dp} vs brute force ${best}`);
        for (const p of optimalPartitions(h, 4)) assert.ok(Math.abs(realCost(h, p.vmin) - p.realBits) < 1e-6 * Math.max(1, p.realBits));
        // after count rounding the table is still within 0.1 % of the best quantised table (docs/apack.md)
        const q = tableCostBits(optimalTable(h, 4), h);
        assert.ok(q >= bestQuantised - 1e-6 && q <= bestQuantised * 1.001 + 1e-6, `quantised ${q} vs brute force ${bestQuantised}`);
      }),
      {
        numRuns: 200,
        seed: 1105,
        examples: [
          [[0, 0, 1, 7, 16, 0, 0, 0, 6, 0, 1, 0, 0, 730, 8, 0]], // once beat the refinement: an idle group's count
          [[11, 0, 0, 0, 996, 4, 0, 17, 0, 12, 0, 0, 0, 0, 0, 9]], // 0.09 % above: the better table moves two boundaries at once
        ],
      },
    );
  });

  it('the DP table never costs more than the heuristic table (real and quantised cost)', () => {
    checkProperty(
      fc.property(hist256, (h) => {
        if (h.every((c) => c === 0)) return;
        const o = optimalTable(h);
        const e = heuristicTable(h);
        // the DP minimum of the real-probability objective is below any partition's
        const dpReal = Math.min(...optimalPartitions(h).map((p) => p.realBits));
        assert.ok(dpReal <= realCost(h, e.vmin) * (1 + 1e-12) + 1e-9);
        assert.ok(tableCostBits(o, h) <= tableCostBits(e, h) + 1e-9, `${tableCostBits(o, h)} > ${tableCostBits(e, h)}`);
        // and neither beats the order-0 entropy
        assert.ok(tableCostBits(o, h) >= entropyBits(h) - 1e-6);
      }),
      { numRuns: 200, seed: 1102 },
    );
  });

  it('isolates the zero of a ReLU-like histogram and gets within 1 % of the entropy', () => {
    const h = Array.from({ length: 256 }, (_, v) => (v === 0 ? 50000 : Math.floor(40000 * Math.exp(-v / 12) / 12)));
    const t = optimalTable(h);
    assert.equal(t.vmin[1], 1, 'value 0 is a group of its own');
    assert.ok(tableCostBits(t, h) < entropyBits(h) * 1.01);
  });

  it('an all-empty histogram still gives a table that encodes every value', () => {
    for (const h of [new Array(256).fill(0), new Array(16).fill(0)]) {
      for (const t of [optimalTable(h), heuristicTable(h)]) assert.ok(t.counts.every((c, i) => c > 0 || t.vmin[i] === t.vmin[i + 1]));
    }
  });
});

describe('apack table format', () => {
  it('round trips DP and heuristic tables, in tens of bytes', () => {
    checkProperty(
      fc.property(fc.oneof(hist256, hist16), (h) => {
        for (const t of [optimalTable(h), heuristicTable(h)]) {
          const bytes = serialiseTable(t);
          // 38 bytes at most, and one for the layout field of interleaved states
          assert.equal(t.states, 4);
          assert.ok(bytes.length <= 39);
          assert.deepEqual(parseTable(bytes), t);
          const first = withStates(t, 1);
          assert.equal(serialiseTable(first).length, bytes.length - 1);
          assert.deepEqual(parseTable(serialiseTable(first)), first);
        }
      }),
      { numRuns: 30, seed: 1103 },
    );
  });

  it('keeps empty groups', () => {
    const t = makeTable(256, [0, 0, 10, 10, 256, 256], [0, 24, 0, 1000, 0]);
    assert.deepEqual(parseTable(serialiseTable(t)), t);
  });

  /** A table written field by field, so malformed ones can be built. */
  function rawTable(spaceBits: number, bounds: number[], counts: number[], extraBits = 0): Uint8Array {
    const nbits = 8 + bounds.length * (spaceBits + 1) + counts.length * 10 + extraBits;
    const buf = new Uint8Array(Math.ceil(nbits / 8));
    const w = new BitWriter(buf);
    w.write(spaceBits, 4);
    w.write(bounds.length, 4);
    for (const b of bounds) w.write(b, spaceBits + 1);
    for (const c of counts) w.write(c - 1, 10);
    if (extraBits) w.write((1 << extraBits) - 1, extraBits);
    w.finish();
    return buf;
  }

  it('rejects malformed tables with E_CORRUPT', () => {
    assert.deepEqual(parseTable(rawTable(8, [128], [512, 512])).counts, [512, 512]);
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['counts sum to 1023', rawTable(8, [128], [512, 511])],
      ['counts sum to 1025', rawTable(8, [128], [512, 513])],
      ['non-monotone boundaries', rawTable(8, [128, 64], [512, 256, 256])],
      ['boundary beyond the space', rawTable(8, [300], [1024])],
      ['value space 2^5', rawTable(5, [8], [512, 512])],
      ['truncated', rawTable(8, [128], [512, 512]).subarray(0, 3)],
      ['trailing byte', Uint8Array.of(...rawTable(8, [128], [512, 512]), 0)],
      ['non-zero padding', rawTable(8, [128], [512, 512], 2)],
    ];
    for (const [what, bytes] of bad) assert.throws(() => parseTable(bytes), (e) => isCodecError(e, 'E_CORRUPT'), what);
    // the layout field: 0 then log2(states), and only 2 or 4 states are written so (1 state has no field)
    const plain = rawTable(8, [128], [512, 512]);
    assert.equal(parseTable(Uint8Array.of(0x01, ...plain)).states, 2);
    assert.equal(parseTable(Uint8Array.of(0x02, ...plain)).states, 4);
    assert.equal(parseTable(plain).states, 1);
    for (const layout of [0x00, 0x03, 0x04, 0x0f]) {
      assert.throws(() => parseTable(Uint8Array.of(layout, ...plain)), (e) => isCodecError(e, 'E_CORRUPT') && /rANS states/.test((e as Error).message), `layout ${layout}`);
    }
    assert.throws(() => parseTable(Uint8Array.of(0x01)), (e) => isCodecError(e, 'E_CORRUPT', 'E_TRUNCATED'), 'layout field alone');
    assert.throws(() => parseTable(Uint8Array.of(0x01, 0x01, ...plain.subarray(1))), (e) => isCodecError(e, 'E_CORRUPT'), 'layout field twice');
    // wrong value space for the dtype
    assert.throws(() => apack.load(rawTable(8, [128], [512, 512]), 'uint4'), (e) => isCodecError(e, 'E_CORRUPT'));
    assert.throws(() => apack.load(rawTable(4, [8], [512, 512]), 'int8'), (e) => isCodecError(e, 'E_CORRUPT'));
    assert.ok(apack.load(rawTable(4, [8], [512, 512]), 'int4'));
  });

  it('rejects invalid tables built in memory with E_BAD_ARGUMENT', () => {
    const bad: [string, () => ApackTable][] = [
      ['zero count on a non-empty group', () => makeTable(256, [0, 1, 256], [1024, 0])],
      ['count on an empty group', () => makeTable(256, [0, 0, 256], [1, 1023])],
      ['sum not 1024', () => makeTable(256, [0, 1, 256], [500, 500])],
      ['not tiling', () => makeTable(256, [0, 1, 255], [500, 524])],
      ['17 groups', () => makeTable(256, Array.from({ length: 18 }, (_, i) => Math.min(256, i * 15)), new Array(17).fill(0))],
      ['3 rANS states', () => makeTable(256, [0, 256], [1024], 3 as ApackStates)],
    ];
    for (const [what, f] of bad) assert.throws(f, (e) => isCodecError(e, 'E_BAD_ARGUMENT'), what);
  });
});

describe('apack codec', () => {
  it('codec contract: id, dtypes, params round trip, describe', () => {
    assert.equal(apack.id, 1);
    assert.deepEqual([...apack.dtypes], DTYPES);
    const data = randomBytes(5000, 9).map((v) => (v < 128 ? 0 : v & 15));
    const m = apack.fit(data, 'uint8');
    const l = apack.load(m.params, 'uint8');
    assert.deepEqual(apackTableOf(l), apackTableOf(m));
    assert.deepEqual(encode(l, data), encode(m, data));
    assert.match(m.describe(), /256-value space/);
    assert.throws(() => apack.fit(data, 'int16'), (e) => isCodecError(e, 'E_UNSUPPORTED_DTYPE'));
    assert.throws(() => apack.fit(data, 'uint8', { apackSearch: 'bogus' as 'optimal' }), (e) => isCodecError(e, 'E_BAD_ARGUMENT'));
    assert.throws(() => apackModelFromHistogram(new Array(16).fill(1), 'uint8'), (e) => isCodecError(e, 'E_BAD_ARGUMENT'));
    assert.throws(() => apackModelFromHistogram(new Array(256).fill(-1), 'uint8'), (e) => isCodecError(e, 'E_BAD_ARGUMENT'));
  });

  it('a model from a calibration histogram encodes the data it describes', () => {
    const data = randomBytes(8192, 4).map((v) => (v < 100 ? 0 : v >> 3));
    const m = apackModelFromHistogram(histogram(data, 'uint8'), 'uint8', 'heuristic');
    roundTrip(m, data, BLOCK);
    const m4 = apackModelFromHistogram(histogram(data, 'uint4'), 'uint4');
    roundTrip(m4, data, BLOCK);
  });

  it('round trips arbitrary data of every dtype, fitted or with a foreign table', () => {
    const pattern = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.tuple(fc.nat(3000), fc.integer({ min: 0, max: 255 })).map(([n, v]) => new Uint8Array(n).fill(v)),
      fc.nat(3000).map((n) => Uint8Array.from({ length: n }, (_, i) => (i & 1 ? 0xff : 0))),
      fc.tuple(fc.nat(3000), fc.integer({ min: 1, max: 1 << 30 })).map(([n, s]) => randomBytes(n, s)),
    );
    const foreign = [apack.fit(Uint8Array.of(0, 0, 0, 1), 'uint8'), apack.fit(Uint8Array.of(0x11, 0x10), 'uint4')];
    checkProperty(
      fc.property(pattern, fc.constantFrom(...DTYPES), fc.constantFrom<'optimal' | 'heuristic'>('optimal', 'heuristic'), (data, dtype, search) => {
        const m = apack.fit(data, dtype, { apackSearch: search });
        roundTrip(m, data);
        roundTrip(m, data, 512);
        // the same table in the first layout (1 rANS state)
        const first = apack.load(serialiseTable(withStates(apackTableOf(m), 1)), dtype);
        roundTrip(first, data, 512);
        // a table fitted on other data still encodes every value
        const other = dtype === 'uint4' || dtype === 'int4' ? foreign[1] : foreign[0];
        roundTrip(apack.load(other.params, dtype), data);
      }),
      { numRuns: 150, seed: 1104 },
    );
  });

  it('maxEncodedBytes bounds the worst case (every value in the costliest group)', () => {
    // a group of 128 values with count 1: 10 prefix + 7 offset bits per value
    const t = makeTable(256, [0, 1, 128, 256], [1022, 1, 1]);
    const m = apack.load(serialiseTable(t), 'uint8');
    for (const n of [1, 7, 4096, 50000]) {
      const data = randomBytes(n, n).map((v) => 128 + (v & 127));
      const len = roundTrip(m, data);
      assert.ok(len <= m.maxEncodedBytes(n));
      assert.ok(len > (n * 17) / 8 - 1, 'the bound is tight, the data really is that costly');
    }
    assert.equal(m.maxEncodedBytes(0), 0);
  });

  for (const states of [4, 2, 1] as const) it(`rejects corrupt and truncated blocks with a CodecError, in bounded time (${states} rANS state${states === 1 ? '' : 's'})`, () => {
    const data = randomBytes(BLOCK, 77).map((v) => (v < 110 ? 0 : v % 61));
    const m = apack.load(serialiseTable(withStates(apackTableOf(apack.fit(data, 'uint8')), states)), 'uint8');
    const enc = encode(m, data);
    const out = new Uint8Array(BLOCK);
    for (let cut = 0; cut < enc.length; cut += Math.max(1, enc.length >> 6)) {
      assert.throws(() => m.decodeBlock(enc.subarray(0, cut), out), (e) => isCodecError(e, 'E_TRUNCATED', 'E_CORRUPT'), `cut at ${cut}`);
    }
    assert.throws(() => m.decodeBlock(Uint8Array.of(...enc, 0), out), (e) => isCodecError(e, 'E_CORRUPT'));
    assert.throws(() => m.decodeBlock(enc, new Uint8Array(BLOCK - 1)), (e) => isCodecError(e));
    assert.throws(() => m.decodeBlock(enc, new Uint8Array(BLOCK + 1)), (e) => isCodecError(e));
    assert.throws(() => m.decodeBlock(new Uint8Array(0), out), (e) => isCodecError(e, 'E_TRUNCATED'));
    assert.throws(() => m.decodeBlock(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80), out), (e) => isCodecError(e, 'E_CORRUPT'));
    // Flips in the header and rANS bytes break the state chain and are caught;
    // offset bits are raw, so a flip there changes one value (the container's
    // checksum is what catches those) but must still decode cleanly.
    let ransEnd = 0;
    for (let p = 0, shift = 0; ; shift += 7) {
      const b = enc[p++];
      ransEnd += (b & 0x7f) << shift;
      if (b < 0x80) {
        ransEnd += p;
        break;
      }
    }
    assert.ok(ransEnd > 8 && ransEnd < enc.length);
    // every initial state is checked: [2^23, 2^31) or E_CORRUPT
    const head = enc[0] < 0x80 ? 1 : enc[1] < 0x80 ? 2 : 3;
    for (let s = 0; s < states; s++) {
      for (const top of [[0x80, 0, 0, 0], [0, 0x7f, 0xff, 0xff]]) {
        const bad = enc.slice();
        bad.set(top, head + 4 * s);
        assert.throws(() => m.decodeBlock(bad, out), (e) => isCodecError(e, 'E_CORRUPT') && /initial state/.test((e as Error).message), `state ${s}`);
      }
    }
    // a rANS stream too short for its states
    assert.throws(() => m.decodeBlock(Uint8Array.of(4 * states - 1, ...new Uint8Array(4 * states - 1).fill(0x40)), out), (e) => isCodecError(e, 'E_CORRUPT'));
    let detected = 0;
    const flips = 400;
    for (let k = 0; k < flips; k++) {
      const bad = enc.slice();
      const pos = (k * 7919) % ransEnd;
      bad[pos] ^= 1 << (k % 8);
      try {
        m.decodeBlock(bad, out);
        assert.notDeepEqual(out, data, 'a flipped block decoded to the original');
      } catch (e) {
        assert.ok(isCodecError(e, 'E_CORRUPT', 'E_TRUNCATED'), String(e));
        detected++;
      }
    }
    for (let pos = ransEnd; pos < enc.length; pos += 13) {
      const bad = enc.slice();
      bad[pos] ^= 0x10;
      try {
        m.decodeBlock(bad, out);
        assert.notDeepEqual(out, data);
      } catch (e) {
        assert.ok(isCodecError(e, 'E_CORRUPT'), String(e));
      }
    }
    assert.ok(detected > flips * 0.9, `only ${detected}/${flips} single-bit flips in the rANS stream detected`);
  });
});

describe('apack block layouts', () => {
  // Blocks written by the first layout's coder (one rANS state; main at ed878f5, before the
  // interleaved layout existed): params as stored in containers, file-backend data and
  // recorded traces must keep decoding to the same values, and encode to the same bytes.
  const FIRST_LAYOUT = [
    {
      dtype: 'uint8' as Dtype,
      params: '8f0080c0e0823138a0cd6d389def37cbedfe918de5483c15800048640001a00020000de3e850',
      block:
        '75049092cdf83b932aee6a1151a98af3b813b45844df69abe368d2b14df092df22e6580cc88b0d8bebb111ef1f520d0db99b34de699da911d8e482689603543a5d5bdb7872cf6e0f316e3670a1cc83be1e5f6d576d035fb875ea10916d8223d0efbcbe4820373c5b704e3709c8d4cc3dd3da3e3a955c896b8ffdbde2007ebb61cb0c52fe85919b5150fff120b195029dacad9e3b7ad2d78668d6dca57d4eadf4e5dbf907baf8bab62728e73c17e2',
      raw:
        'de0400fbfa040033050306020000f2feff060005023700fc00000000c100070300f9f95100fefa0000fe7e02fdff06fbf924000000ff0000340003fe010003f1fa00fbff0002270601fd030001f1000702fa00f9dc0100000400024efcfdff00fe044e0005fffb0000fa0400f9fa000057fa00fafe0700cc04f9010500000a00020000fa000eff0404ff0000f00001fb000103a3fd06f905fafa650204fafb0702c106fc0500000045fc00fd05040022fe00fa0500005cfe000401070122fe04020004003afa01040105fae10207fc0700fc160000000204fcaf0000fc01fc02fa00030005fa024f01ff02fd00fecc05ff0000f9038dfffef9070000fa00f90600ff0239fcfafd0201faddf9060000fb0077000302040000ef01060005000089060507fbf9007f060003fcf9',
    },
    {
      dtype: 'uint4' as Dtype,
      params: '4d08c8531d095b1ae7b96218281285c1503a08076040181083a4c8',
      block:
        '5804bcb1d28aad8d9f8df83dcf1a0a9283bcc85b9e5930e941b0baad87ac002e07950067556d6270379be8724c072408a5dde2d3f18af1b5344af55ade953da58a1a9deb16e283e8c42c47784ebd1cd5cd8bbe31db87bfdd50c6e650b8',
      raw: '62fa0004fe0100cf000100ff01005200000607fefae8fd0001060600a0000200ff02007900fc04f900002a0300fff905065501fa000703ff980006050500002cf90000fe07ff480107ff000001de04ff07040106d305fd00070305abfb0600f9fa00d405060004ff0260030200fd04f9d4fd050000fe05e8',
    },
  ];
  // Blocks of 2 interleaved states (main at 9caff50, when new fits got 2): the same promise.
  const TWO_STATES = [
    {
      dtype: 'uint8' as Dtype,
      params: '018f008140e0b0683c26140c0703a1e1008452df0701e08207850180001407803826078163f000',
      block:
        '61058f489c41d537d0eefe6830b4d30fde6ccc7717584a7c349b8b6d72a60d2fdde2ca0d7da180496a37357af5bbe96783c6340c43da52c0432dc0de87911332c23719ad89d28a97bf91c21c014894ee289da9bb1ed23596bf2cd17ad74e9777fe727e25ede0008bbf0c9595e183b5161ff0378975523b5574017c21eb37728ddff130',
      raw: '002400000a2700050b11000516000000281a27281a00050000000000000021141e000b0500001d001d0700002307001a0000001f270e00000000060000000028000e0001011b1803150202111d020500260c00001b0021000000240000210d00081b190009030000090007260025220400001b170a210005011b00150006121802000d001d1910000e000600080010000503252500200d00060000120000001900090000002600192328000d1d250f0d2100000815000a00000000042110001418170000001f00090026161c00002400100000000603000a06002200231c000022000e1000001700080c04200612000a0f00200d0000061e2400',
    },
    {
      dtype: 'uint4' as Dtype,
      params: '014f08864298e84a96c6b9ef700e018280e818148421703a1487c1905c128740',
      block:
        '5f050e3332173d624fa79c3303ce90a45f7bd1c884276a1ee20d96c86c502fcf5c4c882f5bdd64949b5ebb7fb8015a0976ccd53ec1229f6a18ecf746ea37dae0459b891ea17ad809affb71da00c74ff2d5a14e9fb17f74120fa3e86f9cf8107c',
      raw: '6b00d400df007f0000bececcf79edf00d800c3b4009f0000660000efacbba900d68ed500a40000000000ebd700009000009b00b200d0a8006dffbf008e000000d600b5008ca0f800000000c1a50066c88764009af383fe0000a7a493000000f4c0840000ecc100006a00bb008300770000007bfdb00000cb00',
    },
  ];
  const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

  for (const g of TWO_STATES) {
    it(`a ${g.dtype} block of 2 interleaved rANS states decodes and encodes bit-exactly, wasm and JS`, () => {
      for (const codec of [apack, apackJs]) {
        const m = codec.load(hex(g.params), g.dtype);
        assert.equal(apackTableOf(m).states, 2);
        assert.match(m.describe(), /2 interleaved rANS states/);
        assert.equal(Buffer.from(m.params).toString('hex'), g.params);
        const out = new Uint8Array(g.raw.length / 2);
        m.decodeBlock(hex(g.block), out);
        assert.equal(Buffer.from(out).toString('hex'), g.raw, codec === apack ? 'wasm' : 'js');
        assert.equal(Buffer.from(encode(m, out)).toString('hex'), g.block);
      }
    });
  }

  for (const g of FIRST_LAYOUT) {
    it(`a ${g.dtype} block of the first layout (1 rANS state) decodes and encodes bit-exactly, wasm and JS`, () => {
      for (const codec of [apack, apackJs]) {
        const m = codec.load(hex(g.params), g.dtype);
        assert.equal(apackTableOf(m).states, 1);
        assert.match(m.describe(), /1 rANS state,/);
        // params written back unchanged (no layout field)
        assert.equal(Buffer.from(m.params).toString('hex'), g.params);
        const out = new Uint8Array(g.raw.length / 2);
        m.decodeBlock(hex(g.block), out);
        assert.equal(Buffer.from(out).toString('hex'), g.raw, codec === apack ? 'wasm' : 'js');
        assert.equal(Buffer.from(encode(m, out)).toString('hex'), g.block);
      }
    });
  }

  it('new fits get 4 interleaved states; the same table in any layout codes the same values, 4 bytes apart per state', () => {
    const data = randomBytes(BLOCK, 5).map((v) => (v < 120 ? 0 : v % 23));
    const m4 = apack.fit(data, 'uint8');
    assert.equal(apackTableOf(m4).states, 4);
    assert.equal(m4.params[0], 0x02, 'layout field: 0, log2(4)');
    assert.match(m4.describe(), /4 interleaved rANS states/);
    const m2 = apack.load(serialiseTable(withStates(apackTableOf(m4), 2)), 'uint8');
    const m1 = apack.load(serialiseTable(withStates(apackTableOf(m4), 1)), 'uint8');
    const e4 = encode(m4, data);
    const e2 = encode(m2, data);
    const e1 = encode(m1, data);
    // each more 4-byte state; its share of the renormalisation bytes moves a few bytes either way
    assert.ok(Math.abs(e2.length - e1.length - 4) <= 3, `${e2.length} vs ${e1.length}`);
    assert.ok(Math.abs(e4.length - e2.length - 8) <= 4, `${e4.length} vs ${e2.length}`);
    // the states are interleaved value by value: a stream of another layout does not decode
    const out = new Uint8Array(BLOCK);
    for (const [m, e] of [[m1, e2], [m2, e1], [m4, e2], [m2, e4], [m4, e1]] as const) {
      assert.throws(() => m.decodeBlock(e, out), (err) => isCodecError(err, 'E_CORRUPT', 'E_TRUNCATED'));
    }
    // tiny blocks: fewer values than states, and every count modulo 4 (the wasm loop takes 4 at a time)
    const j4 = apackJs.load(m4.params, 'uint8');
    for (const n of [1, 2, 3, 4, 5, 6, 7, 9]) {
      roundTrip(m4, data.subarray(0, n));
      const e = encode(m4, data.subarray(0, n));
      assert.deepEqual(encode(j4, data.subarray(0, n)), e, `wasm and JS encoders, ${n} values`);
      const back = new Uint8Array(n);
      j4.decodeBlock(e, back);
      assert.deepEqual(back, data.subarray(0, n));
    }
    roundTrip(apack.fit(Uint8Array.of(0x21), 'uint4'), Uint8Array.of(0x21));
    roundTrip(apack.fit(Uint8Array.of(0x21, 0x43, 0x65), 'uint4'), Uint8Array.of(0x21, 0x43, 0x65));
  });
});

describe('apack on real tensors', { skip: !hasData && 'no ../shared/data' }, () => {
  const samples = hasData ? sampleTensors(1) : [];

  it('round trips every tensor class, whole and in 4 KiB blocks, close to the ideal cost', () => {
    const classes = new Set<string>();
    for (const s of samples) {
      classes.add(`${s.kind} ${s.dtype}`);
      const m = apack.fit(s.data, s.dtype);
      const h = histogram(s.data, s.dtype);
      const ideal = apackIdealBits(m, h) / 8;
      const whole = roundTrip(m, s.data);
      const blocks = roundTrip(m, s.data, BLOCK);
      // + 16 bytes: varint, final state, padding; 4 more per extra interleaved state
      const states = apackTableOf(m).states;
      assert.ok(whole <= ideal * 1.001 + 16 + 4 * (states - 1), `${s.name}: whole ${whole} vs ideal ${ideal}`);
      // per 4 KiB block: 2 bytes of varint, under one of padding, 4 per state (each carries a few bits it did not need)
      const perBlock = 3 + 4 * states;
      if (s.data.length >= 64 * BLOCK) assert.ok(blocks <= ideal * 1.001 + perBlock * Math.ceil(s.data.length / BLOCK), `${s.name}: 4 KiB blocks ${blocks} vs ideal ${ideal}`);
      assert.ok(ideal >= entropyBits(h) / 8 - 1e-6);
      assert.ok(apackIdealBits(m, h) <= apackIdealBits(heuristicTable(h), h) + 1e-9);
    }
    assert.equal(classes.size, 4, [...classes].join(', '));
  });

  it('a table fitted on one tensor encodes every other tensor', () => {
    const weight = samples.find((s) => s.kind === 'weight')!;
    const m = apack.fit(weight.data, weight.dtype);
    for (const s of samples) roundTrip(apack.load(m.params, s.dtype), s.data.subarray(0, 3 * BLOCK), BLOCK);
  });
});
