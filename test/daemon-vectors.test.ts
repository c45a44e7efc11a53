import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ChannelClient, type ShimpackClient, type ShimpackError, type VectorFailure } from '../clients/ts/index.ts';
import { WorkerLaneExecutor, FAULT_MARKER } from '../daemon/lanes/worker-executor.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { VectorAccess, clipMessage } from '../daemon/pipeline/vector.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { MAX_VECTOR_ELEMENTS } from '../protocol/types.ts';
import { connect, expectCode, rng, startTestDaemon, testBytes } from './daemon-harness.ts';
import { RawSocket } from './daemon-raw-socket.ts';
import { checkAsyncProperty } from './property.ts';

/**
 * Burst vectors (protocol/README.md 4.8-4.10) through the real daemon and the
 * real TS client: a vector means exactly its elements as single requests, in
 * order, with per-element failures.
 */

const REGION = 16384;
/** Mirror layouts: the vector goes to [X, X + 3 * REGION), the same singles to [Y, ...). */
const X = 0;
const Y = 1 << 24;

/** Three adjacent regions (raw, APack, ZVC with 256-byte blocks), so elements can also cross regions or leave them. */
async function declare(c: ShimpackClient, base: number, tag: string): Promise<void> {
  const hist = Array.from({ length: 256 }, (_, i) => 1 + (i < 8 || i > 248 ? 100 : 0));
  await c.region({ name: `${tag}-raw`, base, size: REGION, dtype: 'int8', kind: 'weight', codec: 'raw' });
  await c.region({ name: `${tag}-apack`, base: base + REGION, size: REGION, dtype: 'int8', kind: 'weight', codec: 'apack', histogram: hist });
  await c.region({ name: `${tag}-zvc`, base: base + 2 * REGION, size: REGION, dtype: 'int8', kind: 'other', codec: 'zvc', blockBytes: 256 });
}

interface Element {
  readonly addr: number;
  readonly len: number;
}

/** Elements mostly inside the three regions, some across their borders or past their end (3 * REGION + 512). */
const elementArb = fc.record({
  addr: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3 * REGION - 1 }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 * REGION + 512 }) }, { weight: 1, arbitrary: fc.constantFrom(REGION - 32, 2 * REGION - 8, 4090, 4096 + 4000) }),
  len: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(64, 32, 128) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }) }),
});

function pack(els: readonly Element[], seed: number): { addrs: number[]; lens: number[]; data: Uint8Array } {
  const lens = els.map((e) => e.len);
  return { addrs: els.map((e) => e.addr), lens, data: testBytes(lens.reduce((a, b) => a + b, 0), seed, 0.3) };
}

/** The same elements as single pipelined writes (or reads): failures as a writev would report them. */
async function singles(c: ShimpackClient, base: number, els: readonly Element[], data?: Uint8Array): Promise<{ failed: VectorFailure[]; bytes: Uint8Array }> {
  let at = 0;
  const ps = els.map((e) => {
    const p = data ? c.write(base + e.addr, data.subarray(at, at + e.len)).then(() => new Uint8Array(0)) : c.read(base + e.addr, e.len);
    at += e.len;
    return p;
  });
  const settled = await Promise.allSettled(ps);
  const failed: VectorFailure[] = [];
  const parts: Uint8Array[] = [];
  settled.forEach((s, index) => {
    if (s.status === 'fulfilled') parts.push(data ? new Uint8Array(0) : s.value);
    else {
      const e = s.reason as ShimpackError;
      failed.push({ index, code: e.code, message: e.message.replace(/^E_\w+: /, '') });
      parts.push(new Uint8Array(data ? 0 : els[index].len));
    }
  });
  return { failed, bytes: Buffer.concat(parts) };
}

/** Failures compared by index and code (messages name absolute addresses, which differ between the mirrors). */
const codes = (f: readonly VectorFailure[]): string[] => f.map((x) => `${x.index}:${x.code}`);

const COUNTERS = ['writes', 'reads', 'bytesWritten', 'bytesRead', 'burstsRaw', 'burstsStored', 'dramReadBursts', 'dramWriteBursts', 'blocksHeld'] as const;

async function countersOf(c: ShimpackClient, tag: string): Promise<Record<string, number>[]> {
  const st = await c.stats();
  return ['raw', 'apack', 'zvc'].map((k) => {
    const r = st.regions.find((x) => x.name === `${tag}-${k}`);
    assert.ok(r);
    return Object.fromEntries(COUNTERS.map((f) => [f, r[f]]));
  });
}

for (const config of [{ label: 'line buffers (default)', over: {} }, { label: '--line-buffer-bytes 0', over: { lineBufferBytes: 0 } }]) {
  describe(`writev/readv equal their elements as singles: ${config.label}`, () => {
    let d: RunningDaemon;
    let c: ShimpackClient;
    before(async () => {
      // No idle write-back: it would write blocks back between the two mirrors' turns at times load decides, and DRAM counts with it.
      d = await startTestDaemon({ lanes: 2, lineBufferIdleMs: 0, ...config.over });
      c = await connect(d);
      await declare(c, X, 'x');
      await declare(c, Y, 'y');
    });
    after(async () => {
      await c.close();
      await d.close();
    });

    it('random vectors: same bytes, same failures (index and code), same counters as the singles', { timeout: 120_000 }, async () => {
      let run = 0;
      await checkAsyncProperty(
        fc.asyncProperty(fc.array(elementArb, { minLength: 1, maxLength: 48 }), fc.array(elementArb, { minLength: 1, maxLength: 48 }), async (w, r) => {
          const { addrs, lens, data } = pack(w, ++run);
          const vf = await c.writev(
            addrs.map((a) => X + a),
            lens,
            data,
          );
          const sf = await singles(c, Y, w, data);
          assert.deepEqual(codes(vf), codes(sf.failed), 'writev failures');
          const rr = pack(r, 0);
          const vr = await c.readv(
            rr.addrs.map((a) => X + a),
            rr.lens,
          );
          const sr = await singles(c, Y, r);
          assert.deepEqual(codes(vr.failed), codes(sr.failed), 'readv failures');
          assert.equal(vr.data.length, rr.data.length);
          assert.deepEqual(Buffer.from(vr.data), Buffer.from(sr.bytes), 'readv bytes');
          // The whole space reads the same in both mirrors.
          for (let k = 0; k < 3; k++) assert.deepEqual(Buffer.from(await c.read(X + k * REGION, REGION)), Buffer.from(await c.read(Y + k * REGION, REGION)), `region ${k}`);
        }),
        { seed: 1414, numRuns: 30 },
      );
      await c.flush();
      assert.deepEqual(await countersOf(c, 'x'), await countersOf(c, 'y'), 'stats count elements as the single accesses');
      // So do the Prometheus byte and burst counters (labelled by region: x-... against y-...).
      const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      const series = (mirror: string): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const line of text.split('\n')) {
          const m = /^(shimpack_(?:raw_bytes|raw_bursts|stored_bursts)_total)\{(.*)\} (\S+)$/.exec(line);
          if (m && m[2].includes(`region="${mirror}-`)) out[`${m[1]}{${m[2].replace(`region="${mirror}-`, 'region="')}}`] = Number(m[3]);
        }
        return out;
      };
      const xs = series('x');
      assert.ok(Object.keys(xs).length >= 6, JSON.stringify(xs));
      assert.deepEqual(xs, series('y'), 'metrics count elements as the single accesses');
    });
  });
}

describe('writev/readv ordering and per-element failures', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  before(async () => {
    d = await startTestDaemon({ lanes: 2 });
    c = await connect(d);
    await declare(c, X, 'x');
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('takes effect in connection order among pipelined singles; later elements win over earlier ones', async () => {
    for (const base of [X, X + REGION]) {
      const a = testBytes(64, 1, 0);
      const b = testBytes(64, 2, 0);
      const e = testBytes(64, 3, 0);
      // Not awaited: one frame, applied in the order sent.
      const w1 = c.write(base + 128, a);
      const r1 = c.readv([base + 128], [64]);
      const w2 = c.writev([base + 128, base + 160, base + 128], [64, 64, 64], Buffer.concat([b, e, a]));
      const r2 = c.read(base + 128, 96);
      const r3 = c.readv([base + 160, base + 128], [32, 32]);
      await w1;
      assert.deepEqual(Buffer.from((await r1).data), Buffer.from(a));
      assert.deepEqual(await w2, []);
      // [128, 192) from the third element (a, over b and over e's first half), [192, 224) from the second (e).
      assert.deepEqual(Buffer.from(await r2), Buffer.concat([a, e.subarray(32)]));
      assert.deepEqual(Buffer.from((await r3).data), Buffer.concat([a.subarray(32), a.subarray(0, 32)]));
    }
  });

  it('an acknowledged writev is seen by readv on another connection', async () => {
    const other = await connect(d);
    const data = testBytes(64 * 10, 9);
    const addrs = Array.from({ length: 10 }, (_, i) => X + REGION + ((i * 7) % 10) * 64 + 2048);
    assert.deepEqual(await c.writev(addrs, new Array(10).fill(64), data), []);
    const got = await other.readv(addrs, new Array(10).fill(64));
    assert.deepEqual(got.failed, []);
    assert.deepEqual(Buffer.from(got.data), Buffer.from(data));
    await other.close();
  });

  it('failed elements carry index and code; the others apply; failed read elements are zero', async () => {
    const good = testBytes(64, 4, 0);
    const addrs = [X + 64, X + 3 * REGION + 100, X + REGION - 32, X + 200, X + REGION + 4096];
    const lens = [64, 64, 64, 64, 64];
    const data = Buffer.concat([good, good, good, good, good]);
    const failed = await c.writev(addrs, lens, data);
    assert.deepEqual(codes(failed), ['1:E_OUT_OF_REGION', '2:E_CROSS_REGION']);
    for (const f of failed) assert.ok(f.message.length > 0);
    const got = await c.readv(addrs, lens);
    assert.deepEqual(codes(got.failed), ['1:E_OUT_OF_REGION', '2:E_CROSS_REGION']);
    assert.deepEqual(Buffer.from(got.data), Buffer.concat([good, new Uint8Array(128), good, good]));
  });

  it('zero-length elements: accepted inside a region, E_OUT_OF_REGION outside', async () => {
    const failed = await c.writev([X + 5, X + 3 * REGION + 5, X + 6], [0, 0, 1], Uint8Array.of(7));
    assert.deepEqual(codes(failed), ['1:E_OUT_OF_REGION']);
    const got = await c.readv([X + 5, X + 6, X + 3 * REGION], [0, 1, 0]);
    assert.deepEqual(codes(got.failed), ['2:E_OUT_OF_REGION']);
    assert.deepEqual([...got.data], [7]);
  });
});

describe('many large vectors in flight (pooled frames, sent apart from the small requests between them)', () => {
  it('every vector reads back exactly', async () => {
    const d = await startTestDaemon({ lanes: 2 });
    const c = await connect(d);
    try {
      const size = 8 << 20;
      await c.region({ name: 'pool', base: 0, size, dtype: 'int8', kind: 'other', codec: 'raw' });
      // 48 vectors of 64-byte bursts (up to 2048 of them, 128 KiB: more than the socket takes at once), two per
      // event-loop turn, none awaited until the end; small requests and vectors too small to be pooled between them.
      const sent: { addrs: number[]; lens: number[]; data: Uint8Array }[] = [];
      const pending: Promise<unknown>[] = [];
      let at = 0;
      for (let turn = 0; turn < 24; turn++) {
        for (const n of [2048 - turn * 37, 300 + turn * 11]) {
          const addrs = Array.from({ length: n }, (_, i) => at + i * 64);
          const lens = new Array<number>(n).fill(64);
          const data = testBytes(n * 64, 1000 + sent.length, 0.1);
          at += n * 64;
          sent.push({ addrs, lens, data });
          pending.push(c.writev(addrs, lens, data));
        }
        pending.push(c.write(size - 64, testBytes(64, turn, 0)));
        pending.push(c.writev([size - 4096], [64], testBytes(64, 500 + turn, 0)));
        await new Promise((r) => setImmediate(r));
      }
      for (const f of (await Promise.all(pending)).filter(Array.isArray)) assert.deepEqual(f, []);
      for (const v of sent) {
        const got = await c.readv(v.addrs, v.lens);
        assert.deepEqual(got.failed, []);
        assert.ok(Buffer.from(got.data).equals(Buffer.from(v.data)), `vector of ${v.addrs.length} bursts at ${v.addrs[0]} read back other bytes`);
      }
    } finally {
      await c.close();
      await d.close();
    }
  });
});

describe('writev/readv whole-request errors', () => {
  let d: RunningDaemon;
  let s: RawSocket;
  before(async () => {
    d = await startTestDaemon({ lanes: 1, maxFrameBytes: 256 * 1024, maxOutstanding: 1 });
    s = await RawSocket.hello(d);
    await s.call({ op: 'region', id: 1, name: 'r', base: 0, size: 1 << 20, dtype: 'int8', kind: 'other', codec: 'raw' });
  });
  after(async () => {
    s.ws.close();
    await d.close();
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['addrs missing', { op: 'writev', lens: [1], data: new Uint8Array(1) }, 'E_BAD_FIELD'],
    ['lens not an array', { op: 'readv', addrs: [0], lens: 4 }, 'E_BAD_FIELD'],
    ['data missing', { op: 'writev', addrs: [0], lens: [1] }, 'E_BAD_FIELD'],
    ['data not bin', { op: 'writev', addrs: [0], lens: [1], data: 'x' }, 'E_BAD_FIELD'],
    ['lengths differ', { op: 'readv', addrs: [0, 64], lens: [64] }, 'E_BAD_FIELD'],
    ['empty vector', { op: 'writev', addrs: [], lens: [], data: new Uint8Array(0) }, 'E_BAD_FIELD'],
    ['negative address', { op: 'readv', addrs: [-1], lens: [4] }, 'E_BAD_FIELD'],
    ['address past 2^48', { op: 'readv', addrs: [2 ** 48], lens: [4] }, 'E_BAD_FIELD'],
    ['fractional length', { op: 'readv', addrs: [0], lens: [1.5] }, 'E_BAD_FIELD'],
    ['string element', { op: 'readv', addrs: ['0'], lens: [1] }, 'E_BAD_FIELD'],
    ['data shorter than lens', { op: 'writev', addrs: [0, 64], lens: [64, 64], data: new Uint8Array(100) }, 'E_BAD_FIELD'],
    ['data longer than lens', { op: 'writev', addrs: [0], lens: [4], data: new Uint8Array(5) }, 'E_BAD_FIELD'],
    ['readv answer over maxFrameBytes - 64', { op: 'readv', addrs: [0, 200_000], lens: [200_000, 256 * 1024 - 64 - 200_000 + 1] }, 'E_TOO_LARGE'],
  ];
  for (const [what, req, code] of cases) {
    it(`${what}: ${code}, nothing applied`, async () => {
      const r = await s.call({ ...req, id: 7 });
      assert.equal(r.ok, false);
      assert.equal(r.code, code, String(r.message));
      assert.equal(r.id, 7);
    });
  }

  it(`more than ${MAX_VECTOR_ELEMENTS} elements: E_TOO_LARGE`, async () => {
    const n = MAX_VECTOR_ELEMENTS + 1;
    const r = await s.call({ op: 'readv', id: 8, addrs: new Array(n).fill(0), lens: new Array(n).fill(0) });
    assert.equal(r.code, 'E_TOO_LARGE');
    // Exactly the bound is fine.
    const ok = await s.call({ op: 'readv', id: 9, addrs: new Array(n - 1).fill(0), lens: new Array(n - 1).fill(1) });
    assert.equal(ok.ok, true, String(ok.message));
    assert.equal((ok.data as Uint8Array).length, n - 1);
  });

  it('a frame over maxFrameBytes: E_FRAME_TOO_LARGE; nothing written', async () => {
    const r = await s.call({ op: 'writev', id: 10, addrs: [0, 300_000], lens: [150_000, 150_000], data: new Uint8Array(300_000).fill(9) });
    assert.equal(r.code, 'E_FRAME_TOO_LARGE');
    const back = await s.call({ op: 'readv', id: 11, addrs: [0], lens: [16] });
    assert.deepEqual([...(back.data as Uint8Array)], new Array(16).fill(0));
  });

  it('E_BUSY: a vector is one request of --max-outstanding', async () => {
    s.send([
      { op: 'writev', id: 12, addrs: [0], lens: [4], data: new Uint8Array(4) },
      { op: 'readv', id: 13, addrs: [0], lens: [4] },
    ]);
    const got = await s.answers(2);
    const busy = got.find((a) => a.id === 13);
    assert.equal(busy?.code, 'E_BUSY');
    assert.equal(got.find((a) => a.id === 12)?.ok, true);
  });

  it('E_NO_HELLO before hello', async () => {
    const raw = await RawSocket.open(d);
    const r = await raw.call({ op: 'writev', id: 1, addrs: [0], lens: [1], data: new Uint8Array(1) });
    assert.equal(r.code, 'E_NO_HELLO');
    raw.ws.close();
  });

  it('E_SHUTTING_DOWN once the daemon stops', async () => {
    const t = await startTestDaemon({ lanes: 1, lineBufferBytes: 0 });
    const k = await connect(t);
    await k.region({ name: 'r', base: 0, size: 1 << 20, dtype: 'int8', kind: 'other', codec: 'zvc' });
    const writes = Array.from({ length: 16 }, (_, i) => k.write(i * 32768, testBytes(32768, i)));
    await k.stats();
    const closing = t.close();
    await expectCode(k.writev([0], [4], new Uint8Array(4)), 'E_SHUTTING_DOWN');
    await expectCode(k.readv([0], [4]), 'E_SHUTTING_DOWN');
    await Promise.all(writes);
    await closing;
  });
});

describe('writev per-element E_MEMORY_FULL and E_WRONG_CHANNEL', () => {
  it('E_MEMORY_FULL refuses the element that would pass --max-memory; the others apply', async () => {
    const t = await startTestDaemon({ lanes: 1, maxMemory: 10_000 });
    try {
      const k = await connect(t);
      await k.region({ name: 'r', base: 0, size: 1 << 16, dtype: 'int8', kind: 'other', codec: 'raw' });
      const data = testBytes(3 * 4096 + 8, 5, 0);
      const failed = await k.writev([0, 4096, 8192, 8192 + 4096], [4096, 4096, 4096, 8], data);
      assert.deepEqual(codes(failed), ['2:E_MEMORY_FULL']);
      const got = await k.readv([0, 4096, 8192 + 4096], [4096, 4096, 8]);
      assert.deepEqual(Buffer.from(got.data), Buffer.concat([data.subarray(0, 8192), data.subarray(3 * 4096)]));
      await k.close();
    } finally {
      await t.close();
    }
  });

  it('E_WRONG_CHANNEL per element on a channel daemon; the channel client splits vectors and keeps the caller indexes', async () => {
    const granule = 4096;
    const ds = await Promise.all([0, 1].map((i) => startTestDaemon({ lanes: 1, channel: `${i}/2`, channelGranule: granule })));
    try {
      const k = await connect(ds[0]);
      await k.region({ name: 'r', base: 0, size: 1 << 16, dtype: 'int8', kind: 'weight', codec: 'apack' });
      const failed = await k.writev([0, granule + 10, 100], [8, 8, 8], new Uint8Array(24).fill(3));
      assert.deepEqual(codes(failed), ['1:E_WRONG_CHANNEL']);
      await k.close();

      const cc = await ChannelClient.connect(ds.map((d) => d.url));
      await cc.region({ name: 'v', base: 1 << 20, size: 1 << 16, dtype: 'int8', kind: 'weight', codec: 'raw' });
      const base = 1 << 20;
      // Elements inside one granule, across a granule boundary, a failing one, and one wholly on channel 1.
      const addrs = [base + 10, base + granule - 20, base + (1 << 16) - 4, base + granule + 200];
      const lens = [30, 100, 16, 64];
      const data = testBytes(210, 8, 0);
      assert.deepEqual(codes(await cc.writev(addrs, lens, data)), ['2:E_OUT_OF_REGION']);
      const got = await cc.readv(addrs, lens);
      assert.deepEqual(codes(got.failed), ['2:E_OUT_OF_REGION']);
      const want = Buffer.from(data);
      want.fill(0, 130, 146);
      assert.deepEqual(Buffer.from(got.data), want);
      assert.deepEqual(Buffer.from(await cc.read(base + granule - 20, 100)), Buffer.from(data.subarray(30, 130)));
      await cc.close();
    } finally {
      await Promise.all(ds.map((d) => d.close()));
    }
  });
});

describe('a lane worker dies mid-vector', () => {
  it('no acknowledged element is lost: failed elements get E_LANE_FAILED, the rest read back', { timeout: 60_000 }, async () => {
    const executor = new WorkerLaneExecutor(2, { exitOnMarker: true });
    executor.onLaneError = () => undefined;
    // Without line buffers the ZVC elements are lane jobs of their own; the raw ones are grouped per block.
    const d = await startTestDaemon({ lanes: 2, lineBufferBytes: 0 }, { executor });
    try {
      const c = await connect(d);
      const size = 1 << 16;
      await c.region({ name: 'z', base: 0, size, dtype: 'int8', kind: 'other', codec: 'zvc' });
      await c.region({ name: 'r', base: size, size, dtype: 'int8', kind: 'other', codec: 'raw' });
      const shadow = new Uint8Array(2 * size);
      /** Bytes a failed element may or may not have written: either value may be read, once. */
      const maybe = new Map<number, Set<number>>();
      const rand = rng(77);
      let deaths = 0;
      for (let round = 0; round < 12; round++) {
        const n = 24;
        const addrs: number[] = [];
        const lens: number[] = [];
        const parts: Uint8Array[] = [];
        for (let i = 0; i < n; i++) {
          const len = 1 + Math.floor(rand() * 600);
          const addr = Math.floor(rand() * (2 * size - len));
          // A region border would give E_CROSS_REGION: keep elements inside one.
          if (addr < size && addr + len > size) continue;
          const bytes = testBytes(len, round * 1000 + i, 0.2);
          if (i === 5 && round % 3 === 1 && len >= FAULT_MARKER.length) bytes.set(new TextEncoder().encode(FAULT_MARKER));
          addrs.push(addr);
          lens.push(len);
          parts.push(bytes);
        }
        const failed = await c.writev(addrs, lens, Buffer.concat(parts));
        const bad = new Set(failed.map((f) => f.index));
        for (const f of failed) assert.equal(f.code, 'E_LANE_FAILED', f.message);
        if (failed.length) deaths++;
        parts.forEach((p, i) => {
          for (let b = 0; b < p.length; b++) {
            const at = addrs[i] + b;
            if (bad.has(i)) {
              const m = maybe.get(at) ?? new Set([shadow[at]]);
              m.add(p[b]);
              maybe.set(at, m);
            } else {
              shadow[at] = p[b];
              maybe.delete(at);
            }
          }
        });
        const back = await c.readv([0, size], [size, size]);
        assert.deepEqual(back.failed, []);
        for (let at = 0; at < 2 * size; at++) {
          const m = maybe.get(at);
          if (m) {
            assert.ok(m.has(back.data[at]), `byte ${at}: ${back.data[at]} is neither its old nor a failed element's value`);
            shadow[at] = back.data[at];
            maybe.delete(at);
          } else if (back.data[at] !== shadow[at]) assert.fail(`round ${round}: byte ${at} is ${back.data[at]}, the acknowledged value is ${shadow[at]}`);
        }
      }
      assert.ok(deaths >= 2, `workers died in ${deaths} rounds`);
      await c.close();
    } finally {
      await d.close();
    }
  });
});

describe('serve --record', () => {
  it('records a vector as its admitted elements, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-vec-rec-'));
    const path = join(dir, 'rec.trace');
    const d = await startTestDaemon({ lanes: 1, record: path });
    try {
      const c = await connect(d);
      await c.region({ name: 'r', base: 0, size: 8192, dtype: 'int8', kind: 'weight', codec: 'raw' });
      const data = testBytes(64 + 32 + 16, 3, 0);
      assert.deepEqual(codes(await c.writev([128, 9000, 0, 50], [64, 32, 0, 16], data)), ['1:E_OUT_OF_REGION']);
      await c.readv([0, 64], [8, 8]);
      await c.close();
      await d.close();
      const ops: { op: string; addr?: number; len?: number; data?: Uint8Array }[] = [];
      for await (const rec of readTrace(path)) if (rec.type === 'op') ops.push(rec as (typeof ops)[number]);
      assert.deepEqual(
        ops.map((o) => `${o.op}@${o.addr}+${o.len}`),
        ['write@128+64', 'write@50+16', 'read@0+8', 'read@64+8'],
      );
      assert.deepEqual(Buffer.from(ops[1].data as Uint8Array), Buffer.from(data.subarray(96)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('VectorAccess.elementAt', () => {
  it('maps a position in the packed buffer to its element, skipping zero-length ones', () => {
    const lens = [4, 0, 0, 3, 0, 5];
    const starts = new Float64Array(lens.length + 1);
    for (let i = 0; i < lens.length; i++) starts[i + 1] = starts[i] + lens[i];
    const v = new VectorAccess('read', new Uint8Array(12), starts, { vectorDone: () => undefined });
    const want = [0, 0, 0, 0, 3, 3, 3, 5, 5, 5, 5, 5];
    assert.deepEqual(
      want.map((_, at) => v.elementAt(at)),
      want,
    );
  });
});


describe('the size of a readv answer with failed elements (protocol 4.9)', () => {
  const M = 65536;
  const A = 'a'.repeat(256);
  const B = 'b'.repeat(256);
  let d: RunningDaemon;
  let c: ShimpackClient;
  before(async () => {
    d = await startTestDaemon({ lanes: 1, maxFrameBytes: M });
    c = await connect(d);
    await c.region({ name: A, base: 0, size: M, dtype: 'int8', kind: 'other', codec: 'raw' });
    await c.region({ name: B, base: M, size: M, dtype: 'int8', kind: 'other', codec: 'raw' });
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('cuts a failed element\'s message to 200 bytes of UTF-8, so 256 bytes per element leave room for the answer', async () => {
    // Element 0 runs from A into B (its message names both 256-character regions); element 1 fills the rest.
    const lens = [64, M - 64 - 2 * 256 - 64];
    const got = await c.readv([M - 32, 0], lens);
    assert.deepEqual(codes(got.failed), ['0:E_CROSS_REGION']);
    const m = got.failed[0].message;
    assert.ok(Buffer.byteLength(m) <= 200 && m.endsWith('...') && m.includes('runs from region'), m);
    assert.equal(got.data.length, lens[0] + lens[1]);
    const w = await c.writev([M - 32], [64], new Uint8Array(64));
    assert.ok(Buffer.byteLength(w[0].message) <= 200 && w[0].message.endsWith('...'));
  });

  it('answers E_TOO_LARGE when the failed entries push an answer of maxFrameBytes - 64 data bytes over the frame', async () => {
    await expectCode(c.readv([M - 32, 0], [64, M - 64 - 64]), 'E_TOO_LARGE');
    // The connection goes on.
    assert.deepEqual((await c.readv([0], [8])).failed, []);
  });
});

describe('clipMessage', () => {
  it('keeps short messages, and cuts long ones at a character boundary within 200 bytes', () => {
    assert.equal(clipMessage('short'), 'short');
    const ascii = 'x'.repeat(200);
    assert.equal(clipMessage(ascii), ascii);
    for (const long of ['y'.repeat(201), 'é'.repeat(150), '𝄞'.repeat(80), `${'z'.repeat(196)}𝄞𝄞`]) {
      const cut = clipMessage(long);
      assert.ok(Buffer.byteLength(cut) <= 200, `${Buffer.byteLength(cut)} bytes`);
      assert.ok(cut.endsWith('...'));
      assert.ok(long.startsWith(cut.slice(0, -3)));
      assert.ok(!Buffer.from(cut).toString().includes('\uFFFD'));
    }
  });
});
