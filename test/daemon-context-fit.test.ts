import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ShimpackClient } from '../clients/ts/index.ts';
import type { CodecOptions } from '../daemon/codecs/codec.ts';
import type { Dtype } from '../daemon/codecs/dtype.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { PendingCalibration } from '../daemon/pipeline/calibration.ts';
import { CONTEXT_FIT_MEMO, FitPool, type ContextFitter } from '../daemon/pipeline/fit-pool.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

/** bf16 values of a smooth signal with a channel stride of 16 (fpack codes them well below raw). */
function bf16Tensor(values: number, seed: number): Uint8Array {
  const f = new Float32Array(values);
  for (let i = 0; i < values; i++) f[i] = Math.max(0, Math.sin((i >> 4) / 37 + seed) * (1 + (i % 16)) * 0.25);
  const u = new Uint32Array(f.buffer);
  const out = new Uint8Array(values * 2);
  for (let i = 0; i < values; i++) {
    out[2 * i] = (u[i] >>> 16) & 0xff;
    out[2 * i + 1] = u[i] >>> 24;
  }
  return out;
}

/** A fitter whose fits wait for the test (or fail): what the daemon does while a table is fitted. */
class GatedFitter implements ContextFitter {
  readonly real = new FitPool();
  calls = 0;
  fail = false;
  private open: () => void = () => undefined;
  private gate: Promise<void> | undefined;

  async fit(codec: string, dtype: Dtype, data: Uint8Array, options: CodecOptions): Promise<Uint8Array> {
    this.calls++;
    await this.gate;
    if (this.fail) throw new Error('test: this fit fails');
    return this.real.fit(codec, dtype, data, options);
  }

  /** Fits from now on wait for release(). */
  hold(): void {
    this.gate = new Promise<void>((r) => (this.open = r));
  }

  release(): void {
    this.open();
    this.gate = undefined;
  }

  close(): Promise<void> {
    this.release();
    return this.real.close();
  }
}

/** Settles within `ms`? (a request held behind a fit must not). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

describe('context-codec fits off the main thread (fit-pool.ts)', () => {
  const pool = new FitPool();
  after(() => pool.close());

  it('fits what the codec fits, remembers it by the bytes and options, and hands out copies', async () => {
    const data = bf16Tensor(8192, 1);
    const options = { stride: 16, kind: 'activation' } as const;
    const direct = codecByName('fpack').fit(data, 'bfloat16', options).params;
    const first = await pool.fit('fpack', 'bfloat16', data, options);
    assert.deepEqual(first, direct);
    assert.deepEqual(pool.counts, { fitted: 1, remembered: 0 });
    first.fill(0);
    const again = await pool.fit('fpack', 'bfloat16', data.slice(), options);
    assert.deepEqual(again, direct, 'the remembered table is not the copy handed out before');
    assert.deepEqual(pool.counts, { fitted: 1, remembered: 1 });
    // other options, or other bytes: fitted anew
    await pool.fit('fpack', 'bfloat16', data, { stride: 8, kind: 'activation' });
    await pool.fit('fpack', 'bfloat16', bf16Tensor(8192, 2), options);
    assert.deepEqual(pool.counts, { fitted: 3, remembered: 1 });
  });

  it('a failing fit rejects with the codec\'s error and is tried again next time', async () => {
    const before = pool.counts.fitted;
    await assert.rejects(pool.fit('scc', 'uint8', new Uint8Array(100), { kind: 'activation' }), /stride/i);
    await assert.rejects(pool.fit('scc', 'uint8', new Uint8Array(100), { kind: 'activation' }), /stride/i);
    assert.equal(pool.counts.fitted, before + 2);
  });

  it(`remembers at most ${CONTEXT_FIT_MEMO} tables, forgetting the least recently used`, async () => {
    const small = (k: number): Uint8Array => testBytes(128, k + 1);
    const p = new FitPool();
    try {
      for (let k = 0; k <= CONTEXT_FIT_MEMO; k++) await p.fit('fpack', 'bfloat16', small(k), {});
      assert.equal(p.counts.fitted, CONTEXT_FIT_MEMO + 1);
      await p.fit('fpack', 'bfloat16', small(CONTEXT_FIT_MEMO), {}); // the newest: remembered
      assert.equal(p.counts.remembered, 1);
      await p.fit('fpack', 'bfloat16', small(0), {}); // the oldest: forgotten
      assert.equal(p.counts.fitted, CONTEXT_FIT_MEMO + 2);
    } finally {
      await p.close();
    }
  });

  it('sampleAfter: the bytes a pending region would fit after more writes, the region unchanged', () => {
    const ctx = { stride: 16, kind: 'activation' } as const;
    const writes = [
      { at: 4096, bytes: testBytes(30000, 1) },
      { at: 0, bytes: testBytes(5000, 2) }, // overlaps the first's start
      { at: 70000, bytes: testBytes(40000, 3) }, // past the budget: its head only
    ];
    const p = new PendingCalibration('bfloat16', 1 << 20, ctx);
    p.add(writes[0].bytes, writes[0].at);
    const before = p.sample().slice();
    const ahead = p.sampleAfter(writes.slice(1));
    assert.deepEqual(p.sample(), before, 'the pending region is unchanged');
    assert.equal(p.seen, 30000);
    for (const w of writes.slice(1)) p.add(w.bytes, w.at);
    assert.deepEqual(ahead, p.sample());
    assert.ok(p.ready);
    // a table fitted ahead to exactly those bytes is what fit() returns; to other bytes, it is not used
    const params = new Uint8Array([1, 2, 3]);
    p.prefits.set('fpack', { sample: ahead, params });
    assert.ok(p.fittedAhead('fpack', ahead.slice()));
    assert.equal(p.fittedAhead('scc', ahead), false);
    assert.equal(p.fit(codecByName('fpack')), params);
    const other = ahead.slice();
    other[0] ^= 1;
    p.prefits.set('fpack', { sample: other, params });
    assert.equal(p.fittedAhead('fpack', ahead), false);
    assert.deepEqual(p.fit(codecByName('fpack')), codecByName('fpack').fit(ahead, 'bfloat16', ctx).params);
  });

  it('refuses fits once closed', async () => {
    const p = new FitPool();
    await p.close();
    await assert.rejects(p.fit('fpack', 'bfloat16', bf16Tensor(64, 1), {}), /closed/);
  });
});

describe('a float region calibrating while the daemon goes on', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  let other: ShimpackClient;
  const fitter = new GatedFitter();
  let base = 0;
  const data = bf16Tensor(65536, 3); // 128 KiB: two calibration windows
  async function region(name: string, client = c): Promise<number> {
    const at = base;
    base += data.length + 65536;
    const r = await client.region({ name, base: at, size: data.length, dtype: 'bfloat16', kind: 'activation', codec: 'fpack', stride: 16 });
    assert.equal(r.calibration, 'pending');
    return at;
  }

  before(async () => {
    d = await startTestDaemon({}, { fitter });
    c = await connect(d);
    other = await connect(d);
  });
  after(async () => {
    fitter.release();
    await c.close();
    await other.close();
    await d.close();
  });

  it('holds the connection whose write completes the window while the table is fitted; serves the others', async () => {
    const at = await region('gated');
    const otherAt = base;
    base += 65536;
    await other.region({ name: 'other', base: otherAt, size: 4096, dtype: 'int8', kind: 'weight', codec: 'raw' });
    fitter.hold();
    const calls = fitter.calls;
    await c.write(at, data.subarray(0, 32768)); // half the window: nothing to fit yet
    assert.equal(fitter.calls, calls);
    const completing = c.write(at + 32768, data.subarray(32768)); // completes it: fitted first, then admitted
    const later = c.read(at, 4096); // behind it, in order
    assert.equal(await settlesWithin(completing, 300), false, 'the completing write waits for its table');
    assert.equal(fitter.calls, calls + 1);
    assert.equal(await settlesWithin(later, 0), false, 'and so do the requests after it');
    // another connection is served meanwhile: writes, reads, stats
    await other.write(otherAt, new Uint8Array(4096).fill(7));
    assert.deepEqual(await other.read(otherAt, 4096), Buffer.from(new Uint8Array(4096).fill(7)));
    assert.equal((await other.stats('other')).regions[0].bytesWritten, 4096);
    fitter.release();
    await completing;
    assert.deepEqual(await later, Buffer.from(data.subarray(0, 4096)));
    const metrics = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
    assert.match(metrics, /shimpack_socket_pauses_total\{reason="fit"\} [1-9]/);
    const s = (await c.stats('gated')).regions[0];
    assert.equal(s.calibration, 'first-write');
    assert.equal(s.blocksRaw, 0);
    assert.ok(s.storedBytes < s.rawBytesStored / 2, `coded: ${s.storedBytes} of ${s.rawBytesStored} bytes`);
    assert.deepEqual(await c.read(at, data.length), Buffer.from(data));
  });

  it('every count is what it is without the wait: the table is installed where the window completes', async () => {
    const run = async (name: string, wait: boolean) => {
      const at = await region(name);
      if (wait) fitter.hold();
      const w = c.writev([at, at + 40960, at + 81920], [40960, 40960, 49152], data); // the window completes in the second element
      if (wait) {
        assert.equal(await settlesWithin(w, 200), false);
        fitter.release();
      }
      assert.deepEqual(await w, []);
      const s = (await c.stats(name)).regions[0];
      return { ...s, name: '', base: 0 };
    };
    const fast = await run('now', false);
    const slow = await run('later', true);
    assert.equal(fast.calibration, 'first-write');
    assert.deepEqual(slow, fast);
  });

  it('a fit that fails on the fit thread is done on the main thread, as without it', async () => {
    fitter.fail = true;
    try {
      const at = await region('fails');
      await c.write(at, data);
      const s = (await c.stats('fails')).regions[0];
      assert.equal(s.calibration, 'first-write');
      assert.equal(s.blocksRaw, 0);
      assert.deepEqual(await c.read(at, data.length), Buffer.from(data));
    } finally {
      fitter.fail = false;
    }
  });

  it('a region freed by another connection meanwhile: the held write is refused, the daemon goes on', async () => {
    const at = await region('freed');
    fitter.hold();
    const completing = c.write(at, data);
    assert.equal(await settlesWithin(completing, 200), false);
    await other.free('freed');
    fitter.release();
    await assert.rejects(completing, (e: Error & { code?: string }) => e.code === 'E_OUT_OF_REGION');
    const again = await region('freed-again');
    await c.write(again, data);
    assert.deepEqual(await c.read(again, data.length), Buffer.from(data));
  });

  it('a region written short of its window is fitted ahead at stats', async () => {
    const at = await region('short');
    await c.write(at, data.subarray(0, 8192));
    const calls = fitter.calls;
    const s = (await c.stats('short')).regions[0];
    assert.equal(fitter.calls, calls + 1);
    assert.equal(s.calibration, 'first-write');
    assert.equal(s.blocksRaw, 0);
    assert.deepEqual(await c.read(at, 8192), Buffer.from(data.subarray(0, 8192)));
  });
});

describe('shadow codecs fitted from data, ahead as well', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  const fitter = new GatedFitter();

  before(async () => {
    d = await startTestDaemon({ shadow: 'scc', shadowSample: 1 }, { fitter });
    c = await connect(d);
  });
  after(async () => {
    fitter.release();
    await c.close();
    await d.close();
  });

  it('an APack region shadowed by SCC: the write completing the window waits for the SCC table, fitted on the fit thread', async () => {
    const bytes = testBytes(131072, 9, 0.6).map((v) => (v % 9) & 0xff);
    await c.region({ name: 'w', base: 0, size: bytes.length, dtype: 'uint8', kind: 'activation', codec: 'apack', stride: 16 });
    fitter.hold();
    const completing = c.write(0, bytes);
    assert.equal(await settlesWithin(completing, 200), false, 'held for the shadow table');
    assert.equal(fitter.calls, 1);
    fitter.release();
    await completing;
    const r = (await c.stats('w')).regions[0];
    const scc = r.shadow?.find((x) => x.codec === 'scc');
    assert.equal(scc?.status, 'ok');
    assert.ok(scc.sampledBlocks > 0 && scc.sampledStoredBytes < scc.sampledRawBytes, `scc shadow: ${JSON.stringify(scc)}`);
    assert.deepEqual(await c.read(0, bytes.length), Buffer.from(bytes));
  });
});
