import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runTrafficSweep } from '../daemon/bench/traffic.ts';
import { importTrace } from '../daemon/traces/import-trace.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { SyntheticPayload, parseSyntheticSpec } from '../daemon/traces/synthetic.ts';
import { SHARED } from './root.ts';

const dataDir = `${SHARED}data`;
const sample = (p: string): string => `${SHARED}traces/${p}`;
const dir = mkdtempSync(join(tmpdir(), 'lb-traces-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('DRAM traffic of whole traces (bench traffic, real daemons)', () => {
  it('a sequential model trace: DRAM bursts relative to the raw-codec run are the held footprint within 3 %; raw moves the client bursts one for one', { timeout: 300_000 }, async () => {
    const trace = join(dir, 'tiny.trace.gz');
    await generateModelTrace({ dataDir, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 64, weights: 'int8', bandwidth: 16 });
    const [coded] = await runTrafficSweep({ trace, blockSizes: [4096], lineBufferBytes: [65536], lanes: 2 });
    const [raw] = await runTrafficSweep({ trace, blockSizes: [4096], lineBufferBytes: [65536], lanes: 2, codec: 'raw' });
    assert.ok(coded.verified && raw.verified);
    assert.equal(raw.burstsDram, raw.burstsRaw);
    assert.equal(coded.burstsRaw, raw.burstsRaw);
    const traffic = coded.burstsDram / raw.burstsDram;
    assert.ok(coded.footprint < 0.95, `the model compresses (footprint ${coded.footprint})`);
    assert.ok(Math.abs(traffic / coded.footprint - 1) <= 0.03, `DRAM traffic ${traffic.toFixed(4)} vs footprint ${coded.footprint.toFixed(4)}`);
    // Each block written back once and fetched once per pass that reads it, not once per burst.
    assert.ok(coded.writeBacks < coded.burstsRaw / 32, `${coded.writeBacks} write-backs for ${coded.burstsRaw} bursts`);
  });

  it('random-access simulator samples with codec raw: DRAM bursts equal the client bursts exactly', { timeout: 300_000 }, async () => {
    for (const [format, file] of [['dramsim3', 'dramsim3/example.trace'], ['ramulator', 'ramulator/dram.trace']] as const) {
      const trace = join(dir, `${format}.trace.gz`);
      await importTrace({ format, files: [sample(file)], out: trace, payload: new SyntheticPayload(parseSyntheticSpec('relu:sparsity=0.6')), burstBytes: 64, wordBytes: 1, clockMhz: 1000, window: 1 << 20, maxRequests: 20_000 });
      const [raw] = await runTrafficSweep({ trace, blockSizes: [4096], lineBufferBytes: [65536], lanes: 2, codec: 'raw' });
      assert.ok(raw.verified, format);
      assert.ok(raw.burstsRaw > (format === 'dramsim3' ? 1000 : 0), `${format}: ${raw.burstsRaw} bursts`);
      assert.equal(raw.burstsDram, raw.burstsRaw, format);
    }
  });

  it('bench traffic sweeps block and buffer sizes; with --line-buffer-bytes 0 every burst is a read-modify-write again', { timeout: 300_000 }, async () => {
    const trace = join(dir, 'small.trace.gz');
    await importTrace({ format: 'dramsim3', files: [sample('dramsim3/example.trace')], out: trace, payload: new SyntheticPayload(parseSyntheticSpec('relu:sparsity=0.6')), burstBytes: 64, wordBytes: 1, clockMhz: 1000, window: 1 << 20, maxRequests: 3000 });
    const rows = await runTrafficSweep({ trace, blockSizes: [256, 4096], lineBufferBytes: [0, 65536], lanes: 1 });
    assert.deepEqual(rows.map((r) => [r.blockBytes, r.lineBufferBytes]), [[256, 0], [256, 65536], [4096, 0], [4096, 65536]]);
    for (const r of rows) assert.ok(r.verified && r.burstsRaw === rows[0].burstsRaw);
    // Without buffers a 64-byte access to a 4 KiB block moves the whole compressed block (twice for a write).
    assert.ok(rows[2].burstsDram > 5 * rows[3].burstsDram, `${rows[2].burstsDram} vs ${rows[3].burstsDram}`);
    assert.equal(rows[2].fills + rows[2].writeBacks, 0);
  });
});
