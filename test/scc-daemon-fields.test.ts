// Region fields stride, shape and layout (protocol/README.md section 4.2):
// their validation for every codec, what stats reports, and that they pass
// through a recorded trace. The SCC codec itself is tested end to end in
// test/scc-daemon.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShimpackClient } from '../clients/ts/index.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { validateRequest } from '../daemon/pipeline/validate.ts';
import { ProtocolError } from '../protocol/protocol-error.ts';
import type { RegionRequest } from '../protocol/types.ts';
import { connect, expectCode, startTestDaemon } from './daemon-harness.ts';

const regionReq = (extra: Record<string, unknown>): Record<string, unknown> => ({ op: 'region', id: 1, name: 'r', base: 0, size: 4096, dtype: 'uint8', kind: 'activation', codec: 'zvc', ...extra });

/** The validated request, or the E_BAD_FIELD message. */
function validated(extra: Record<string, unknown>): RegionRequest | string {
  try {
    return validateRequest(regionReq(extra)) as RegionRequest;
  } catch (e) {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.code, 'E_BAD_FIELD', e.message);
    return e.message;
  }
}

describe('region stride, shape and layout: validation', () => {
  it('stride is an integer 1 ... 65535', () => {
    for (const ok of [1, 64, 65535]) assert.equal((validated({ stride: ok }) as RegionRequest).stride, ok);
    for (const bad of [0, -1, 65536, 1.5, '64', true, [64]]) assert.match(validated({ stride: bad }) as string, /field "stride" must be an integer in \[1, 65535\]/, `stride ${JSON.stringify(bad)}`);
    // nil counts as absent
    assert.equal((validated({ stride: null }) as RegionRequest).stride, undefined);
  });

  it('shape with layout gives the stride: C for NHWC, O for HWIO, C*M for HWCM, 1 channel-major', () => {
    const cases: [number[], string, number][] = [
      [[1, 56, 56, 64], 'NHWC', 64],
      [[3, 3, 32, 96], 'HWIO', 96],
      [[3, 3, 32, 2], 'HWCM', 64],
      [[1, 64, 56, 56], 'NCHW', 1],
      [[128, 10], 'IO', 10],
      [[56, 56, 3], 'hwc', 3], // the layout's first word, any case
      [[3, 3, 32, 96], 'HWIO (kh,kw,in,out)', 96], // as the data-set manifest writes it
    ];
    for (const [shape, layout, stride] of cases) {
      const r = validated({ shape, layout }) as RegionRequest;
      assert.equal(typeof r, 'object', `${layout} ${shape}: ${String(r)}`);
      assert.equal(r.stride, stride, `${layout} [${shape}]`);
      assert.deepEqual(r.shape, shape);
      assert.equal(r.layout, layout);
    }
    // both given and agreeing: fine
    assert.equal((validated({ stride: 64, shape: [1, 8, 8, 64], layout: 'NHWC' }) as RegionRequest).stride, 64);
  });

  it('every fault is E_BAD_FIELD with a message naming the field', () => {
    const faults: [Record<string, unknown>, RegExp][] = [
      [{ stride: 32, shape: [1, 8, 8, 64], layout: 'NHWC' }, /"stride" is 32 but "shape" \[1, 8, 8, 64\] with "layout" NHWC gives 64/],
      [{ shape: [8, 8, 64], layout: 'NHWC' }, /layout NHWC needs a shape of 4 dimensions, got 3/],
      [{ shape: [1, 8, 8, 64], layout: 'NWHC' }, /unknown layout "NWHC"/],
      [{ shape: [1, 8, 8, 70000], layout: 'NHWC' }, /stride must be an integer 1 \.\.\. 65535, got 70000/],
      [{ shape: [1, 8, 8, 64] }, /"shape" and "layout" go together.*only "shape"/],
      [{ layout: 'NHWC' }, /"shape" and "layout" go together.*only "layout"/],
      [{ shape: [], layout: 'NHWC' }, /field "shape" must be an array of 1 to 8 integers/],
      [{ shape: [1, 0, 8, 64], layout: 'NHWC' }, /field "shape" must be/],
      [{ shape: [1, 2.5, 8, 64], layout: 'NHWC' }, /field "shape" must be/],
      [{ shape: '1,8,8,64', layout: 'NHWC' }, /field "shape" must be/],
      [{ shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], layout: 'NHWC' }, /field "shape" must be/],
      [{ shape: [1, 8, 8, 64], layout: '' }, /field "layout" must be a non-empty string/],
      [{ shape: [1, 8, 8, 64], layout: 7 }, /field "layout" must be a non-empty string/],
    ];
    for (const [extra, message] of faults) assert.match(String(validated(extra)), message, JSON.stringify(extra));
  });
});

describe('region stride through the daemon (any codec)', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  let next = 0;
  const fresh = (): { name: string; base: number; size: number } => {
    const base = next;
    next += 1 << 16;
    return { name: `f${base}`, base, size: 4096 };
  };
  before(async () => {
    d = await startTestDaemon({ lanes: 2 });
    c = await connect(d);
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('codecs that do not use the stride accept it, and stats reports it; without one, stats has none', async () => {
    for (const codec of ['apack', 'ebpc', 'zvc', 'raw'] as const) {
      const a = fresh();
      await c.region({ ...a, dtype: 'int8', kind: 'weight', codec, stride: 48 });
      assert.equal((await c.stats(a.name)).regions[0].stride, 48, codec);
      const b = fresh();
      await c.region({ ...b, dtype: 'uint8', kind: 'activation', codec, shape: [1, 4, 4, 24], layout: 'NHWC' });
      assert.equal((await c.stats(b.name)).regions[0].stride, 24, codec);
    }
    const none = fresh();
    await c.region({ ...none, dtype: 'uint8', kind: 'other', codec: 'zvc' });
    assert.equal('stride' in (await c.stats(none.name)).regions[0], false);
  });

  it('a refused stride declares nothing (the name stays free)', async () => {
    const a = fresh();
    await expectCode(c.region({ ...a, dtype: 'uint8', kind: 'activation', codec: 'zvc', stride: 16, shape: [1, 4, 4, 8], layout: 'NHWC' }), 'E_BAD_FIELD');
    await expectCode(c.region({ ...a, dtype: 'uint8', kind: 'activation', codec: 'zvc', shape: [4, 4, 8], layout: 'NHWC' }), 'E_BAD_FIELD');
    await expectCode(c.region({ ...a, dtype: 'uint8', kind: 'activation', codec: 'zvc', stride: 0 }), 'E_BAD_FIELD');
    await c.region({ ...a, dtype: 'uint8', kind: 'activation', codec: 'zvc', stride: 8 });
    const data = Uint8Array.from({ length: 4096 }, (_, i) => i % 8);
    await c.write(a.base, data);
    assert.deepEqual(await c.read(a.base, 4096), Buffer.from(data));
  });

  it('the stride survives a restart of the file backend', async () => {
    const { configWith } = await import('../daemon/config.ts');
    const { startDaemon } = await import('../daemon/server/daemon.ts');
    const { ShimpackClient } = await import('../clients/ts/index.ts');
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-stride-'));
    const cfg = configWith({ host: '127.0.0.1', port: 0, lanes: 2, backend: `file:${dir}`, sync: 'always' });
    try {
      const d1 = await startDaemon(cfg);
      const c1 = await ShimpackClient.connect(d1.url);
      await c1.region({ name: 'z', base: 0, size: 8192, dtype: 'int8', kind: 'weight', codec: 'zvc', shape: [3, 3, 4, 40], layout: 'HWIO' });
      await c1.region({ name: 'n', base: 8192, size: 4096, dtype: 'int8', kind: 'weight', codec: 'zvc' });
      await c1.write(0, Uint8Array.from({ length: 8192 }, (_, i) => (i % 5 === 0 ? i & 0x7f : 0)));
      await c1.close();
      await d1.close();
      const d2 = await startDaemon(cfg);
      const c2 = await ShimpackClient.connect(d2.url);
      try {
        const st = (await c2.stats()).regions;
        assert.equal(st.find((r) => r.name === 'z')?.stride, 40);
        assert.equal(st.find((r) => r.name === 'n')?.stride, undefined);
      } finally {
        await c2.close();
        await d2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
