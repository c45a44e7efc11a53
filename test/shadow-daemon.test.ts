// Shadow codecs (--shadow) end to end: a real daemon with worker lanes, the
// real client, a generated trace of a real model. At --shadow-sample 1 each
// shadow codec's footprint of a region must agree within 1 point with
// `shimpack compress` of the region's bytes (encodeContainer, the code behind
// compress), computed here.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeContainer, readContainerInfo } from '../daemon/codecs/container.ts';
import type { CodecName } from '../daemon/codecs/codec.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { DEFAULT_DATA_DIR } from '../daemon/dataset/manifest.ts';
import { CALIBRATION_BYTES } from '../daemon/pipeline/calibration.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { replayTrace } from '../daemon/traces/replay.ts';
import type { RegionStats, ShadowStats, StatsResponse } from '../protocol/types.ts';
import { mergeStats } from '../clients/ts/channels.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

const HAVE_DATA = existsSync(join(DEFAULT_DATA_DIR, 'manifest.json'));
const SKIP = !HAVE_DATA && 'no ../shared/data';
const SHADOW = ['apack', 'ebpc', 'scc', 'zvc'] as const;

/**
 * What `shimpack compress` stores for these bytes as block payloads (the
 * daemon holds the same: header, index and table are metadata), over the raw
 * size, and whether it stored the whole tensor raw because its table and
 * index did not pay for themselves (a container decision the daemon's
 * regions do not make).
 */
function compressFootprint(bytes: Uint8Array, r: RegionStats, codec: CodecName): { fp: number; wholeRaw: boolean } {
  const codecOptions = { ...(r.stride === undefined ? {} : { stride: r.stride }), kind: r.kind };
  // As `compress --fit-bytes 65536`: the table fitted to the first CALIBRATION_BYTES, which is what the daemon sees before it fits.
  const model = codecByName(codec).fit(bytes.subarray(0, Math.min(bytes.length, CALIBRATION_BYTES)), r.dtype, codecOptions);
  const out = encodeContainer(bytes, { codec, dtype: r.dtype, blockSize: r.blockBytes, codecOptions, model });
  const info = readContainerInfo(out);
  const payload = info.blocks.reduce((a, b) => a + b.storedBytes, 0);
  return { fp: payload / bytes.length, wholeRaw: info.wholeTensorRaw };
}

describe('shadow codecs agree with compress', { skip: SKIP }, () => {
  it('at sample 1, every shadow codec of every region of a model trace is within 1 point of compress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-shadow-'));
    const d = await startTestDaemon({ lanes: 2, shadow: SHADOW.join(','), shadowSample: 1, lineBufferIdleMs: 0 });
    try {
      const trace = join(dir, 'tiny.trace');
      await generateModelTrace({ dataDir: DEFAULT_DATA_DIR, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 4096, weights: 'int8', bandwidth: 16 });
      const s = await replayTrace({ trace, url: d.url, speed: 'max', copies: 1, loop: false, verify: true, window: 64, keepRegions: true });
      assert.equal(s.errors, 0, s.problems.join('\n'));
      const c = await connect(d);
      try {
        await c.flush();
        const stats = await c.stats();
        let compared = 0;
        const rows: string[] = [];
        for (const r of stats.regions) {
          assert.ok(r.shadow, `${r.name}: no shadow figures`);
          assert.deepEqual(r.shadow.map((x) => x.codec), [...SHADOW]);
          // Compare regions held whole: the shadow figures cover held blocks.
          if (r.rawBytesStored !== r.size) continue;
          const bytes = await c.read(r.base, r.size);
          for (const sh of r.shadow) {
            const codec = codecByName(sh.codec);
            if (!codec.dtypes.includes(r.dtype)) {
              assert.equal(sh.status, 'skipped', `${r.name} ${sh.codec}`);
              assert.match(sh.reason ?? '', /does not support dtype/);
              continue;
            }
            if (sh.codec === 'scc' && r.stride === undefined) {
              assert.equal(sh.status, 'skipped');
              continue;
            }
            assert.equal(sh.status, 'ok', `${r.name} ${sh.codec}: ${sh.status} ${sh.reason ?? ''}`);
            assert.equal(sh.sampledRawBytes, r.rawBytesStored, `${r.name} ${sh.codec}: every block sampled`);
            const shadowFp = sh.sampledStoredBytes / sh.sampledRawBytes;
            const { fp: compressFp, wholeRaw } = compressFootprint(bytes, r, sh.codec);
            if (wholeRaw && Math.abs(shadowFp - compressFp) > 0.01) {
              // Only tiny tensors, where the table outweighs what it saves.
              assert.ok(r.size <= 2048, `${r.name} ${sh.codec}: compress stored ${r.size} B whole raw, shadow ${(shadowFp * 100).toFixed(2)} %`);
              rows.push(`${r.name} ${sh.codec} (${r.size} B): compress stores it whole raw, shadow ${(shadowFp * 100).toFixed(2)} %: not compared`);
              continue;
            }
            rows.push(`${r.name} ${sh.codec} (${r.size} B) shadow ${(shadowFp * 100).toFixed(2)} % compress ${(compressFp * 100).toFixed(2)} %`);
            assert.ok(Math.abs(shadowFp - compressFp) <= 0.01, `${r.name} ${sh.codec}: shadow ${(shadowFp * 100).toFixed(2)} % vs compress ${(compressFp * 100).toFixed(2)} %`);
            compared++;
          }
          // The region's own codec: its shadow figure is its real footprint.
          const own = r.shadow.find((x) => x.codec === r.codec);
          if (own?.status === 'ok') assert.ok(Math.abs(own.sampledStoredBytes / own.sampledRawBytes - r.storedBytes / r.rawBytesStored) <= 0.01, `${r.name}: own codec`);
        }
        process.stdout.write(`# ${rows.join('\n# ')}\n`);
        assert.ok(compared >= 20, `only ${compared} comparisons`);
        const t = stats.totals.shadow;
        assert.ok(t && t.length === SHADOW.length);
        assert.ok(t.every((x) => x.sampledBlocks > 0 && x.ratio > 1), JSON.stringify(t));
      } finally {
        await c.close();
      }
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shadow coding changes nothing stored', () => {
  it('the same writes store the same bytes and sizes with and without --shadow', async () => {
    const results: { stored: number; bursts: number; back: Uint8Array }[] = [];
    for (const shadow of ['', 'apack,ebpc,zvc']) {
      const d = await startTestDaemon({ lanes: 2, shadow, shadowSample: 2, lineBufferIdleMs: 0 });
      try {
        const c = await connect(d);
        const data = testBytes(96 * 1024, 7, 0.4);
        await c.region({ name: 'w', base: 0, size: data.length, dtype: 'int8', kind: 'weight', codec: 'apack' });
        for (let o = 0; o < data.length; o += 1000) await c.write(o, data.subarray(o, Math.min(data.length, o + 1000)));
        await c.flush();
        const s = (await c.stats('w')).regions[0];
        results.push({ stored: s.storedBytes, bursts: s.burstsStored, back: new Uint8Array(await c.read(0, data.length)) });
        assert.deepEqual(results.at(-1)!.back, data);
        if (shadow) {
          const sh = s.shadow!;
          assert.deepEqual(sh.map((x) => [x.codec, x.status]), [['apack', 'ok'], ['ebpc', 'ok'], ['zvc', 'ok']]);
          // Blocks 0, 2, 4, ... of 24: 12 sampled.
          assert.ok(sh.every((x) => x.sampledBlocks === 12), JSON.stringify(sh));
          // The apack shadow uses the region's own table: the same sizes as the real path on the same blocks.
          assert.ok(Math.abs(sh[0].ratio - s.ratio) / s.ratio < 0.05, `${sh[0].ratio} vs ${s.ratio}`);
        } else assert.equal(s.shadow, undefined);
        await c.close();
      } finally {
        await d.close();
      }
    }
    assert.equal(results[0].stored, results[1].stored);
    assert.equal(results[0].bursts, results[1].bursts);
  });
});

describe('shadow codec status per region', () => {
  it('skips codecs that cannot code the region (dtype, stride), waits for a table, then reports', async () => {
    const d = await startTestDaemon({ lanes: 1, shadow: 'apack,ebpc,scc,zvc', shadowSample: 1, lineBufferIdleMs: 0 });
    try {
      const c = await connect(d);
      await c.region({ name: 'i16', base: 0, size: 8192, dtype: 'int16', kind: 'activation', codec: 'zvc' });
      await c.region({ name: 'act', base: 1 << 20, size: 256 * 1024, dtype: 'uint8', kind: 'activation', codec: 'ebpc' });
      const by = async (name: string) => Object.fromEntries((await c.stats(name)).regions[0].shadow!.map((s) => [s.codec, s]));
      const i16 = await by('i16');
      assert.equal(i16.apack.status, 'skipped');
      assert.match(i16.apack.reason!, /apack does not support dtype int16/);
      assert.equal(i16.scc.status, 'skipped');
      assert.equal(i16.ebpc.status, 'ok'); // EBPC takes int16 (W = 16)
      assert.equal(i16.zvc.status, 'ok');
      let act = await by('act');
      assert.equal(act.scc.status, 'skipped');
      assert.match(act.scc.reason!, /needs the region's stride/);
      assert.equal(act.apack.status, 'pending'); // nothing written: no table yet
      // 8 KiB written in bursts: below the 64 KiB window; a flush fits the table on what there is, the sampled blocks are coded again.
      const data = testBytes(8192, 11, 0.6);
      for (let o = 0; o < data.length; o += 64) await c.write((1 << 20) + o, data.subarray(o, o + 64));
      await c.flush();
      act = await by('act');
      assert.equal(act.apack.status, 'ok');
      assert.equal(act.apack.sampledBlocks, 2);
      assert.equal(act.apack.sampledRawBytes, 8192);
      assert.ok(act.apack.ratio > 1.2, `${act.apack.ratio}`);
      assert.equal(act.ebpc.sampledBlocks, 2);
      // The estimate scales the sampled ratio to what the region holds.
      const r = (await c.stats('act')).regions[0];
      assert.equal(act.apack.estimatedStoredBytes, Math.round((r.rawBytesStored * act.apack.sampledStoredBytes) / act.apack.sampledRawBytes));
      // Totals: per codec, over the regions where it is ok.
      const t = (await c.stats()).totals.shadow!;
      assert.deepEqual(t.map((x) => x.codec), ['apack', 'ebpc', 'scc', 'zvc']);
      assert.equal(t.find((x) => x.codec === 'scc')!.sampledBlocks, 0);
      assert.equal(t.find((x) => x.codec === 'zvc')!.sampledBlocks, 2);
      await c.close();
    } finally {
      await d.close();
    }
  });
});

describe('channel clients merge shadow figures', () => {
  it('sampled sums add up, ratios and estimates are recomputed, ok wins over pending', () => {
    const sh = (status: 'ok' | 'pending', raw: number, stored: number, est: number): ShadowStats => ({ codec: 'apack', status, sampledBlocks: raw / 4096, sampledRawBytes: raw, sampledStoredBytes: stored, ratio: stored ? raw / stored : 1, estimatedStoredBytes: est });
    const region = (shadow: ShadowStats, held: number) => ({ name: 'x', rawBytesStored: held, storedBytes: held / 2, shadow: [shadow] }) as unknown as RegionStats;
    const answer = (shadow: ShadowStats, held: number): StatsResponse => ({
      id: 1,
      ok: true,
      regions: [region(shadow, held)],
      totals: { rawBytesStored: held, storedBytes: held / 2, regions: 1, shadow: [shadow] } as unknown as StatsResponse['totals'],
      memory: { name: 'hbm2', pjPerBit: 3.9, gbps: 256, burstBytes: 64, codecClockMhz: 1000 },
    });
    const m = mergeStats([answer(sh('ok', 8192, 4096, 16384), 32768), answer(sh('pending', 0, 0, 0), 32768), answer(sh('ok', 4096, 1024, 4096), 16384)]);
    const s = m.regions[0].shadow![0];
    assert.deepEqual([s.status, s.sampledBlocks, s.sampledRawBytes, s.sampledStoredBytes], ['ok', 3, 12288, 5120]);
    assert.equal(s.ratio, 12288 / 5120);
    assert.equal(s.estimatedStoredBytes, Math.round((81920 * 5120) / 12288));
    assert.equal(m.totals.shadow![0].estimatedStoredBytes, 16384 + 4096);
    assert.equal(m.memory.name, 'hbm2');
  });
});
