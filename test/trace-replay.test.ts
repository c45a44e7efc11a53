import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { crc32 } from 'node:zlib';
import { DatasetPayload } from '../daemon/traces/dataset-payload.ts';
import { importTrace, type ImportFormat } from '../daemon/traces/import-trace.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { replayTrace, type ReplayOptions } from '../daemon/traces/replay.ts';
import { SyntheticPayload, parseSyntheticSpec } from '../daemon/traces/synthetic.ts';
import { TraceWriter } from '../daemon/traces/writer.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { SHARED } from './root.ts';

const sample = (p: string): string => `${SHARED}traces/${p}`;
const dataDir = `${SHARED}data`;
const dir = mkdtempSync(join(tmpdir(), 'trace-replay-'));
let daemon: RunningDaemon;

before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

const replay = (trace: string, extra: Partial<ReplayOptions> = {}) =>
  replayTrace({ trace, url: daemon.url, speed: 'max', copies: 1, loop: false, verify: true, window: 256, ...extra });

describe('replay against a real daemon', () => {
  it('a generated model trace verifies with zero mismatches, twice in a row (regions freed)', async () => {
    const trace = join(dir, 'tiny.trace.gz');
    const g = await generateModelTrace({ dataDir, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 4096, weights: 'int8', bandwidth: 16 });
    for (let run = 0; run < 2; run++) {
      const s = await replay(trace);
      assert.equal(s.mismatches, 0, s.problems.join('\n'));
      assert.equal(s.errors, 0, s.problems.join('\n'));
      assert.equal(s.ops, g.ops);
      assert.equal(s.verifiedReads, s.reads);
      assert.equal(s.bytesWritten, g.writeBytes);
      assert.ok(s.stats && s.stats.ratio > 1, 'the daemon compressed something');
      assert.ok(s.latencyNs.p50 > 0 && s.latencyNs.p50 <= s.latencyNs.p99 && s.latencyNs.p99 <= s.latencyNs.max);
    }
  });

  const imports: [ImportFormat, string[], string, number?][] = [
    ['scalesim', ['IFMAP', 'FILTER', 'OFMAP'].map((f) => sample(`scalesim/${f}_DRAM_TRACE.csv`)), 'data', 30_000],
    ['dramsim3', [sample('dramsim3/example.trace')], 'relu:sparsity=0.6'],
    ['ramulator', [sample('ramulator/dram.trace'), sample('ramulator/cpu.trace'), sample('ramulator2/example_inst.trace')], 'gaussian:sigma=12'],
    ['dramsys', [sample('dramsys/example.stl'), sample('dramsys/pct.stl')], 'data'],
  ];
  for (const [format, files, source, maxRequests] of imports) {
    it(`the imported ${format} sample verifies with zero mismatches${maxRequests ? ` (first ${maxRequests} requests)` : ''}`, async () => {
      const trace = join(dir, `${format}.trace.gz`);
      const payload = source === 'data' ? new DatasetPayload(dataDir, { model: 'faceapi-tiny-face-detector' }) : new SyntheticPayload(parseSyntheticSpec(source));
      const imp = await importTrace({ format, files, out: trace, payload, burstBytes: 64, wordBytes: 1, clockMhz: 1000, window: 1 << 20, maxRequests });
      const s = await replay(trace);
      assert.equal(s.mismatches, 0, s.problems.join('\n'));
      assert.equal(s.errors, 0, s.problems.join('\n'));
      assert.equal(s.ops, imp.ops);
      assert.equal(s.verifiedReads, s.reads);
    });
  }

  it('flags a read whose CRC does not match, counts daemon errors, checks CRC-less reads against the written bytes', async () => {
    const trace = join(dir, 'bad.trace');
    const w = new TraceWriter(trace, { source: 'test' });
    w.region({ name: 'bad', base: 0x10000, size: 4096, dtype: 'uint8', kind: 'activation' });
    const data = Uint8Array.from({ length: 64 }, (_, i) => i);
    w.op({ op: 'write', t: 0, addr: 0x10000, len: 64, data });
    w.op({ op: 'read', t: 1, addr: 0x10000, len: 64, crc: crc32(data) });
    w.op({ op: 'read', t: 2, addr: 0x10000, len: 64, crc: crc32(data) ^ 1 });
    w.op({ op: 'read', t: 3, addr: 0x10000, len: 64 }); // checked against the write
    w.op({ op: 'write', t: 4, addr: 0x10100, len: 8, data: new Uint8Array(8).fill(7) });
    w.op({ op: 'read', t: 5, addr: 0x10100, len: 8 });
    w.op({ op: 'read', t: 6, addr: 0x20000, len: 8 }); // outside every region: the daemon refuses
    await w.close();
    const s = await replay(trace);
    assert.equal(s.mismatches, 1, s.problems.join('\n'));
    assert.match(s.problems.join('\n'), /read 0x10000\+64 \(t 2\): CRC-32/);
    assert.equal(s.errors, 1);
    assert.match(s.problems.join('\n'), /E_OUT_OF_REGION/);
    assert.equal(s.verifiedReads, 4);
  });

  it('runs several copies on their own connections and loops for a duration', async () => {
    const trace = join(dir, 'small.trace');
    await importTrace({ format: 'ramulator', files: [sample('ramulator/cpu.trace')], out: trace, payload: new SyntheticPayload(parseSyntheticSpec('uniform')), burstBytes: 64, wordBytes: 1, clockMhz: 1000, window: 1 << 20 });
    const s = await replay(trace, { copies: 3, loop: true, durationS: 1 });
    assert.equal(s.mismatches, 0, s.problems.join('\n'));
    assert.equal(s.errors, 0, s.problems.join('\n'));
    assert.equal(s.connections, 3);
    assert.ok(s.loops >= 2, `looped ${s.loops} times`);
    assert.ok(s.seconds >= 1, `stopped after ${s.seconds} s of a 1 s duration`);
  });

  it('paces by the trace times at 1x', async () => {
    const trace = join(dir, 'paced.trace');
    const w = new TraceWriter(trace, { source: 'test' });
    w.region({ name: 'paced', base: 0, size: 4096, dtype: 'uint8', kind: 'other' });
    for (let i = 0; i < 5; i++) w.op({ op: 'write', t: i * 100_000_000, addr: 0, len: 4, data: new Uint8Array(4) });
    await w.close();
    const s = await replay(trace, { speed: 1 });
    assert.equal(s.errors, 0, s.problems.join('\n'));
    assert.ok(s.seconds >= 0.4, `took ${s.seconds} s for 0.4 s of trace`);
    // Lower bounds only (load can stretch a run, never shorten it): 10x waits
    // for the trace times divided by 10; the upper side is bench territory.
    const fast = await replay(trace, { speed: 10 });
    assert.equal(fast.errors, 0, fast.problems.join('\n'));
    assert.ok(fast.seconds >= 0.04, `10x took ${fast.seconds} s for 0.04 s of scaled trace`);
  });
});
