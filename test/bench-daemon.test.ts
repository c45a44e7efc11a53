import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchData, runDaemonBench } from '../daemon/bench-daemon/run.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import { DEFAULT_DATA_DIR, loadDataset } from '../daemon/dataset/manifest.ts';

describe('bench daemon', () => {
  it('drives a spawned daemon with every registered codec, reads back and verifies, and paces writes at the offered rate', { timeout: 120_000 }, async () => {
    // Every registered codec, as `bench daemon` runs by default (scc needs the stride the bench declares).
    const codecs = CODECS.map((c) => c.name);
    const rows = await runDaemonBench({
      codecs,
      connections: 1,
      seconds: 1,
      warmupSeconds: 0.2,
      writeBytes: 4096,
      depth: 4,
      laneCounts: [2],
      dataset: loadDataset(DEFAULT_DATA_DIR),
      dataBytes: 256 * 1024,
      rate: 200,
    });
    assert.equal(rows.length, codecs.length);
    for (const r of rows) {
      assert.equal(r.lanes, 2);
      assert.ok(r.verified, `${r.codec}: read-back differs`);
      assert.ok(r.write.ops > 0 && r.read.ops > 0);
      assert.equal(r.paced?.ops, 200, 'every paced write was acknowledged');
      assert.ok((r.paced?.p99us ?? 0) >= (r.paced?.p50us ?? 0));
    }
    const ratio = (codec: string): number => rows.find((r) => r.codec === codec)?.ratio ?? NaN;
    assert.ok(ratio('apack') > 1.2, `APack on int8 weights compresses (ratio ${ratio('apack')})`);
    assert.ok(ratio('scc') > 1.2, `SCC on int8 weights compresses (ratio ${ratio('scc')})`);
  });

  it('takes its data from weight tensors of one stride, the one with the most bytes', () => {
    const ds = loadDataset(DEFAULT_DATA_DIR);
    const { data, stride } = benchData(ds, 1 << 20);
    assert.equal(data.length, 1 << 20);
    assert.ok(Number.isInteger(stride) && stride >= 1);
  });
});
