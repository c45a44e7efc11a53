import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../daemon/codecs/errors.ts';
import { decodeContainer, encodeContainer, readContainerInfo } from '../daemon/codecs/container.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import { DTYPES, type Dtype } from '../daemon/codecs/dtype.ts';
import { hasData, randomBytes, sampleTensors } from './helpers.ts';
import { checkProperty } from './property.ts';

const pairs = CODECS.flatMap((c) => c.dtypes.map((d) => ({ codec: c.name, dtype: d as Dtype })));
/** Context codecs (scc) need a stride; the other codecs ignore it. */
const codecOptions = { stride: 24 };

function adversarial(n: number): Record<string, Uint8Array> {
  const alt = new Uint8Array(n);
  for (let i = 0; i < n; i++) alt[i] = i % 2 ? 0xff : 0;
  return {
    empty: new Uint8Array(0),
    zeros: new Uint8Array(n),
    ones: new Uint8Array(n).fill(0xff),
    alternating: alt,
    oneValue: new Uint8Array(n).fill(0x37),
    random: randomBytes(n, 7),
  };
}

/** Container overhead bound: fixed header + at most 7 bytes per block (docs/container.md). */
const maxGrowth = (n: number, blockSize: number) => 8 + 3 + 5 + 1 + 4 + 7 * Math.ceil(n / blockSize);

describe('container round trip', () => {
  for (const { codec, dtype } of pairs) {
    it(`${codec}/${dtype}: adversarial inputs round-trip and never grow past the bound`, () => {
      for (const [name, data] of Object.entries(adversarial(dtype === 'int16' ? 10000 : 9999))) {
        const d = dtype === 'int16' && data.length % 2 ? data.subarray(1) : data;
        const c = encodeContainer(d, { codec, dtype, blockSize: 1024, codecOptions });
        assert.deepEqual(decodeContainer(c).data, d, name);
        assert.ok(c.length <= d.length + maxGrowth(d.length, 1024), `${name}: ${c.length} > ${d.length} + bound`);
      }
    });

    it(`${codec}/${dtype}: property: any bytes, any block size`, () => {
      checkProperty(
        fc.property(
          fc.uint8Array({ maxLength: 5000 }),
          fc.integer({ min: 8, max: 1200 }),
          fc.constantFrom(0, 0.5, 0.9),
          (bytes, bs, sparsity) => {
            const data = bytes.map((v, i) => ((i * 2654435761) % 1000 < sparsity * 1000 ? 0 : v));
            const d = dtype === 'int16' && data.length % 2 ? data.subarray(1) : data;
            const blockSize = dtype === 'int16' ? bs * 2 : Math.max(16, bs);
            const c = encodeContainer(d, { codec, dtype, blockSize, codecOptions });
            assert.deepEqual(decodeContainer(c).data, d);
            assert.ok(c.length <= d.length + maxGrowth(d.length, blockSize));
          },
        ),
        { numRuns: 40, seed: 3101 },
      );
    });
  }

  it('small real-looking tensors never expand beyond the header (whole-tensor raw fallback)', () => {
    for (const { codec, dtype } of pairs) {
      const d = randomBytes(dtype === 'int16' ? 200 : 201, 3);
      const c = encodeContainer(d, { codec, dtype, codecOptions });
      const info = readContainerInfo(c);
      assert.ok(c.length <= d.length + maxGrowth(d.length, 4096), `${codec}/${dtype} grew to ${c.length}`);
      if (codec !== 'raw') assert.ok(info.wholeTensorRaw || c.length < d.length);
    }
  });

  it('real tensors of every class round-trip with every 8-bit codec', { skip: !hasData && 'no ../shared/data' }, () => {
    for (const t of sampleTensors(1)) {
      for (const codec of CODECS.filter((c) => c.dtypes.includes(t.dtype))) {
        const c = encodeContainer(t.data, { codec: codec.name, dtype: t.dtype, codecOptions });
        assert.deepEqual(decodeContainer(c).data, t.data, `${codec.name} ${t.name}`);
      }
    }
  });
});

describe('container errors', () => {
  const data = randomBytes(20000, 5).map((v) => (v < 128 ? 0 : v));
  const good = encodeContainer(data, { codec: 'zvc', dtype: 'uint8', blockSize: 4096 });
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof CodecError, `expected a CodecError, got ${e}`);
      return e.code;
    }
    return 'no error';
  };

  it('wrong magic, version, codec and dtype ids', () => {
    assert.equal(code(() => decodeContainer(new TextEncoder().encode('hello world, not a container'))), 'E_BAD_MAGIC');
    assert.equal(code(() => decodeContainer(new Uint8Array(0))), 'E_BAD_MAGIC');
    const v = good.slice();
    v[4] = 9;
    assert.equal(code(() => decodeContainer(v)), 'E_VERSION');
    const c = good.slice();
    c[5] = 200;
    assert.equal(code(() => decodeContainer(c)), 'E_CORRUPT');
    const d = good.slice();
    d[6] = 99;
    assert.equal(code(() => decodeContainer(d)), 'E_CORRUPT');
  });

  it('every truncation is detected', () => {
    for (let n = 0; n < good.length; n += n < 64 ? 1 : 97) {
      const r = code(() => decodeContainer(good.subarray(0, n)));
      assert.ok(['E_TRUNCATED', 'E_BAD_MAGIC', 'E_CORRUPT', 'E_CHECKSUM'].includes(r), `cut at ${n}: ${r}`);
    }
  });

  it('trailing bytes are rejected', () => {
    const t = new Uint8Array(good.length + 3);
    t.set(good);
    assert.equal(code(() => decodeContainer(t)), 'E_CORRUPT');
  });

  it('every single-bit flip is detected (never silently wrong bytes)', () => {
    for (let byte = 0; byte < good.length; byte += 3) {
      const f = good.slice();
      f[byte] ^= 1 << byte % 8;
      const r = code(() => decodeContainer(f));
      assert.notEqual(r, 'no error', `flip at byte ${byte} went unnoticed`);
    }
  });

  it('absurd lengths and counts fail fast without allocating', () => {
    // header claiming 2^32 bytes in 16-byte blocks: hundreds of millions of index entries
    const h = Uint8Array.of(0x53, 0x48, 0x50, 0x4b, 1, 3, 1, 0, 16, 0x80, 0x80, 0x80, 0x80, 0x10, 0);
    // An index sized from the header would be gigabytes: external memory barely moves.
    const before = process.memoryUsage().arrayBuffers;
    assert.equal(code(() => decodeContainer(h)), 'E_TRUNCATED');
    const big = Uint8Array.of(0x53, 0x48, 0x50, 0x4b, 1, 3, 1, 0, 16, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0);
    assert.equal(code(() => decodeContainer(big)), 'E_CORRUPT');
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no large allocation');
  });

  it('bad arguments: block size, odd int16 length, unsupported dtype', () => {
    assert.equal(code(() => encodeContainer(new Uint8Array(10), { codec: 'zvc', dtype: 'uint8', blockSize: 3 })), 'E_BAD_ARGUMENT');
    assert.equal(code(() => encodeContainer(new Uint8Array(11), { codec: 'zvc', dtype: 'int16' })), 'E_BAD_ARGUMENT');
    assert.equal(code(() => encodeContainer(new Uint8Array(10), { codec: 'zvc', dtype: 'int16', blockSize: 33 })), 'E_BAD_ARGUMENT');
    const unsupported = pairs.length < CODECS.length * DTYPES.length;
    if (unsupported) {
      const c = CODECS.find((x) => x.dtypes.length < DTYPES.length)!;
      const d = DTYPES.find((x) => !c.dtypes.includes(x))!;
      assert.equal(code(() => encodeContainer(new Uint8Array(10), { codec: c.name, dtype: d })), 'E_UNSUPPORTED_DTYPE');
    }
  });
});
