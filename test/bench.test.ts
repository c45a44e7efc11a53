import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultColumns, order0EntropyBits, runRatioBench } from '../daemon/bench/ratio.ts';
import { nhwcToChannelMajor } from '../daemon/bench/layout.ts';
import { runSpeedBench } from '../daemon/bench/speed.ts';
import { loadDataset } from '../daemon/dataset/manifest.ts';
import { CODECS, JS_CODECS } from '../daemon/codecs/index.ts';
import { formatRatioReport } from '../daemon/cli/commands/bench.ts';
import { randomBytes } from './helpers.ts';

/** A two-tensor data set in the ../shared/data manifest format. */
function tinyDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shimpack-ds-'));
  mkdirSync(join(dir, 't'));
  const act = randomBytes(8 * 8 * 16, 3).map((v) => (v < 140 ? 0 : v - 140));
  const wgt = randomBytes(3 * 3 * 4 * 8, 4).map((v) => (v % 9) - 4 & 0xff);
  writeFileSync(join(dir, 't/a.bin'), act);
  writeFileSync(join(dir, 't/w.bin'), wgt);
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      tensors: [
        { file: 't/a.bin', model: 'm', layer: 'l0', kind: 'activation', dtype: 'uint8', shape: [1, 8, 8, 16], layout: 'NHWC', bytes: act.length },
        { file: 't/w.bin', model: 'm', layer: 'l0/w', kind: 'weight', dtype: 'int8', shape: [3, 3, 4, 8], layout: 'HWIO (kh,kw,in,out)', bytes: wgt.length },
      ],
    }),
  );
  return dir;
}

describe('bench', () => {
  it('order-0 entropy of known distributions', () => {
    assert.equal(order0EntropyBits(new Uint8Array(100)), 0);
    assert.equal(order0EntropyBits(Uint8Array.from({ length: 256 }, (_, i) => i)), 8);
    assert.equal(order0EntropyBits(Uint8Array.of(1, 2, 1, 2)), 1);
  });

  it('channel-major reordering moves channel c of pixel p to c * pixels + p', () => {
    const d = Uint8Array.of(1, 2, 3, 4, 5, 6); // 2 pixels x 3 channels
    assert.deepEqual(nhwcToChannelMajor(d, [1, 1, 2, 3]), Uint8Array.of(1, 4, 2, 5, 3, 6));
  });

  it('ratio: per-tensor footprints and weighted summaries are consistent', () => {
    const ds = loadDataset(tinyDataset());
    const seen: number[] = [];
    const r = runRatioBench(ds, { blockSize: 512, columns: defaultColumns({ brotli: false }), onTensor: (d) => seen.push(d) });
    assert.deepEqual(seen, [1, 2]);
    assert.equal(r.tensors.length, 2);
    for (const row of r.tensors) {
      for (const c of CODECS) if (c.name !== 'raw' && c.dtypes.includes(ds.tensors[0].dtype)) assert.ok(row.footprint[c.name] > 0 && row.footprint[c.name] < 1.1, `${c.name} ${row.footprint[c.name]}`);
      assert.ok(row.footprint.h0 > 0 && row.footprint.h0 < 1);
    }
    const act = r.tensors.find((t) => t.kind === 'activation')!;
    assert.ok(act.footprint.zvc < 0.8, 'ZVC compresses a 55 %-zero map');
    const wsum = r.kinds.find((k) => k.group === 'weights')!;
    assert.equal(wsum.tensors, 1);
    assert.equal(wsum.weighted.zvc, r.tensors.find((t) => t.kind === 'weight')!.footprint.zvc);
  });

  it('ratio: the SCC column takes its stride from the manifest shape and layout and reports every tensor', () => {
    const ds = loadDataset(tinyDataset());
    const cols = defaultColumns({ brotli: false });
    assert.ok(cols.some((c) => c.id === 'scc'));
    const r = runRatioBench(ds, { blockSize: 4096, columns: cols.filter((c) => c.id === 'scc' || c.id === 'apack') });
    for (const row of r.tensors) assert.ok(row.footprint.scc > 0 && row.footprint.scc < 1.1, `scc ${row.footprint.scc}`);
    assert.match(formatRatioReport(r), /scc/);
    // a tensor whose layout gives no stride has no SCC figure (instead of a silently guessed stride)
    const odd = { ...ds, tensors: ds.tensors.map((t) => ({ ...t, layout: 'XYZW' })) };
    const r2 = runRatioBench(odd, { blockSize: 4096, columns: cols.filter((c) => c.id === 'scc') });
    assert.ok(r2.tensors.every((row) => row.footprint.scc === undefined));
  });

  it('speed: every codec is measured and round-trips, a wasm codec beside its JS coders', () => {
    const r = runSpeedBench(loadDataset(tinyDataset()), { blockSize: 256, minSeconds: 0 });
    const withJs = (name: string): string[] => [name, ...(JS_CODECS.some((c) => c.name === name) ? [`${name} (js)`] : [])];
    // fpack takes float dtypes only: it has no row on an 8-bit set.
    assert.deepEqual(r.rows.map((x) => x.codec), [...CODECS.filter((c) => c.name !== 'fpack').flatMap((c) => withJs(c.name)), 'zlib deflate-1 / inflate']);
    for (const name of ['apack', 'ebpc', 'zvc', 'scc']) assert.ok(r.rows.some((x) => x.codec === `${name} (js)`), name);
    for (const row of r.rows) assert.ok(row.encodeMBps > 0 && row.decodeMBps > 0 && row.blocks > 0);
    assert.match(r.note, /per second;/);
  });

  it('speed --codecs: only those codecs, each with its JS row, and zlib', () => {
    const r = runSpeedBench(loadDataset(tinyDataset()), { blockSize: 256, minSeconds: 0, codecs: ['ebpc'] });
    assert.deepEqual(r.rows.map((x) => x.codec), ['ebpc', 'ebpc (js)', 'zlib deflate-1 / inflate']);
    const two = runSpeedBench(loadDataset(tinyDataset()), { blockSize: 256, minSeconds: 0, codecs: ['raw', 'apack'] });
    assert.deepEqual(two.rows.map((x) => x.codec), ['apack', 'apack (js)', 'raw', 'zlib deflate-1 / inflate']);
  });

  it('speed --clock cpu: the same rows, timed by the process CPU time, and the note says so', () => {
    const r = runSpeedBench(loadDataset(tinyDataset()), { blockSize: 256, minSeconds: 0, clock: 'cpu' });
    assert.ok(r.rows.some((x) => x.codec === 'zlib deflate-1 / inflate'));
    for (const row of r.rows) assert.ok(Number.isFinite(row.encodeMBps) && row.encodeMBps > 0 && Number.isFinite(row.decodeMBps) && row.decodeMBps > 0, row.codec);
    assert.match(r.note, /per CPU second of the process/);
  });
});
