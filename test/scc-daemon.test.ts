// The context codec (scc) in the daemon, end to end through the real client,
// the lanes (worker threads), stats, metrics, the file backend and replay.
// Field validation of stride/shape/layout is in test/scc-daemon-fields.test.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import type { Codec } from '../daemon/codecs/codec.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { configWith } from '../daemon/config.ts';
import { DEFAULT_DATA_DIR, loadDataset, readTensor, type TensorEntry } from '../daemon/dataset/manifest.ts';
import { CALIBRATION_BYTES } from '../daemon/pipeline/calibration.ts';
import { startDaemon, type RunningDaemon } from '../daemon/server/daemon.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { replayTrace } from '../daemon/traces/replay.ts';
import type { RegionStats } from '../protocol/types.ts';
import { connect, expectCode, startTestDaemon } from './daemon-harness.ts';

const SCC: Codec = codecByName('scc');
const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 'manifest.json'));
const SKIP = !HAVE_DATA && 'no ../shared/data';

/** A tensor of the shared data set by the end of its file name. */
function tensor(fileEnd: string): { t: TensorEntry; bytes: Uint8Array } {
  const ds = loadDataset();
  const t = ds.tensors.find((x) => x.file.endsWith(fileEnd));
  assert.ok(t, `no tensor ${fileEnd} in the data set`);
  return { t, bytes: readTensor(ds, t) };
}

/** NHWC uint8 activation, 110592 bytes [1, 24, 24, 192]: calibrates on its first 64 KiB, the rest is coded with that model. */
const ACT_U8 = 'skimage-astronaut/008_center_net_mobile_net_v2fpn_feature_extractor_model_1_model_block_4_expand.u8.bin';
/** NHWC int8 activation, 86528 bytes [1, 13, 13, 512]. */
const ACT_I8 = 'faceapi-sample2/005_conv5.i8.bin';
/** HWIO int8 weight, 131072 bytes [1, 1, 256, 512]. */
const WEIGHT_I8 = 'weights/024_MobilenetV1_Conv2d_6_pointwise_weights.i8.bin';

const footprint = (s: RegionStats): number => s.storedBytes / s.rawBytesStored;

describe('scc regions in the daemon', { skip: SKIP }, () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  let next = 0;
  /** A fresh address range of `size` bytes, 1 MiB apart. */
  const at = (size: number): number => {
    const base = next;
    next += Math.ceil((size + 1) / (1 << 20)) * (1 << 20);
    return base;
  };
  const stats = async (name: string): Promise<RegionStats> => (await c.stats(name)).regions[0];

  before(async () => {
    d = await startTestDaemon({ lanes: 2 });
    c = await connect(d);
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('hello lists scc', () => {
    assert.ok(c.hello.codecs.includes('scc'), c.hello.codecs.join(','));
  });

  it('an activation declared with its stride, written in pipelined 4 KiB pieces across lanes: exact, calibrated from its first 64 KiB, smaller than APack', async () => {
    const { t, bytes } = tensor(ACT_U8);
    const base = at(bytes.length);
    const r = await c.region({ name: 'act', base, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: t.shape[3] });
    assert.equal(r.calibration, 'pending');
    const writes: Promise<void>[] = [];
    for (let off = 0; off < bytes.length; off += 4096) writes.push(c.write(base + off, bytes.subarray(off, off + 4096)));
    // a read issued before the writes are answered sees them (section 3)
    const back = c.read(base, bytes.length);
    await Promise.all(writes);
    assert.deepEqual(await back, Buffer.from(bytes));
    const s = await stats('act');
    assert.deepEqual([s.codec, s.stride, s.calibration, s.blocksHeld], ['scc', t.shape[3], 'first-write', Math.ceil(bytes.length / 4096)]);
    assert.ok(s.ratio > 1, `ratio ${s.ratio}`);
    // the same data in APack, same pieces
    const abase = at(bytes.length);
    await c.region({ name: 'act-apack', base: abase, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'apack' });
    const aw: Promise<void>[] = [];
    for (let off = 0; off < bytes.length; off += 4096) aw.push(c.write(abase + off, bytes.subarray(off, off + 4096)));
    await Promise.all(aw);
    const a = await stats('act-apack');
    assert.ok(footprint(s) < footprint(a), `scc footprint ${footprint(s).toFixed(4)} vs apack ${footprint(a).toFixed(4)}`);
    // partial reads across block edges and lanes
    for (const [off, len] of [[4090, 12], [1, 8191], [bytes.length - 5000, 5000], [65530, 20]]) {
      assert.deepEqual(await c.read(base + off, len), Buffer.from(bytes.subarray(off, off + len)), `read ${off}+${len}`);
    }
  });

  it('a weight declared with shape + layout, written at once: the stride is derived, calibrated at that write', async () => {
    const { t, bytes } = tensor(WEIGHT_I8);
    const base = at(bytes.length);
    await c.region({ name: 'w', base, size: bytes.length, dtype: 'int8', kind: 'weight', codec: 'scc', shape: [...t.shape], layout: t.layout });
    await c.write(base, bytes);
    const s = await stats('w');
    assert.deepEqual([s.codec, s.stride, s.calibration, s.blocksRaw], ['scc', t.shape[3], 'first-write', 0]);
    assert.ok(s.ratio > 1, `ratio ${s.ratio}`);
    assert.deepEqual(await c.read(base, bytes.length), Buffer.from(bytes));
  });

  it('partial, unaligned and overlapping writes before and after calibration read back exactly (1 KiB blocks, 2 lanes)', async () => {
    const { t, bytes } = tensor(ACT_I8);
    const size = bytes.length;
    const base = at(size) + 3; // a base off the block grid: blocks start at base + k * blockBytes
    await c.region({ name: 'partial', base, size, dtype: 'int8', kind: 'activation', codec: 'scc', stride: t.shape[3], blockBytes: 1024 });
    const model = new Uint8Array(size);
    const put = (off: number, len: number, src = bytes): Promise<void> => {
      model.set(src.subarray(off, off + len), off);
      return c.write(base + off, src.subarray(off, off + len));
    };
    // pending: scattered pieces, one overlapping another, a zero-length write
    await Promise.all([put(1000, 3000), put(50_000, 777), put(2500, 10_000), put(0, 0)]);
    // Looked at inside the daemon: stats would calibrate the region on what it has.
    assert.equal(d.engine.regions.named('partial')?.calibration, 'pending');
    assert.deepEqual(await c.read(base, size), Buffer.from(model));
    // the write that completes the 64 KiB, then more pieces coded with the fitted model
    await put(13_000, CALIBRATION_BYTES);
    const s = await stats('partial');
    assert.equal(s.calibration, 'first-write');
    const shifted = bytes.map((v) => (v + 1) & 0xff);
    await Promise.all([put(77_000, size - 77_000), put(999, 2, shifted), put(4095, 1030, shifted), put(60_000, 1, shifted)]);
    assert.deepEqual(await c.read(base, size), Buffer.from(model));
    assert.deepEqual(await c.read(base + 1020, 10), Buffer.from(model.subarray(1020, 1030)));
    const end = await stats('partial');
    assert.equal(end.blocksRaw < end.blocksHeld, true, `${end.blocksRaw} of ${end.blocksHeld} blocks raw`);
  });

  it('calibration from a histogram and from a table', async () => {
    const { t, bytes } = tensor(ACT_U8);
    const hist = new Array<number>(256).fill(0);
    for (const v of bytes) hist[v]++;
    const hb = at(bytes.length);
    const h = await c.region({ name: 'hist', base: hb, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: t.shape[3], histogram: hist });
    assert.equal(h.calibration, 'histogram');
    await c.write(hb, bytes);
    assert.deepEqual(await c.read(hb, bytes.length), Buffer.from(bytes));
    const hs = await stats('hist');
    assert.equal(hs.calibration, 'histogram');
    assert.ok(hs.ratio > 1, `ratio ${hs.ratio}`);
    // the table: the model the codec fits to this tensor (what compress --codec scc stores)
    const table = SCC.fit(bytes, 'uint8', { stride: t.shape[3], kind: 'activation' }).params;
    const tb = at(bytes.length);
    assert.equal((await c.region({ name: 'table', base: tb, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: t.shape[3], table })).calibration, 'table');
    await c.write(tb, bytes);
    assert.deepEqual(await c.read(tb, bytes.length), Buffer.from(bytes));
    const ts = await stats('table');
    // fitted to the whole tensor, not just 64 KiB: at least as good as the first-write region above
    assert.ok(ts.ratio > hs.ratio * 0.98, `table ${ts.ratio} vs histogram ${hs.ratio}`);
  });

  it('refusals: no stride, dtypes scc lacks, a bad table, a bad histogram', async () => {
    const base = at(4096);
    await expectCode(c.region({ name: 'e1', base, size: 4096, dtype: 'uint8', kind: 'activation', codec: 'scc' }), 'E_BAD_FIELD');
    try {
      await c.region({ name: 'e1', base, size: 4096, dtype: 'uint8', kind: 'weight', codec: 'scc' });
      assert.fail('accepted');
    } catch (e) {
      assert.match((e as Error).message, /codec scc needs the tensor's stride: give field "stride".*or "shape" and "layout"/);
    }
    for (const dtype of ['int16', 'uint4', 'int4'] as const) await expectCode(c.region({ name: 'e2', base, size: 4096, dtype, kind: 'other', codec: 'scc', stride: 4 }), 'E_UNSUPPORTED');
    await expectCode(c.region({ name: 'e3', base, size: 4096, dtype: 'uint8', kind: 'other', codec: 'scc', stride: 4, table: Uint8Array.of(1, 2, 3) }), 'E_BAD_TABLE');
    // a table holds its own stride: it must be the region's
    const table8 = SCC.fit(Uint8Array.from({ length: 8192 }, (_, i) => (i % 8) * 3), 'uint8', { stride: 8, kind: 'activation' }).params;
    await expectCode(c.region({ name: 'e3', base, size: 4096, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: 4, table: table8 }), 'E_BAD_TABLE');
    await expectCode(c.region({ name: 'e3', base, size: 4096, dtype: 'uint8', kind: 'activation', codec: 'scc', table: table8 }), 'E_BAD_FIELD');
    await expectCode(c.region({ name: 'e4', base, size: 4096, dtype: 'uint8', kind: 'other', codec: 'scc', stride: 4, histogram: [1, 2, 3] }), 'E_BAD_TABLE');
    await expectCode(c.region({ name: 'e5', base, size: 4096, dtype: 'uint8', kind: 'other', codec: 'scc', stride: 4, histogram: new Array(256).fill(0) }), 'E_BAD_TABLE');
    // nothing was declared: the name and range are free
    await c.region({ name: 'e1', base, size: 4096, dtype: 'uint8', kind: 'other', codec: 'scc', stride: 4 });
  });

  it('a region shorter than its stride, and one smaller than a block, round-trip', async () => {
    const base = at(300);
    await c.region({ name: 'tiny', base, size: 300, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: 1000 });
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff);
    await c.write(base, data);
    assert.equal((await stats('tiny')).calibration, 'first-write');
    assert.deepEqual(await c.read(base, 300), Buffer.from(data));
  });

  it('metrics carry codec="scc"', async () => {
    const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
    assert.match(text, /shimpack_raw_bytes_total\{[^}]*codec="scc"[^}]*op="write"[^}]*\} [1-9]/);
    assert.match(text, /shimpack_stored_bytes_total\{[^}]*codec="scc"/);
  });
});

describe('scc calibration bytes count against --max-memory', { skip: SKIP }, () => {
  it('a pending scc region holds its kept bytes besides its raw blocks; freeing it gives them back', async () => {
    const d = await startTestDaemon({ lanes: 1, maxMemory: 100_000 });
    const c = await connect(d);
    try {
      const data = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 7) & 0xff);
      await c.region({ name: 's', base: 0, size: 1 << 20, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: 8 });
      await c.region({ name: 'a', base: 2 << 20, size: 1 << 20, dtype: 'uint8', kind: 'activation', codec: 'apack' });
      await c.write(0, data.subarray(0, 40_000)); // ~40 kB held raw + 40 kB kept to fit from
      // 15 kB more: raw 15 kB + kept 15 kB would pass 100 kB; for APack (no copy) the same write fits
      await expectCode(c.write(40_000, data.subarray(40_000, 55_000)), 'E_MEMORY_FULL');
      await c.write(2 << 20, data.subarray(0, 15_000));
      await c.free('s');
      await c.region({ name: 's2', base: 0, size: 1 << 20, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: 8 });
      await c.write(0, data.subarray(0, 30_000)); // the freed region's raw blocks and kept bytes are gone
      assert.deepEqual(await c.read(0, 30_000), Buffer.from(data.subarray(0, 30_000)));
    } finally {
      await c.close();
      await d.close();
    }
  });
});

describe('scc regions across a restart (file backend)', { skip: SKIP }, () => {
  it('a calibrated region keeps its model and stride; a pending one calibrates after the restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-scc-restart-'));
    const cfg = configWith({ host: '127.0.0.1', port: 0, lanes: 2, backend: `file:${dir}`, sync: 'always' });
    const { t, bytes } = tensor(ACT_U8);
    const half = 40_000;
    try {
      const d1 = await startDaemon(cfg);
      const c1 = await ShimpackClient.connect(d1.url);
      await c1.region({ name: 'done', base: 0, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'scc', shape: [...t.shape], layout: 'NHWC' });
      await c1.write(0, bytes);
      await c1.region({ name: 'waiting', base: 1 << 20, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'scc', stride: t.shape[3] });
      await c1.write(1 << 20, bytes.subarray(0, half));
      const before = (await c1.stats('done')).regions[0];
      await c1.close();
      await d1.close();
      const d2 = await startDaemon(cfg);
      const c2 = await ShimpackClient.connect(d2.url);
      try {
        const done = (await c2.stats('done')).regions[0];
        assert.deepEqual([done.codec, done.stride, done.calibration, done.storedBytes], ['scc', t.shape[3], 'first-write', before.storedBytes]);
        assert.deepEqual(await c2.read(0, bytes.length), Buffer.from(bytes));
        // written after the restart: coded with the model from before it
        await c2.write(5000, bytes.subarray(0, 3000));
        const expect = bytes.slice();
        expect.set(bytes.subarray(0, 3000), 5000);
        assert.deepEqual(await c2.read(0, bytes.length), Buffer.from(expect));
        const waiting = (await c2.stats('waiting')).regions[0];
        assert.deepEqual([waiting.codec, waiting.stride, waiting.calibration, waiting.blocksRaw], ['scc', t.shape[3], 'pending', waiting.blocksHeld]);
        await c2.write((1 << 20) + half, bytes.subarray(half));
        await c2.read(1 << 20, 1); // behind the re-coding of the raw blocks
        const w = (await c2.stats('waiting')).regions[0];
        assert.equal(w.calibration, 'first-write');
        assert.equal(w.blocksRaw, 0);
        assert.deepEqual(await c2.read(1 << 20, bytes.length), Buffer.from(bytes));
      } finally {
        await c2.close();
        await d2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('replay of trace gen --codec scc', { skip: SKIP }, () => {
  it('every region is scc with the stride from its shape; every read verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-scc-replay-'));
    const d = await startTestDaemon({ lanes: 2 });
    try {
      const trace = join(dir, 'tiny.trace');
      await generateModelTrace({ dataDir: DEFAULT_DATA_DIR, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 4096, weights: 'int8', bandwidth: 16, codec: 'scc' });
      const s = await replayTrace({ trace, url: d.url, speed: 'max', copies: 1, loop: false, verify: true, window: 64, keepRegions: true });
      assert.equal(s.errors, 0, s.problems.join('\n'));
      assert.equal(s.mismatches, 0);
      assert.equal(s.verifiedReads, s.reads);
      const c = await connect(d);
      try {
        const regions = (await c.stats()).regions;
        assert.equal(regions.length, 18);
        for (const r of regions) {
          assert.equal(r.codec, 'scc', r.name);
          assert.ok(r.stride !== undefined && r.stride >= 1, `${r.name} stride ${r.stride}`);
        }
        const conv = regions.find((r) => r.name === 'w:conv0/filters')!;
        assert.equal(conv.stride, 16); // HWIO [3, 3, 3, 16]: O
        const totals = (await c.stats()).totals;
        assert.ok(totals.ratio > 1, `ratio ${totals.ratio}`);
      } finally {
        await c.close();
      }
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
