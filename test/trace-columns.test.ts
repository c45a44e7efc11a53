import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { validateRecord, type TraceRecord, type WriteOp } from '../daemon/traces/format.ts';
import { readTraceStream, readTraceStreamColumns } from '../daemon/traces/reader.ts';
import { COL_OTHER, COL_READ, COL_WRITE, decodeChunk } from '../daemon/traces/trace-columns.ts';
import { checkAsyncProperty } from './property.ts';

const HEADER = { type: 'header', format: 'shimpack-trace', version: 1, created: '2026-01-01T00:00:00Z', source: 'test' };

/** What msgpackr and validateRecord make of the bytes, one record at a time (the reader before columns). */
function reference(bytes: Buffer): TraceRecord[] {
  return (new Unpackr({ useRecords: false }).unpackMultiple(bytes) as unknown[]).map((r, i) => validateRecord(r, i));
}

/** The reader's records, with the bytes fed in the given pieces. */
async function viaReader(pieces: Buffer[]): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const r of readTraceStream(Readable.from(pieces), 'mem', false)) out.push(r);
  return out;
}

/** Split `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out.map((b) => Buffer.from(b));
}

// Valid writes and reads, with and without the optional fields, numbers of every msgpack width.
const uint = fc.oneof(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 128, max: 0xffff }), fc.integer({ min: 0x10000, max: 0xffffffff }), fc.integer({ min: 0, max: 2 ** 21 - 1 }).map((hi) => hi * 2 ** 32 + 7));
const addr = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 2 ** 47 }));
const write = fc.record(
  { t: uint, conn: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }), addr, data: fc.uint8Array({ minLength: 1, maxLength: 300 }) },
  { requiredKeys: ['t', 'addr', 'data'] },
).map((w) => ({ type: 'op', op: 'write', t: w.t, ...(w.conn === undefined ? {} : { conn: w.conn }), addr: w.addr, len: w.data.length, data: w.data }));
const read = fc.record(
  { t: uint, conn: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }), addr, len: fc.integer({ min: 1, max: 70000 }), crc: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }) },
  { requiredKeys: ['t', 'addr', 'len'] },
).map((r) => ({ type: 'op', op: 'read', t: r.t, ...(r.conn === undefined ? {} : { conn: r.conn }), addr: r.addr, len: r.len, ...(r.crc === undefined ? {} : { crc: r.crc }) }));
// Records the columns leave to msgpackr: other types, extra keys, fields the fast path does not take.
const other = fc.oneof(
  fc.constant({ type: 'op', op: 'fence', t: 5 }),
  fc.constant({ type: 'op', op: 'free', t: 6, name: 'w' }),
  fc.constant({ type: 'region', name: 'w', base: 0, size: 4096, dtype: 'int8', kind: 'weight' }),
  fc.constant({ type: 'op', op: 'write', t: 1, addr: 0, len: 2, data: new Uint8Array([1, 2]), crc: 3 }),
  // longer than the view msgpackr gets first for such a record
  fc.constant({ type: 'op', op: 'write', t: 1, addr: 0, len: 5000, data: new Uint8Array(5000).fill(5), crc: 3 }),
  fc.constant({ type: 'op', op: 'read', t: 1, addr: 0, len: 2, note: 'extra key' }),
  fc.constant({ type: 'op', op: 'read', t: 2.0, addr: 64, len: 8 }),
  fc.constant({ type: 'end', ops: 1, writeBytes: 0, readBytes: 0, lastT: 0 }),
);

describe('trace columns (writes and reads decoded without msgpackr objects)', () => {
  it('give the same records as msgpackr + validateRecord, cut into chunks anywhere (fixmap and map16 encodings)', async () => {
    await checkAsyncProperty(
      fc.asyncProperty(fc.array(fc.oneof({ weight: 3, arbitrary: write }, { weight: 3, arbitrary: read }, { weight: 1, arbitrary: other }), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), async (recs, cuts, variable) => {
        const packr = new Packr({ useRecords: false, variableMapSize: variable });
        const bytes = Buffer.concat([HEADER, ...recs].map((r) => Buffer.from(packr.pack(r))));
        assert.deepEqual(await viaReader(split(bytes, cuts)), reference(bytes));
      }),
      { numRuns: 150, seed: 1401 },
    );
  });

  it('take no key or op name one byte off a real one for the real one (keys are matched as integers of their bytes)', async () => {
    const packr = new Packr({ useRecords: false });
    const near = ['crd', 'crC', 'brc', 'conN', 'cpnn', 'doNn', 'datb', 'dat\u007f', 'adé', 'lem', 'addx', 'typf', 'oq', 'u', 'T'];
    for (const k of near) {
      for (const rec of [
        { type: 'op', op: 'read', t: 3, addr: 8, len: 4, [k]: 1 },
        { type: 'op', op: 'write', t: 3, addr: 8, len: 2, data: new Uint8Array([1, 2]), [k]: 1 },
        { [k]: 1, type: 'op', op: 'read', t: 3, addr: 8, len: 4 },
      ]) {
        const bytes = Buffer.concat([HEADER, rec].map((r) => Buffer.from(packr.pack(r))));
        assert.deepEqual(await viaReader([bytes]), reference(bytes), `extra key ${JSON.stringify(k)}`);
      }
    }
    // op names one byte off: not columns (msgpackr and validateRecord refuse them, at the same record)
    for (const op of ['writf', 'wrjte', 'reaf', 'rEad', 'xrite']) {
      const bytes = Buffer.concat([HEADER, { type: 'op', op, t: 3, addr: 8, len: 2, ...(op.startsWith('r') ? {} : { data: new Uint8Array([1, 2]) }) }].map((r) => Buffer.from(packr.pack(r))));
      await assert.rejects(viaReader([bytes]), /record 1/, op);
    }
  });

  it('read integers stored as msgpack uint64 / int64 (other languages\' encoders above 2^32) as numbers, in every record type', async () => {
    const packr = new Packr({ useRecords: false });
    const big = 2n ** 40n;
    const recs = [
      { ...HEADER, simCycles: 5_000_000_000n, offset: -(2n ** 33n) },
      { type: 'region', name: 'hi', base: big, size: 4096n, dtype: 'uint8', kind: 'other' },
      { type: 'op', op: 'write', t: 4_294_967_296n, addr: big, len: 2, data: new Uint8Array([1, 2]) },
      { type: 'op', op: 'fence', t: 5_000_000_001n },
      { type: 'op', op: 'read', t: 5_000_000_002n, conn: 0n, addr: big, len: 2n, note: 1 },
      { type: 'op', op: 'free', t: 5_000_000_003n, name: 'hi' },
      { type: 'end', ops: 5n, writeBytes: 2n, readBytes: 2n, lastT: 5_000_000_003n },
    ];
    // msgpackr writes BigInt as int64 (0xd3); Python's msgpack writes uint64 (0xcf): one fence by hand, t = 2^32 + 9 as uint64.
    const fence64 = Buffer.concat([Buffer.from([0x83, 0xa4, ...Buffer.from('type'), 0xa2, ...Buffer.from('op'), 0xa2, ...Buffer.from('op'), 0xa5, ...Buffer.from('fence'), 0xa1, 0x74, 0xcf]), Buffer.from([0, 0, 0, 1, 0, 0, 0, 9])]);
    const packed = recs.map((r) => Buffer.from(packr.pack(r)));
    const bytes = Buffer.concat([...packed.slice(0, 6), fence64, packed[6]]);
    assert.ok(packed[3].includes(0xd3), 'the fixture holds int64 values');
    const got = (await viaReader([bytes])) as unknown as Record<string, unknown>[];
    assert.equal(got[0].simCycles, 5_000_000_000);
    assert.equal(got[0].offset, -(2 ** 33));
    assert.deepEqual([got[1].base, got[1].size], [2 ** 40, 4096]);
    assert.deepEqual(got.slice(2, 6).map((r) => r.t), [2 ** 32, 5_000_000_001, 5_000_000_002, 5_000_000_003]);
    assert.deepEqual([got[4].addr, got[4].len, got[4].conn], [2 ** 40, 2, 0]);
    assert.equal(got[6].t, 2 ** 32 + 9);
    assert.equal(got[7].lastT, 5_000_000_003);
    // Above 2^53 a number has lost its low bits: refused, as trace.md's 53-bit rule says.
    const over = Buffer.concat([HEADER, { type: 'op', op: 'fence', t: 2n ** 60n }].map((r) => Buffer.from(packr.pack(r))));
    await assert.rejects(viaReader([over]), (e: Error & { code?: string }) => e.code === 'E_TRACE_RECORD' && /record 1/.test(e.message));
  });

  it('writes and reads whose numbers are msgpack uint64 (0xcf) go into the columns as msgpackr reads them, up to 2^53 - 1; 2^53 is refused', async () => {
    const u64 = (v: bigint): Buffer => {
      const b = Buffer.alloc(9);
      b[0] = 0xcf;
      b.writeBigUInt64BE(v, 1);
      return b;
    };
    const str = (text: string): Buffer => Buffer.from([0xa0 | text.length, ...Buffer.from(text)]);
    const op = (name: 'write' | 'read', t: bigint, addr: bigint, tail: Buffer): Buffer =>
      Buffer.concat([Buffer.from([0x86]), str('type'), str('op'), str('op'), str(name), str('t'), u64(t), str('addr'), u64(addr), tail]);
    const max = 2n ** 53n - 1n;
    const write = op('write', max - 2n, 2n ** 47n + 5n, Buffer.concat([str('len'), u64(2n), str('data'), Buffer.from([0xc4, 2, 7, 9])]));
    const read = op('read', 2n ** 32n + 1n, 2n ** 40n, Buffer.concat([str('len'), u64(2n), str('crc'), u64(0xfffffffen)]));
    const bytes = Buffer.concat([Buffer.from(new Packr({ useRecords: false }).pack(HEADER)), write, read]);
    const cols = decodeChunk(bytes, 0, new Unpackr({ useRecords: false }), () => undefined).columns;
    assert.deepEqual([cols.kind[1], cols.kind[2]], [COL_WRITE, COL_READ], 'both in the columns, not left to msgpackr');
    // msgpackr as the trace reader configures it (uint64 as numbers; the plain reference above would give BigInts)
    const asNumbers = (new Unpackr({ useRecords: false, int64AsType: 'number' }).unpackMultiple(bytes) as unknown[]).map((r, i) => validateRecord(r, i));
    assert.deepEqual(await viaReader([bytes]), asNumbers);
    assert.deepEqual([cols.t[1], cols.addr[1], cols.crc[2]], [Number(max - 2n), 2 ** 47 + 5, 0xfffffffe]);
    const over = Buffer.concat([Buffer.from(new Packr({ useRecords: false }).pack(HEADER)), op('read', 2n ** 53n, 0n, Buffer.concat([str('len'), u64(2n), str('crc'), u64(1n)]))]);
    await assert.rejects(viaReader([over]), (e: Error & { code?: string }) => e.code === 'E_TRACE_RECORD' && /record 1/.test(e.message));
  });

  it('a record cut across several chunks, shorter or longer than the head joined to it', async () => {
    const packr = new Packr({ useRecords: false });
    for (const len of [100, 70_000, 200_000]) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 7) & 255);
      const recs = [HEADER, { type: 'op', op: 'write', t: 1, addr: 0, len, data }, { type: 'op', op: 'read', t: 2, addr: 0, len: 4 }];
      const bytes = Buffer.concat(recs.map((r) => Buffer.from(packr.pack(r))));
      for (const pieces of [4, 9]) {
        const cuts = Array.from({ length: pieces - 1 }, (_, k) => Math.floor(((k + 1) * bytes.length) / pieces));
        assert.deepEqual(await viaReader(split(bytes, cuts)), reference(bytes), `${len} bytes in ${pieces} pieces`);
      }
    }
  });

  it('hold writes and reads in the columns and everything else as objects', () => {
    const packr = new Packr({ useRecords: false });
    const recs = [HEADER, { type: 'op', op: 'write', t: 1, addr: 0, len: 2, data: new Uint8Array([7, 8]) }, { type: 'op', op: 'read', t: 2, conn: 1, addr: 0, len: 2, crc: 9 }, { type: 'op', op: 'fence', t: 3 }];
    const bytes = Buffer.concat(recs.map((r) => Buffer.from(packr.pack(r))));
    const { columns: c, rest, error } = decodeChunk(bytes, 0, new Unpackr({ useRecords: false }), () => undefined);
    assert.equal(error, undefined);
    assert.equal(rest, bytes.length);
    assert.deepEqual([...c.kind.subarray(0, c.n)], [COL_OTHER, COL_WRITE, COL_READ, COL_OTHER]);
    assert.deepEqual([...c.data(1)], [7, 8]);
    assert.equal(c.crc[2], 9);
    assert.equal(c.conn[2], 1);
  });

  it('a bad record fails with its index after the records before it; a cut-off one is a truncated trace', async () => {
    const packr = new Packr({ useRecords: false });
    const good = { type: 'op', op: 'write', t: 1, addr: 0, len: 2, data: new Uint8Array([1, 2]) };
    const cases: [object, RegExp][] = [
      [{ ...good, len: 3 }, /record 2: write needs addr, len > 0 and data of len bytes/],
      [{ type: 'op', op: 'read', t: 1, addr: 0, len: 0 }, /record 2: read needs addr and len > 0/],
      [{ type: 'op', op: 'read', t: 1, addr: 2 ** 48 - 1, len: 2 }, /record 2: read beyond 2\^48/],
      [{ type: 'op', op: 'read', t: 1, addr: 0, len: 2, crc: 2 ** 32 }, /record 2: read crc must be a 32-bit unsigned number/],
      [{ type: 'op', op: 'read', t: -1, addr: 0, len: 2 }, /record 2: op needs t/],
      [HEADER, /second header at record 2/],
    ];
    for (const [bad, message] of cases) {
      const bytes = Buffer.concat([HEADER, good, bad, good].map((r) => Buffer.from(packr.pack(r))));
      const seen: TraceRecord[] = [];
      await assert.rejects(
        (async () => {
          for await (const r of readTraceStream(Readable.from([bytes]), 'mem', false)) seen.push(r);
        })(),
        (e: Error & { code?: string }) => message.test(e.message) && e.code !== undefined,
      );
      assert.equal(seen.length, 2, `the header and the write before ${message} were read`);
    }
    // An op first: the header must come first.
    await assert.rejects(viaReader([Buffer.from(packr.pack(good))]), /first record is "op", not the header/);
    // Cut inside the last write's data.
    const whole = Buffer.concat([HEADER, good].map((r) => Buffer.from(packr.pack(r))));
    await assert.rejects(viaReader([whole.subarray(0, whole.length - 1)]), (e: Error & { code?: string }) => e.code === 'E_TRACE_TRUNCATED');
  });

  it('hand out a chunk at a time, columns over the chunk', async () => {
    const packr = new Packr({ useRecords: false });
    const w = (i: number): object => ({ type: 'op', op: 'write', t: i, addr: i * 64, len: 64, data: new Uint8Array(64).fill(i & 255) });
    const bytes = Buffer.concat([HEADER, ...Array.from({ length: 100 }, (_, i) => w(i))].map((r) => Buffer.from(packr.pack(r))));
    let n = 0;
    let chunks = 0;
    for await (const c of readTraceStreamColumns(Readable.from(split(bytes, [1000, 5000])), 'mem', false)) {
      chunks++;
      // a write cut across two chunks comes as an object (COL_OTHER), the others from the columns
      for (let i = 0; i < c.n; i++, n++) if (n > 0) assert.equal(c.kind[i] === COL_WRITE ? c.data(i)[0] : (c.record(i) as WriteOp).data[0], (n - 1) & 255);
    }
    assert.equal(n, 101);
    assert.equal(chunks, 3);
    // A long chunk comes in slices of at most 2048 records, in order.
    const many = Buffer.concat([HEADER, ...Array.from({ length: 5000 }, (_, i) => w(i))].map((r) => Buffer.from(packr.pack(r))));
    const sizes: number[] = [];
    n = 0;
    for await (const c of readTraceStreamColumns(Readable.from([many]), 'mem', false)) {
      sizes.push(c.n);
      for (let i = 0; i < c.n; i++, n++) if (n > 0) assert.equal(c.data(i)[0], (n - 1) & 255);
    }
    assert.deepEqual(sizes, [2048, 2048, 905]);
  });
});
