import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ShimpackClient } from '../clients/ts/index.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { encodeVectorRequest } from '../protocol/vector-frame.ts';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';
import { checkProperty } from './property.ts';

/** Every width of msgpack unsigned integer, and its edges. */
const uintArb = fc.oneof(
  fc.constantFrom(0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 48 - 64, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: 127 }),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

describe('writev / readv encoding (protocol/vector-frame.ts)', () => {
  it('decodes to the map msgpackr writes from plain arrays, for every integer width and vector length', () => {
    checkProperty(
      fc.property(
        fc.array(fc.tuple(uintArb, uintArb), { minLength: 0, maxLength: 70 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
        fc.boolean(),
        (els, id, data, typed) => {
          const addrs = els.map((e) => e[0]);
          const lens = els.map((e) => e[1]);
          const op = data ? 'writev' : 'readv';
          const frame = encodeVectorRequest(op, id, typed ? Float64Array.from(addrs) : addrs, typed ? Float64Array.from(lens) : lens, data);
          assert.ok(frame);
          const plain = data ? { op, addrs, lens, data, id } : { op, addrs, lens, id };
          const got = decodeFrame(frame) as Record<string, unknown>;
          assert.deepEqual(normalise(got), normalise(decodeFrame(encodeFrame(plain)) as Record<string, unknown>));
          assert.deepEqual(got.addrs, addrs);
          assert.deepEqual(got.lens, lens);
          assert.equal(got.id, id);
          if (data) assert.deepEqual(Buffer.from(got.data as Uint8Array), Buffer.from(data));
        },
      ),
      { seed: 20261207, numRuns: 300 },
    );
  });

  it('holds vectors of 16 and 65536 elements (array 16 and array 32 headers) and bin 16 / bin 32 data', () => {
    for (const n of [15, 16, 65535, 65536]) {
      const addrs = Array.from({ length: n }, (_, i) => i * 64);
      const lens = new Array<number>(n).fill(1);
      const data = testBytes(n, n);
      const got = decodeFrame(encodeVectorRequest('writev', 7, addrs, lens, data)!) as { addrs: number[]; lens: number[]; data: Uint8Array };
      assert.equal(got.addrs.length, n);
      assert.equal(got.addrs[n - 1], (n - 1) * 64);
      assert.deepEqual(Buffer.from(got.data), Buffer.from(data));
    }
  });

  it('leaves to msgpackr (returns undefined) what is not a whole number in [0, 2^53), and arrays of different lengths', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53, -0.5]) {
      assert.equal(encodeVectorRequest('readv', 1, [0, bad], [1, 1]), undefined, `addr ${bad}`);
      assert.equal(encodeVectorRequest('writev', 1, [0], [bad], new Uint8Array(1)), undefined, `len ${bad}`);
    }
    assert.equal(encodeVectorRequest('readv', 1, [0, 64], [64]), undefined);
  });
});

describe('writev / readv through the TS client, values the encoder leaves to msgpackr', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  before(async () => {
    d = await startTestDaemon({ lanes: 1 });
    c = await connect(d);
    await c.region({ name: 'r', base: 0, size: 8192, dtype: 'int8', kind: 'other', codec: 'raw' });
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('the daemon judges them as before: E_BAD_FIELD for the whole request, and the connection goes on', async () => {
    await expectCode(c.writev([0, -64], [64, 64], new Uint8Array(128)), 'E_BAD_FIELD');
    await expectCode(c.readv([0], [1.5]), 'E_BAD_FIELD');
    const data = testBytes(128, 3);
    assert.deepEqual(await c.writev(new Float64Array([64, 1024]), new Float64Array([64, 64]), data), []);
    assert.deepEqual(Buffer.from((await c.readv([64, 1024], [64, 64])).data), Buffer.from(data));
  });
});

/** Binary fields as plain bytes, so views of different frames compare by content. */
function normalise(m: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? Array.from(v) : v]));
}
