import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../daemon/config.ts';
import type { OpRecord, RegionRecord, TraceRecord } from '../daemon/traces/format.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';
import { CLI_JS } from './helpers.ts';
import { ROOT } from './root.ts';

const dir = mkdtempSync(join(tmpdir(), 'trace-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function records(path: string): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const r of readTrace(path)) out.push(r);
  return out;
}

/** `shimpack replay FILE --url URL --json` as a real CLI process. */
function replayCli(trace: string, url: string): Promise<{ status: number | null; summary: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI_JS, 'replay', trace, '--url', url, '--json', '--quiet'], { cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.once('error', reject);
    p.once('exit', (status) => {
      try {
        resolve({ status, summary: JSON.parse(out) as Record<string, unknown>, stderr: err });
      } catch {
        reject(new Error(`replay printed no JSON (exit ${status}): ${out}${err}`));
      }
    });
  });
}

describe('serve --record', () => {
  it('records a session of the real client per connection; shimpack replay of it against a fresh daemon verifies with zero mismatches', async () => {
    const trace = join(dir, 'session.trace.gz');
    const rec = await startTestDaemon({ lanes: 2, record: trace });
    const a = await connect(rec, { client: 'recorder-test A' });
    const b = await connect(rec, { client: 'recorder-test B' });
    const w = testBytes(40_000, 1, 0.4);
    const act = testBytes(20_000, 2, 0.7);
    await a.region({ name: 'w', base: 0, size: 64 * 1024, dtype: 'int8', kind: 'weight', codec: 'apack' }); // calibrated from its first write
    await a.region({ name: 'act', base: 1 << 20, size: 32 * 1024, dtype: 'uint8', kind: 'activation', codec: 'ebpc', shape: [1, 16, 16, 128], layout: 'NHWC' });
    await b.region({ name: 'raw', base: 2 << 20, size: 16 * 1024, dtype: 'uint8', kind: 'other', codec: 'raw' });
    await b.region({ name: 'z', base: 3 << 20, size: 8 * 1024, dtype: 'uint8', kind: 'other', codec: 'zvc', blockBytes: 1024 });
    // Pipelined, unaligned, overlapping: reads right behind the writes they depend on.
    const ps: Promise<unknown>[] = [
      a.write(0, w.subarray(0, 10_001)),
      a.write(10_001, w.subarray(10_001, 40_000)),
      a.read(5_000, 10_000),
      a.write(1 << 20, act),
      a.write((1 << 20) + 100, act.subarray(0, 50)), // partial-block read-modify-write
      a.read((1 << 20) + 64, 4096),
      b.write(2 << 20, testBytes(16 * 1024, 3, 0)),
      b.write(3 << 20, testBytes(3000, 4, 0.9)),
      b.read((2 << 20) + 4000, 200),
      b.read(3 << 20, 3000),
      a.write(0, new Uint8Array(0)), // zero bytes: accepted, not a trace op
      a.fence(),
    ];
    await Promise.all(ps);
    await expectCode(a.read(10 << 20, 16), 'E_OUT_OF_REGION'); // refused: not recorded
    await a.stats(); // no trace record
    await b.free('z');
    await a.read(0, 40_000);
    await a.close();
    await b.close();
    await rec.close(); // flushes the trace and writes its end record

    const all = await records(trace);
    const header = all[0];
    assert.equal(header.type, 'header');
    assert.equal((header as { source: string }).source, 'serve --record');
    const regions = all.filter((r): r is RegionRecord => r.type === 'region');
    assert.deepEqual(
      regions.map((r) => [r.name, r.conn, r.codec]),
      [
        ['w', 0, 'apack'],
        ['act', 0, 'ebpc'],
        ['raw', 1, 'raw'],
        ['z', 1, 'zvc'],
      ],
    );
    assert.equal((regions[3] as unknown as { blockBytes: number }).blockBytes, 1024, 'protocol fields pass through');
    assert.deepEqual([regions[1].stride, regions[1].shape, regions[1].layout], [128, [1, 16, 16, 128], 'NHWC'], 'stride, shape and layout pass through');
    // Unset optional fields are left out, not written as msgpackr's undefined extension (decoded back as undefined).
    for (const r of regions) for (const [k, v] of Object.entries(r)) assert.notEqual(v, undefined, `region ${r.name} field ${k}`);
    const ops = all.filter((r): r is OpRecord => r.type === 'op');
    const summary = ops.map((o) => `${o.conn}:${o.op}`);
    assert.equal(summary.filter((s) => s === '0:write').length, 4, 'zero-length write left out');
    assert.equal(summary.filter((s) => s === '0:read').length, 3, 'refused read left out');
    assert.equal(summary.filter((s) => s === '1:write').length, 2);
    assert.equal(summary.filter((s) => s === '1:read').length, 2);
    assert.deepEqual(summary.filter((s) => s.endsWith('fence') || s.endsWith('free')), ['0:fence', '1:free']);
    // Per connection, t never decreases and ops are in the order sent.
    for (const conn of [0, 1]) {
      const ts = ops.filter((o) => o.conn === conn).map((o) => o.t);
      assert.deepEqual(ts, [...ts].sort((x, y) => x - y));
    }
    const firstWrites = ops.filter((o) => o.op === 'write' && o.conn === 0).slice(0, 2);
    assert.deepEqual(firstWrites.map((o) => [o.op === 'write' ? o.addr : -1, o.op === 'write' ? o.len : -1]), [[0, 10_001], [10_001, 29_999]]);
    assert.ok(Buffer.from((firstWrites[1] as { data: Uint8Array }).data).equals(Buffer.from(w.subarray(10_001))), 'write bytes recorded exactly');
    const end = all.at(-1) as { type: string; ops: number };
    assert.equal(end.type, 'end');
    assert.equal(end.ops, ops.length);

    // The recording against a fresh daemon, through the real CLI.
    const fresh = await startTestDaemon({ lanes: 2 });
    try {
      const r = await replayCli(trace, fresh.url);
      assert.equal(r.status, 0, `${JSON.stringify(r.summary)}\n${r.stderr}`);
      assert.equal(r.summary.mismatches, 0);
      assert.equal(r.summary.errors, 0);
      assert.equal(r.summary.ops, ops.length);
      assert.equal(r.summary.connections, 2, 'one replay connection per recorded connection');
      assert.equal(r.summary.verifiedReads, r.summary.reads, 'every read verified against what the trace wrote');
    } finally {
      await fresh.close();
    }
  });

  it('memory stays bounded while the trace file is stalled: the socket is paused (reason "record"), nothing is dropped', { skip: spawnSync('mkfifo', ['--version']).status !== 0 && 'no mkfifo' }, async () => {
    // A FIFO nobody reads yet: the file stream cannot write, like a stalled disk.
    const fifo = join(dir, 'stalled.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const d = await startTestDaemon({ lanes: 2, record: fifo });
    const c = await connect(d);
    let acked = 0;
    const n = 128;
    const chunk = 64 * 1024;
    let drained: Promise<void> | undefined;
    try {
      await c.region({ name: 'r', base: 0, size: n * chunk, dtype: 'uint8', kind: 'other', codec: 'raw' });
      // One frame each (the client batches what is sent in the same tick; a paused socket holds frames, not requests).
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        writes.push(c.write(i * chunk, testBytes(chunk, i, 0.5)).then(() => acked++));
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 500));
      const stalledAcks = acked;
      const m = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      assert.match(m, /shimpack_socket_pauses_total\{reason="record"\} [1-9]/);
      assert.ok(stalledAcks < 16, `while the file is stalled only a few writes are admitted (${stalledAcks} of ${n})`);
      // Drain the FIFO into a file: everything flows again and nothing is lost.
      const copy = join(dir, 'stalled.trace');
      drained = pipeline(createReadStream(fifo), createWriteStream(copy));
      await Promise.all(writes);
      await c.close();
      await d.close();
      await drained;
      const ops = (await records(copy)).filter((r) => r.type === 'op');
      assert.equal(ops.length, n, 'every write recorded');
    } finally {
      if (!drained) createReadStream(fifo).resume(); // unblock the daemon's file so it can close
      await d.close().catch(() => undefined);
    }
  });

  it('the setting comes from --record, SHIMPACK_RECORD or the config key record', () => {
    assert.equal(resolveConfig({}, {}).record, '');
    assert.equal(resolveConfig({}, { SHIMPACK_RECORD: '/tmp/x.trace.gz' }).record, '/tmp/x.trace.gz');
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ record: 'file.trace' }));
    assert.equal(resolveConfig({}, {}, cfg).record, 'file.trace');
    assert.equal(resolveConfig({ record: 'flag.trace' }, { SHIMPACK_RECORD: 'env.trace' }).record, 'flag.trace');
  });
});
