import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { crc32 } from 'node:zlib';
import { TraceError } from '../daemon/traces/errors.ts';
import type { RegionRecord } from '../daemon/traces/format.ts';
import { generateModelTrace, planModelTrace } from '../daemon/traces/model-gen.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { SHARED } from './root.ts';

const dataDir = `${SHARED}data`;
const dir = mkdtempSync(join(tmpdir(), 'trace-gen-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = 'faceapi-tiny-face-detector';

describe('trace gen', () => {
  const ds = loadDataset(dataDir);

  it('plans tiny-face-detector layer by layer from the manifest', () => {
    const p = planModelTrace(ds, MODEL, 'int8');
    assert.equal(p.weights.length, 12);
    assert.equal(p.activations.length, 6);
    assert.ok(p.weights.every((w) => w.dtype === 'int8'));
    // conv0 reads its filter; conv1..5 read depthwise + pointwise; conv8 (no recorded map) reads conv5's map
    assert.deepEqual(
      p.layers.map((l) => [l.weights.map((i) => p.weights[i].layer), l.input, l.output]),
      [
        [['conv0/filters'], undefined, 0],
        [['conv1/depthwise_filter', 'conv1/pointwise_filter'], 0, 1],
        [['conv2/depthwise_filter', 'conv2/pointwise_filter'], 1, 2],
        [['conv3/depthwise_filter', 'conv3/pointwise_filter'], 2, 3],
        [['conv4/depthwise_filter', 'conv4/pointwise_filter'], 3, 4],
        [['conv5/depthwise_filter', 'conv5/pointwise_filter'], 4, 5],
        [['conv8/filters'], 5, undefined],
      ],
    );
    const native = planModelTrace(ds, MODEL, 'native');
    assert.ok(native.weights.every((w) => w.dtype === 'uint8' && w.file.endsWith('.native-u8.bin')));
  });

  it('writes weights once, then per layer reads weights and input, writes output, with the real bytes', async () => {
    const out = join(dir, 'tiny.trace.gz');
    const burst = 256;
    const s = await generateModelTrace({ dataDir, model: MODEL, out, burstBytes: burst, weights: 'int8', bandwidth: 16 });
    const plan = planModelTrace(ds, MODEL, 'int8');
    const regions = new Map<string, RegionRecord>();
    // the expected op sequence at tensor granularity: [op, region name]
    const expected: [string, string][] = [];
    const wname = (i: number): string => `w:${plan.weights[i].layer}`;
    const aname = (i: number): string => `a:${plan.activations[i].layer}`;
    plan.weights.forEach((_w, i) => expected.push(['write', wname(i)]));
    for (const l of plan.layers) {
      for (const i of l.weights) expected.push(['read', wname(i)]);
      if (l.input !== undefined) expected.push(['read', aname(l.input)]);
      if (l.output !== undefined) expected.push(['write', aname(l.output)]);
    }
    const seen: [string, string][] = [];
    let ops = 0;
    let lastT = -1;
    let cursor = { name: '', next: 0 };
    const bytesOf = new Map<string, Uint8Array>();
    for (const t of [...plan.weights, ...plan.activations]) bytesOf.set(t.kind === 'weight' ? `w:${t.layer}` : `a:${t.layer}`, readTensor(ds, t));
    for await (const r of readTrace(out)) {
      if (r.type === 'region') {
        regions.set(r.name, r);
        assert.equal(r.base % 4096, 0);
      }
      if (r.type !== 'op' || (r.op !== 'read' && r.op !== 'write')) continue;
      ops++;
      assert.ok(r.t >= lastT, 'time never goes back');
      lastT = r.t;
      const reg = [...regions.values()].find((g) => r.addr >= g.base && r.addr < g.base + g.size)!;
      assert.ok(reg, 'every op is inside a declared region');
      const off = r.addr - reg.base;
      if (cursor.name !== reg.name || off === 0 || seen[seen.length - 1][0] !== r.op) {
        assert.equal(off, 0, 'a tensor is streamed from its start');
        seen.push([r.op, reg.name]);
        cursor = { name: reg.name, next: 0 };
      }
      assert.equal(off, cursor.next, 'bursts are consecutive');
      const src = bytesOf.get(reg.name)!;
      assert.equal(r.len, Math.min(burst, src.length - off));
      cursor.next += r.len;
      const want = src.subarray(off, off + r.len);
      if (r.op === 'write') assert.deepEqual(new Uint8Array(r.data), want);
      else assert.equal(r.crc, crc32(want));
    }
    assert.deepEqual(seen, expected);
    assert.equal(ops, s.ops);
    assert.equal(regions.size, 18);
    for (const t of [...plan.weights, ...plan.activations]) {
      const g = regions.get(t.kind === 'weight' ? `w:${t.layer}` : `a:${t.layer}`)!;
      assert.equal(g.kind, t.kind);
      assert.equal(g.dtype, t.dtype);
      assert.ok(g.size >= t.bytes);
      // the tensor's shape and layout name, so the daemon knows its stride; no codec unless asked
      assert.deepEqual(g.shape, t.shape);
      assert.equal(g.layout, t.layout.split(' ')[0]);
      assert.equal('codec' in g, false);
    }
    const weightBytes = plan.weights.reduce((a, w) => a + w.bytes, 0);
    const actBytes = plan.activations.reduce((a, w) => a + w.bytes, 0);
    assert.equal(s.writeBytes, weightBytes + actBytes);
    // every weight is read once and every map is read once as the next layer's input (conv8 reads conv5's)
    assert.equal(s.readBytes, weightBytes + actBytes);
  });

  it('--codec: every region asks for it, and the header says so', async () => {
    const out = join(dir, 'tiny-scc.trace');
    await generateModelTrace({ dataDir, model: MODEL, out, burstBytes: 4096, weights: 'int8', bandwidth: 16, codec: 'scc' });
    let regions = 0;
    for await (const r of readTrace(out)) {
      if (r.type === 'header') assert.equal(r.codec, 'scc');
      if (r.type !== 'region') continue;
      regions++;
      assert.equal(r.codec, 'scc');
      assert.ok(r.shape && r.layout, `${r.name} has shape and layout`);
    }
    assert.equal(regions, 18);
  });

  it('names the models when the model is unknown', async () => {
    await assert.rejects(
      generateModelTrace({ dataDir, model: 'nope', out: join(dir, 'x.trace'), burstBytes: 64, weights: 'int8', bandwidth: 16 }),
      (e: unknown) => e instanceof TraceError && e.code === 'E_TRACE_DATA' && /faceapi-tiny-face-detector/.test(e.message),
    );
  });
});
