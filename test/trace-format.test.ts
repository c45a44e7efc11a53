import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Packr } from 'msgpackr';
import { crc32 } from 'node:zlib';
import { TraceError } from '../daemon/traces/errors.ts';
import type { TraceRecord } from '../daemon/traces/format.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { TraceWriter } from '../daemon/traces/writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'trace-format-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(path: string): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const r of readTrace(path)) out.push(r);
  return out;
}

async function rejectsWith(path: string, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(collect(path), (e: unknown) => {
    assert.ok(e instanceof TraceError, `expected TraceError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('trace writer and reader', () => {
  for (const name of ['small.trace', 'small.trace.gz']) {
    it(`round-trips every record kind (${name})`, async () => {
      const path = join(dir, name);
      const w = new TraceWriter(path, { source: 'test', meta: { note: 'x' } });
      w.region({ name: 'w0', base: 0x1000, size: 4096, dtype: 'int8', kind: 'weight', codec: 'apack' });
      w.region({ name: 'a0', base: 2 ** 47, size: 8192, dtype: 'uint8', kind: 'activation', conn: 3 });
      const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
      w.op({ op: 'write', t: 5, addr: 0x1000, len: 100, data });
      w.op({ op: 'read', t: 9, addr: 0x1000, len: 100, crc: crc32(data), conn: 2 });
      w.op({ op: 'read', t: 10, addr: 2 ** 47 + 64, len: 3 });
      w.op({ op: 'fence', t: 11 });
      w.op({ op: 'free', t: 12, name: 'w0' });
      await w.close();
      const bytes = readFileSync(path);
      assert.equal(bytes[0] === 0x1f && bytes[1] === 0x8b, name.endsWith('.gz'), 'gzip exactly when the name ends in .gz');
      const recs = await collect(path);
      assert.deepEqual(
        recs.map((r) => (r.type === 'op' ? r.op : r.type)),
        ['header', 'region', 'region', 'write', 'read', 'read', 'fence', 'free', 'end'],
      );
      const h = recs[0] as Extract<TraceRecord, { type: 'header' }>;
      assert.equal(h.format, 'shimpack-trace');
      assert.equal(h.version, 1);
      assert.equal(h.source, 'test');
      assert.equal(h.note, 'x');
      assert.ok(!Number.isNaN(Date.parse(h.created)));
      assert.equal((recs[2] as Extract<TraceRecord, { type: 'region' }>).base, 2 ** 47);
      const wr = recs[3] as Extract<TraceRecord, { op: 'write' }>;
      assert.deepEqual(new Uint8Array(wr.data), data);
      const rd = recs[4] as Extract<TraceRecord, { op: 'read' }>;
      assert.equal(rd.crc, crc32(data));
      assert.equal(rd.conn, 2);
      assert.deepEqual(recs[8], { type: 'end', ops: 5, writeBytes: 100, readBytes: 103, lastT: 12 });
    });
  }

  it('is plain msgpack: records decode one by one with any msgpack reader', async () => {
    const path = join(dir, 'plain.trace');
    const w = new TraceWriter(path, { source: 'test', endRecord: false });
    w.op({ op: 'fence', t: 1 });
    await w.close();
    const recs = new Packr({ useRecords: false }).unpackMultiple(readFileSync(path)) as Record<string, unknown>[];
    assert.equal(recs.length, 2);
    assert.equal(recs[0].type, 'header');
    assert.deepEqual(recs[1], { type: 'op', op: 'fence', t: 1 });
  });

  it('streams a large gzip trace in bounded memory both ways', async () => {
    const path = join(dir, 'large.trace.gz');
    const ops = 120_000;
    const len = 1024; // 117 MiB of write data
    const data = new Uint8Array(len);
    const base = process.memoryUsage();
    let peak = 0;
    const sample = (): void => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
    };
    const w = new TraceWriter(path, { source: 'test' });
    w.region({ name: 'r', base: 0, size: 1 << 20, dtype: 'uint8', kind: 'activation' });
    for (let i = 0; i < ops; i++) {
      data.fill(i & 0xff, 0, 16);
      w.op({ op: 'write', t: i, addr: (i % 1024) * len, len, data });
      if (w.needsDrain) await w.drained();
      if (i % 10_000 === 0) sample();
    }
    await w.close();
    let n = 0;
    let sum = 0;
    for await (const r of readTrace(path)) {
      if (r.type === 'op' && r.op === 'write') {
        assert.equal(r.data[0], n & 0xff);
        sum += r.len;
        n++;
        if (n % 10_000 === 0) sample();
      }
    }
    assert.equal(n, ops);
    assert.equal(sum, ops * len);
    assert.ok(peak < 48 * 1048576, `memory grew by ${(peak / 1048576).toFixed(1)} MiB for ${((ops * len) / 1048576).toFixed(0)} MiB of data`);
  });

  it('read checksums are zlib\'s CRC-32 (check value of "123456789"), as Python\'s zlib.crc32', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });
});

describe('trace reader errors', () => {
  const packr = new Packr({ useRecords: false });
  const header = { type: 'header', format: 'shimpack-trace', version: 1, created: '2020-01-01T00:00:00Z', source: 't' };
  const file = (name: string, recs: unknown[], gz = false): string => {
    const path = join(dir, name);
    const raw = Buffer.concat(recs.map((r) => packr.pack(r)).map((b) => Buffer.from(b)));
    writeFileSync(path, gz ? gzipSync(raw) : raw);
    return path;
  };

  it('refuses a file without a header', async () => {
    await rejectsWith(file('nohdr.trace', [{ type: 'op', op: 'fence', t: 0 }]), 'E_TRACE_FORMAT', /not the header/);
  });
  it('refuses another format and a newer version', async () => {
    await rejectsWith(file('fmt.trace', [{ ...header, format: 'other' }]), 'E_TRACE_FORMAT', /format/);
    await rejectsWith(file('ver.trace', [{ ...header, version: 2 }]), 'E_TRACE_VERSION');
  });
  it('names the record that lacks a field', async () => {
    await rejectsWith(file('w.trace', [header, { type: 'op', op: 'write', t: 0, addr: 0, len: 4, data: new Uint8Array(3) }]), 'E_TRACE_RECORD', /record 1: write needs/);
    await rejectsWith(file('r.trace', [header, { type: 'region', name: 'x', base: 0, size: 8, dtype: 'float32', kind: 'weight' }], true), 'E_TRACE_RECORD', /dtype/);
    await rejectsWith(file('a.trace', [header, { type: 'op', op: 'read', t: 0, addr: 2 ** 48, len: 1 }]), 'E_TRACE_RECORD', /2\^48/);
  });
  it('reports a cut file as truncated', async () => {
    const path = file('cut.trace', [header, { type: 'op', op: 'write', t: 0, addr: 0, len: 64, data: new Uint8Array(64) }]);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    await rejectsWith(path, 'E_TRACE_TRUNCATED');
    const gz = join(dir, 'cut.trace.gz');
    const z = gzipSync(bytes);
    writeFileSync(gz, z.subarray(0, z.length - 12));
    await assert.rejects(collect(gz), (e: unknown) => e instanceof TraceError && (e.code === 'E_TRACE_TRUNCATED' || e.code === 'E_TRACE_FORMAT'));
    // Every record whole, only gzip's 8-byte trailer missing: the last record read is named, not one that is not there.
    const noTrailer = join(dir, 'notrailer.trace.gz');
    writeFileSync(noTrailer, z.subarray(0, z.length - 8));
    await rejectsWith(noTrailer, 'E_TRACE_TRUNCATED', /the gzip stream is cut short after record 1 \(its end is missing\)/);
  });
  it('reports an empty and a missing file', async () => {
    const empty = join(dir, 'empty.trace');
    writeFileSync(empty, '');
    await rejectsWith(empty, 'E_TRACE_FORMAT', /empty/);
    await rejectsWith(join(dir, 'missing.trace'), 'E_TRACE_IO');
    await rejectsWith(dir, 'E_TRACE_IO', /EISDIR/);
  });
});
