import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DRAM_FILL, DRAM_WRITEBACK, METADATA_BASE } from '../daemon/pipeline/dram-observer.ts';
import { writeDramTrace, type DramFormat } from '../daemon/traces/dram-export.ts';
import { DramRecorder } from '../daemon/traces/dram-recorder.ts';
import { recordDram, type DramRecording } from '../daemon/traces/dram-replay.ts';
import { importTrace, importerFor } from '../daemon/traces/import-trace.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import type { SimRequest } from '../daemon/traces/sim-request.ts';
import { SyntheticPayload, parseSyntheticSpec } from '../daemon/traces/synthetic.ts';
import { ROOT, SHARED } from './root.ts';

/**
 * The DRAM trace export (docs/dram.md): with codec raw it is the input
 * trace burst for burst; compressed, it is exactly what the line buffers
 * count; every format reads back through its importer.
 */

const example = `${SHARED}traces/dramsim3/example.trace`;
const dir = mkdtempSync(join(tmpdir(), 'dram-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const trace = join(dir, 'ex.trace');
const BURST = 64;

async function requestsOf(format: DramFormat, file: string): Promise<SimRequest[]> {
  const out: SimRequest[] = [];
  for await (const r of importerFor(format).requests([file], { burstBytes: BURST, wordBytes: 1 })) out.push(r);
  return out;
}

/** The trace's ops as bursts: [write, addr, t] each. */
async function traceBursts(file: string): Promise<{ write: boolean; addr: number; t: number }[]> {
  const out: { write: boolean; addr: number; t: number }[] = [];
  for await (const r of readTrace(file)) {
    if (r.type !== 'op' || (r.op !== 'read' && r.op !== 'write')) continue;
    const first = Math.floor(r.addr / BURST) * BURST;
    for (let a = first; a < r.addr + r.len; a += BURST) out.push({ write: r.op === 'write', addr: a, t: r.t });
  }
  return out;
}

describe('DRAM trace export', () => {
  let raw: DramRecording;
  let compressed: DramRecording;
  before(async () => {
    // 800 requests of the DRAMsim3 example (reads, writes, two address windows), clock 1200 MHz.
    await importTrace({
      format: 'dramsim3',
      files: [example],
      out: trace,
      payload: new SyntheticPayload(parseSyntheticSpec('relu:sparsity=0.6,seed=3')),
      burstBytes: BURST,
      wordBytes: 1,
      clockMhz: 1200,
      window: 1 << 20,
      maxRequests: 800,
    });
    raw = await recordDram({ trace, codec: 'raw' });
    compressed = await recordDram({ trace });
  });

  it('with codec raw reproduces the input trace burst for burst: addresses, kinds, order and cycles', async () => {
    const out = join(dir, 'raw.dramsim3');
    const s = await writeDramTrace(raw.recorder, out, 'dramsim3', { clockMhz: raw.clockMhz, burstBytes: raw.burstBytes });
    assert.equal(raw.clockMhz, 1200, 'the clock comes from the imported trace header');
    const want = await traceBursts(trace);
    const got = await requestsOf('dramsim3', out);
    assert.equal(s.bursts, want.length);
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      const w = want[i];
      const g = got[i];
      const cycle = Math.round((w.t * 1200) / 1000);
      if (g.addr !== w.addr || g.write !== w.write || g.cycle !== cycle) {
        assert.fail(`burst ${i}: exported 0x${g.addr.toString(16)} ${g.write ? 'W' : 'R'} @${g.cycle}, trace 0x${w.addr.toString(16)} ${w.write ? 'W' : 'R'} @${cycle}`);
      }
    }
    // The original requests are the tail (after the import's preload writes), at their original cycles less the first.
    const original = (await requestsOf('dramsim3', example)).slice(0, 800);
    const tail = got.slice(got.length - 800);
    const c0 = Math.min(...original.map((r) => r.cycle));
    assert.deepEqual(
      tail.map((r) => [r.addr, r.write]),
      original.map((r) => [Math.floor(r.addr / BURST) * BURST, r.write]),
    );
    // The shimpack trace keeps whole ns: at 1200 MHz a cycle read back may be one off the original.
    for (let i = 0; i < original.length; i++) assert.ok(Math.abs(tail[i].cycle - (original[i].cycle - c0)) <= 1, `request ${i}`);
  });

  it('compressed counts exactly what the line buffers count, metadata in its own range', async () => {
    const t = compressed.replay.stats!;
    assert.ok(t.fills + t.writeBacks > 0, 'the trace goes through the line buffers');
    assert.equal(compressed.recorder.readBursts, t.dramReadBursts);
    assert.equal(compressed.recorder.writeBursts, t.dramWriteBursts);
    let meta = 0;
    let causes = new Set<number>();
    let lastT = -1;
    for (const b of compressed.recorder.stream(BURST)) {
      if (b.addr >= METADATA_BASE) meta++;
      causes.add(b.cause);
      assert.ok(b.t >= lastT, 'times never run backwards');
      lastT = b.t;
      assert.equal(b.addr % BURST, 0);
    }
    assert.equal(meta, t.metadataBursts);
    assert.ok(causes.has(DRAM_FILL) || causes.has(DRAM_WRITEBACK));
    assert.ok(compressed.recorder.readBursts + compressed.recorder.writeBursts < raw.recorder.readBursts + raw.recorder.writeBursts, 'sparse data moves fewer bursts');
  });

  it('is reproducible: the same trace gives the same stream', async () => {
    const again = await recordDram({ trace });
    const a = join(dir, 'c1.dramsim3');
    const b = join(dir, 'c2.dramsim3');
    await writeDramTrace(compressed.recorder, a, 'dramsim3', { clockMhz: 1200, burstBytes: BURST });
    await writeDramTrace(again.recorder, b, 'dramsim3', { clockMhz: 1200, burstBytes: BURST });
    assert.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
  });

  it('writes Ramulator and DRAMSys traces that their importers read back (Ramulator without times)', async () => {
    const ref = join(dir, 'ref.dramsim3');
    await writeDramTrace(compressed.recorder, ref, 'dramsim3', { clockMhz: 1200, burstBytes: BURST });
    const want = await requestsOf('dramsim3', ref);
    for (const f of ['ramulator', 'dramsys'] as const) {
      const out = join(dir, `c.${f}`);
      await writeDramTrace(compressed.recorder, out, f, { clockMhz: 1200, burstBytes: BURST });
      const got = await requestsOf(f, out);
      assert.deepEqual(got.map((r) => [r.addr, r.write]), want.map((r) => [r.addr, r.write]), f);
      if (f === 'dramsys') assert.deepEqual(got.map((r) => r.cycle), want.map((r) => r.cycle));
    }
  });

  it('round-trips through trace import', async () => {
    const out = join(dir, 'raw2.dramsim3');
    await writeDramTrace(raw.recorder, out, 'dramsim3', { clockMhz: 1200, burstBytes: BURST });
    const s = await importTrace({
      format: 'dramsim3',
      files: [out],
      out: join(dir, 'back.trace'),
      payload: new SyntheticPayload(parseSyntheticSpec('zeros')),
      burstBytes: BURST,
      wordBytes: 1,
      clockMhz: 1200,
      window: 1 << 20,
    });
    assert.equal(s.requests, raw.recorder.readBursts + raw.recorder.writeBursts);
  });
});

describe('DRAM recorder', () => {
  it('stamps traffic counted late with the time of the access that decided it, in mark order', () => {
    const r = new DramRecorder();
    r.time = 100;
    const early = r.mark(); // a write-back decided at t=100...
    r.time = 200;
    const now = r.mark();
    r.bursts(now, DRAM_FILL, false, 0x1000, 2);
    r.bursts(early, DRAM_WRITEBACK, true, 0x2000, 1); // ...counted once coded, after the fill
    assert.deepEqual(
      [...r.stream(64)].map((b) => [b.t, b.write, b.addr]),
      [
        [100, true, 0x2000],
        [200, false, 0x1000],
        [200, false, 0x1040],
      ],
    );
    assert.equal(r.readBursts, 2);
    assert.equal(r.writeBursts, 1);
  });
});

describe('replay --dram-trace errors', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/shimpack.js', ...args], { cwd: ROOT, encoding: 'utf8' });
  it('refuses --url: the export needs the embedded daemon', () => {
    const r = cli('replay', trace, '--dram-trace', join(dir, 'x'), '--url', 'ws://127.0.0.1:1/');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--dram-trace needs the embedded daemon/);
  });
  it('refuses several connections and loops', () => {
    const r = cli('replay', trace, '--dram-trace', join(dir, 'x'), '--connections', '2');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /replays the trace once, on one connection/);
  });
  it('refuses an unknown format', () => {
    const r = cli('replay', trace, '--dram-trace', join(dir, 'x'), '--dram-format', 'gem5');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--dram-format/);
  });
  it('says when the output cannot be written', () => {
    const r = cli('replay', trace, '-q', '--codec', 'raw', '--dram-trace', join(dir, 'no', 'such', 'dir', 'x'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /E_TRACE_IO: cannot write .*ENOENT/);
  });
});
