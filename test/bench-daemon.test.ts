import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDaemonBench } from '../daemon/bench-daemon/run.ts';
import { DEFAULT_DATA_DIR, loadDataset } from '../daemon/dataset/manifest.ts';

describe('bench daemon', () => {
  it('drives a spawned daemon, reads back and verifies, and paces writes at the offered rate', { timeout: 60_000 }, async () => {
    const rows = await runDaemonBench({
      codecs: ['raw', 'apack'],
      connections: 1,
      seconds: 1,
      writeBytes: 4096,
      depth: 4,
      laneCounts: [2],
      dataset: loadDataset(DEFAULT_DATA_DIR),
      dataBytes: 256 * 1024,
      rate: 200,
    });
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.equal(r.lanes, 2);
      assert.ok(r.verified, `${r.codec}: read-back differs`);
      assert.ok(r.write.ops > 0 && r.read.ops > 0);
      assert.equal(r.paced?.ops, 200, 'every paced write was acknowledged');
      assert.ok((r.paced?.p99us ?? 0) >= (r.paced?.p50us ?? 0));
    }
    assert.ok(rows[1].ratio > 1.2, `APack on int8 weights compresses (ratio ${rows[1].ratio})`);
  });
});
