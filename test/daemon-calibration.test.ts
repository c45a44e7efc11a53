import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import type { Codec, CodecOptions } from '../daemon/codecs/codec.ts';
import { configWith } from '../daemon/config.ts';
import { DEFAULT_DATA_DIR, loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { APACK_FIT_MEMO, CALIBRATION_BYTES, PendingCalibration, apackFitCounts } from '../daemon/pipeline/calibration.ts';
import { apackModelFromHistogram } from '../daemon/codecs/apack/index.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { startDaemon, type RunningDaemon } from '../daemon/server/daemon.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

const hasData = existsSync(`${DEFAULT_DATA_DIR}/manifest.json`);

/** An int8 weight tensor of 256 KiB from the shared data set (several calibration windows long). */
function realWeight(): Uint8Array {
  const ds = loadDataset();
  const t = ds.tensors.find((x) => x.model === 'faceapi-ssd-mobilenetv1' && x.kind === 'weight' && x.dtype === 'int8' && x.bytes === 262144);
  assert.ok(t, 'no 256 KiB int8 weight of faceapi-ssd-mobilenetv1 in the data set');
  return readTensor(ds, t);
}

/** Weight-like synthetic int8 data: small values around zero. */
function smallValues(n: number, seed: number): Uint8Array {
  return testBytes(n, seed, 0.2).map((v) => ((v % 13) - 6) & 0xff);
}

/** Stored bytes as a share of raw bytes held, in percent. */
function footprint(s: { storedBytes: number; rawBytesStored: number }): number {
  return (100 * s.storedBytes) / s.rawBytesStored;
}

describe('APack calibration from the first bytes written', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  let base = 0;
  /** A fresh APack int8 weight region of `size` bytes. */
  async function region(name: string, size: number, blockBytes?: number): Promise<number> {
    const at = base;
    base += size + 65536;
    const r = await c.region({ name, base: at, size, dtype: 'int8', kind: 'weight', codec: 'apack', blockBytes });
    assert.equal(r.calibration, 'pending');
    return at;
  }
  const stats = async (name: string) => (await c.stats(name)).regions[0];

  before(async () => {
    d = await startTestDaemon();
    c = await connect(d);
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('waits for min(region size, 64 KiB) written; zero-length writes count nothing; 4-bit dtypes count nibbles', () => {
    const p = new PendingCalibration('int8', 1 << 20);
    assert.equal(p.need, CALIBRATION_BYTES);
    p.add(new Uint8Array(0));
    assert.equal(p.seen, 0);
    p.add(new Uint8Array(CALIBRATION_BYTES - 1));
    assert.equal(p.ready, false);
    p.add(new Uint8Array([3]));
    assert.equal(p.ready, true);
    assert.equal(p.hist.length, 256);
    assert.equal(p.hist[0], CALIBRATION_BYTES - 1);
    assert.equal(p.hist[3], 1);
    assert.equal(new PendingCalibration('uint8', 100).need, 100);
    const q = new PendingCalibration('int4', 4096);
    q.add(new Uint8Array([0x21]));
    assert.equal(q.hist.length, 16);
    assert.deepEqual([q.hist[1], q.hist[2]], [1, 1]);
  });

  it('a zero-length first write changes nothing: same footprint as without it', async () => {
    const data = hasData ? realWeight() : smallValues(262144, 5);
    const a = await region('one', data.length);
    await c.write(a, data);
    const b = await region('empty-first', data.length);
    const pending = await stats('empty-first');
    await c.write(b, new Uint8Array(0));
    assert.equal((await stats('empty-first')).calibration, 'pending');
    assert.equal(pending.calibration, 'pending');
    await c.write(b, data);
    const one = await stats('one');
    const empty = await stats('empty-first');
    assert.equal(empty.calibration, 'first-write');
    assert.equal(empty.storedBytes, one.storedBytes);
    assert.equal(empty.blocksRaw, one.blocksRaw);
    assert.ok(footprint(one) < 90, `footprint ${footprint(one)} %: the table does not fit the data`);
    assert.deepEqual(await c.read(b, data.length), Buffer.from(data));
  });

  it('blocks written before the table are held raw, then coded once it exists', async () => {
    const data = smallValues(4 * CALIBRATION_BYTES, 8);
    const a = await region('early', data.length);
    // A 100-byte all-zero write first: it no longer decides the table.
    await c.write(a, new Uint8Array(100));
    await c.write(a, data.subarray(0, CALIBRATION_BYTES / 2));
    // Looked at inside the daemon: stats (like fence and flush) would calibrate the region on what it has.
    const mid = d.engine.regions.named('early');
    assert.ok(mid?.pending, 'still waiting for its window');
    assert.equal(mid.calibration, 'pending');
    assert.deepEqual(await c.read(a, CALIBRATION_BYTES / 2), Buffer.from(data.subarray(0, CALIBRATION_BYTES / 2)));
    await c.write(a + CALIBRATION_BYTES / 2, data.subarray(CALIBRATION_BYTES / 2));
    await c.read(a, 1); // queued behind the re-coding of the early blocks
    const end = await stats('early');
    assert.equal(end.calibration, 'first-write');
    assert.equal(end.blocksRaw, 0);
    assert.ok(footprint(end) < 75, `footprint ${footprint(end)} %`);
    // Re-coding is the daemon's own work: client counters see only the client's writes.
    assert.equal(end.writes, 3);
    assert.equal(end.bytesWritten, 100 + data.length);
    assert.deepEqual(await c.read(a, data.length), Buffer.from(data));
  });

  it('64-byte bursts end within 1 point of one big write', { skip: !hasData && 'no ../shared/data' }, async () => {
    const data = realWeight();
    const a = await region('whole', data.length);
    await c.write(a, data);
    const b = await region('bursts', data.length);
    // Sixteen bursts in flight at a time, as a DMA engine would issue them: the
    // early blocks are committed raw long before the table exists.
    for (let o = 0; o < data.length; o += 1024) {
      const ps: Promise<void>[] = [];
      for (let k = o; k < o + 1024; k += 64) ps.push(c.write(b + k, data.subarray(k, k + 64)));
      await Promise.all(ps);
    }
    await c.read(b, data.length);
    const whole = footprint(await stats('whole'));
    const bursts = footprint(await stats('bursts'));
    assert.ok(Math.abs(bursts - whole) <= 1, `bursts ${bursts.toFixed(2)} % vs one write ${whole.toFixed(2)} %`);
    assert.deepEqual(await c.read(b, data.length), Buffer.from(data));
  });

  it('every byte reads back exactly before, during and after calibration, with reads racing writes', async () => {
    const size = 3 * CALIBRATION_BYTES;
    const blockBytes = 4096;
    const a = await region('race', size, blockBytes);
    const shadow = new Uint8Array(size);
    const src = smallValues(size * 2, 21);
    // Bursts of 64..4159 bytes at pseudo-random places (overwrites included), none awaited;
    // after each, a read of a range around it, which must see every write sent before it.
    let s = 12345;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    const checks: Promise<void>[] = [];
    let written = 0;
    let k = 0;
    while (written < 2 * size) {
      const len = 64 + rnd(4096);
      const at = rnd(size - len);
      const piece = src.subarray(written % size, (written % size) + len);
      if (piece.length < len) {
        written += len;
        continue;
      }
      checks.push(c.write(a + at, piece));
      shadow.set(piece, at);
      written += len;
      const rAt = Math.max(0, at - rnd(blockBytes));
      const rLen = Math.min(size - rAt, len + rnd(2 * blockBytes));
      const expect = shadow.slice(rAt, rAt + rLen);
      const n = k++;
      checks.push(c.read(a + rAt, rLen).then((got) => assert.deepEqual(got, Buffer.from(expect), `read ${n} at ${rAt}+${rLen}`)));
    }
    await Promise.all(checks);
    const st = await stats('race');
    assert.equal(st.calibration, 'first-write');
    assert.deepEqual(await c.read(a, size), Buffer.from(shadow));
    // Memory stays bounded: nothing of the calibration is kept once the table exists.
    const held = d.engine.regions.named('race');
    assert.ok(held);
    assert.equal(held.pending, undefined);
  });

  it('a region written short of its window stays pending until stats, fence or flush calibrate it on what it has', async () => {
    const data = smallValues(8192, 3);
    const a = await region('small-part', 1 << 20);
    await c.write(a + 5000, data);
    const held = d.engine.regions.named('small-part');
    assert.ok(held?.pending);
    assert.ok(held.pending.touched.size <= held.blockCount());
    assert.equal(held.pending.hist.length, 256);
    assert.deepEqual(await c.read(a + 5000, data.length), Buffer.from(data));
    const st = await stats('small-part');
    assert.equal(st.calibration, 'first-write');
    assert.equal(held.pending, undefined);
    assert.ok(st.blocksHeld >= 2 && st.blocksRaw < st.blocksHeld, `coded, not held raw: ${st.blocksRaw} of ${st.blocksHeld} raw`);
    assert.ok(st.storedBytes < st.rawBytesStored);
    assert.deepEqual(await c.read(a + 5000, data.length), Buffer.from(data));
  });
});

describe('APack calibration across a restart (file backend)', () => {
  it('a pending region stays pending, its raw blocks read back, and are coded once it calibrates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-calib-'));
    // No idle write-back: it would calibrate the region on the half it has before the restart.
    const cfg = configWith({ host: '127.0.0.1', port: 0, lanes: 2, backend: `file:${dir}`, sync: 'always', lineBufferIdleMs: 0 });
    const data = smallValues(4 * CALIBRATION_BYTES, 31);
    const half = CALIBRATION_BYTES / 2;
    try {
      const d1 = await startDaemon(cfg);
      const c1 = await ShimpackClient.connect(d1.url);
      await c1.region({ name: 'w', base: 0, size: data.length, dtype: 'int8', kind: 'weight', codec: 'apack' });
      await c1.write(0, data.subarray(0, half));
      await c1.close();
      await d1.close();
      const d2 = await startDaemon(cfg);
      const c2 = await ShimpackClient.connect(d2.url);
      try {
        const st = (await c2.stats('w')).regions[0];
        assert.equal(st.calibration, 'pending');
        assert.equal(st.blocksRaw, st.blocksHeld);
        assert.deepEqual(await c2.read(0, half), Buffer.from(data.subarray(0, half)));
        // Counting starts again after the restart: the rest of the tensor calibrates it.
        await c2.write(half, data.subarray(half));
        await c2.read(0, 1);
        const end = (await c2.stats('w')).regions[0];
        assert.equal(end.calibration, 'first-write');
        assert.equal(end.blocksRaw, 0);
        assert.deepEqual(await c2.read(0, data.length), Buffer.from(data));
      } finally {
        await c2.close();
        await d2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('calibration of a context codec (SCC) keeps the bytes written', () => {
  /** A stand-in for SCC that records what it was fitted to. */
  function recordingCodec(): { codec: Codec; fits: { data: Uint8Array; options?: CodecOptions }[] } {
    const fits: { data: Uint8Array; options?: CodecOptions }[] = [];
    const codec = {
      name: 'scc',
      id: 250,
      dtypes: ['uint8', 'int8'],
      fit(data: Uint8Array, _dtype: unknown, options?: CodecOptions) {
        fits.push({ data: data.slice(), options });
        return { params: Uint8Array.of(data.length & 0xff) };
      },
      load() {
        throw new Error('not used');
      },
    } as unknown as Codec;
    return { codec, fits };
  }

  it('keeps at most min(size, 64 KiB) bytes; a write past the budget keeps its head', () => {
    const p = new PendingCalibration('uint8', 1 << 20, { stride: 32, kind: 'activation' });
    const data = testBytes(3 * CALIBRATION_BYTES, 4);
    p.add(data.subarray(0, 1000), 0);
    assert.equal(p.keptBytes, 1000);
    p.add(data.subarray(1000), 1000);
    assert.equal(p.keptBytes, CALIBRATION_BYTES);
    assert.equal(p.ready, true);
    const { codec, fits } = recordingCodec();
    p.fit(codec);
    assert.equal(fits.length, 1);
    assert.deepEqual(fits[0].data, data.subarray(0, CALIBRATION_BYTES), 'a tensor written from its start: its first 64 KiB');
    assert.deepEqual(fits[0].options, { stride: 32, kind: 'activation' });
    // The histogram still counts every byte seen (the rule for when to fit is the same as APack's).
    assert.equal(p.seen, 3 * CALIBRATION_BYTES);
  });

  it('lays the written runs out in address order, later writes winning where they overlap', () => {
    const p = new PendingCalibration('int8', 10_000, { stride: 4, kind: 'weight' });
    p.add(Uint8Array.of(9, 9, 9, 9), 5000); // a run far up
    p.add(Uint8Array.of(1, 2, 3, 4, 5, 6), 10); // a run low down
    p.add(Uint8Array.of(7, 7), 14); // overlaps its end and extends it
    p.add(Uint8Array.of(8), 12); // inside it, later: wins
    assert.deepEqual(p.sample(), Uint8Array.of(1, 2, 8, 4, 7, 7, 9, 9, 9, 9));
  });

  it('a non-context codec keeps no bytes (APack fits from the histogram)', () => {
    const p = new PendingCalibration('int8', 1 << 20);
    p.add(testBytes(4096, 2), 0);
    assert.equal(p.keptBytes, 0);
  });
});

describe('APack fits are remembered per distinct histogram', () => {
  it('a histogram seen before gets the same table without a second search; a copy each time; the memo stays bounded', () => {
    const apack = codecByName('apack');
    const fresh = (h: number[], dtype: 'int8' | 'int4'): Uint8Array => apackModelFromHistogram(h, dtype).params;
    const hist = (seed: number, bins: number): number[] => Array.from(testBytes(bins, seed), (v) => (v % 7) * (seed % 5 + 1));
    const before = { ...apackFitCounts };
    // 4-bit histograms (16 counts) keep the memo's eviction part quick: each miss is a table search.
    const fitOf = (seed: number, dtype: 'int8' | 'int4' = 'int8'): Uint8Array => {
      const p = new PendingCalibration(dtype, 1024);
      const h = hist(seed, dtype === 'int8' ? 256 : 16);
      p.hist.set(h);
      p.seen = 1024;
      return p.fit(apack);
    };
    const first = fitOf(11);
    assert.deepEqual(first, fresh(hist(11, 256), 'int8'));
    assert.equal(apackFitCounts.fitted - before.fitted, 1);
    const again = fitOf(11);
    assert.equal(apackFitCounts.fitted - before.fitted, 1, 'the same histogram is not searched again');
    assert.equal(apackFitCounts.remembered - before.remembered, 1);
    assert.deepEqual(again, first);
    assert.notEqual(again, first, 'each caller gets its own params');
    again.fill(0);
    assert.deepEqual(fitOf(11), first, 'a caller changing its copy does not change the memo');
    // Another dtype with the same counts is another table.
    const h16 = hist(11, 16);
    const p4 = new PendingCalibration('int4', 1024);
    p4.hist.set(h16);
    p4.seen = 1024;
    assert.deepEqual(p4.fit(apack), fresh(h16, 'int4'));
    // Past APACK_FIT_MEMO distinct histograms the oldest is forgotten (searched again), the recent ones are not.
    for (let s = 1000; s < 1000 + APACK_FIT_MEMO; s++) fitOf(s, 'int4');
    const fitted = apackFitCounts.fitted;
    fitOf(1000 + APACK_FIT_MEMO - 1, 'int4');
    assert.equal(apackFitCounts.fitted, fitted, 'a recent histogram is remembered');
    assert.deepEqual(fitOf(11), first);
    assert.equal(apackFitCounts.fitted, fitted + 1, 'the oldest was forgotten and searched again');
  });
});
