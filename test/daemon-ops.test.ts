import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ShimpackClient } from '../clients/ts/index.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

describe('daemon ops over the real socket', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  before(async () => {
    d = await startTestDaemon();
    c = await connect(d, { client: 'ops-test' });
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('hello reports the server, lanes, codecs and limits', () => {
    assert.equal(c.hello.server, 'shimpack');
    assert.equal(c.hello.version, 1);
    assert.equal(c.hello.lanes, 2);
    assert.deepEqual(c.hello.codecs, CODECS.map((x) => x.name));
    assert.equal(c.hello.maxFrameBytes, 16 * 1024 * 1024);
  });

  for (const codec of CODECS.map((x) => x.name)) {
    it(`${codec}: writes of any length and alignment read back; unwritten bytes read as zero`, async () => {
      const base = 0x1000_0000_0000 + CODECS.findIndex((x) => x.name === codec) * 0x100_0000; // above 2^32
      const size = 50_000;
      // Every codec accepts a stride; scc needs one.
      const r = await c.region({ name: `ops-${codec}`, base, size, dtype: 'int8', kind: 'weight', codec, blockBytes: 1024, stride: 16 });
      assert.equal(r.blockBytes, 1024);
      const model = new Uint8Array(size);
      const writes: [number, number][] = [[0, 1024], [1000, 3000], [4097, 1], [49_000, 1000], [7, 9000], [20_000, 20_000]];
      let seed = 1;
      for (const [off, len] of writes) {
        const data = testBytes(len, seed++);
        model.set(data, off);
        await c.write(base + off, data);
      }
      const all = await c.read(base, size);
      assert.deepEqual(Buffer.from(all), Buffer.from(model));
      const mid = await c.read(base + 12_345, 777);
      assert.deepEqual(Buffer.from(mid), Buffer.from(model.subarray(12_345, 12_345 + 777)));
      const s = await c.stats(`ops-${codec}`);
      assert.equal(s.regions.length, 1);
      const st = s.regions[0];
      assert.equal(st.codec, codec);
      assert.equal(st.bytesWritten, writes.reduce((a, [, l]) => a + l, 0));
      assert.equal(st.bytesRead, size + 777);
      assert.equal(st.writes, writes.length);
      assert.equal(st.reads, 2);
      const touched = new Set<number>();
      for (const [off, len] of writes) for (let b = Math.floor(off / 1024); b <= Math.floor((off + len - 1) / 1024); b++) touched.add(b);
      assert.equal(st.blocksHeld, touched.size);
      const rawHeld = [...touched].reduce((a, b) => a + Math.min(1024, size - b * 1024), 0);
      assert.equal(st.rawBytesStored, rawHeld);
      assert.ok(st.storedBytes > 0);
      assert.ok(Math.abs(st.ratio - st.rawBytesStored / st.storedBytes) < 1e-9);
      assert.ok(st.burstsRaw > 0 && st.burstsStored > 0);
      if (codec === 'raw') assert.equal(st.blocksRaw, st.blocksHeld, 'raw never shrinks a block, so every block is held raw');
    });
  }

  it('never-written bytes inside a region read as zero', async () => {
    await c.region({ name: 'zeros', base: 10_000_000, size: 9000, dtype: 'uint8', kind: 'activation', codec: 'zvc' });
    const z = await c.read(10_000_000 + 5, 8000);
    assert.equal(z.length, 8000);
    assert.ok(z.every((b) => b === 0));
  });

  it('incompressible blocks are stored raw and counted', async () => {
    await c.region({ name: 'noise', base: 20_000_000, size: 8192, dtype: 'uint8', kind: 'other', codec: 'zvc' });
    await c.write(20_000_000, testBytes(8192, 99, 0));
    const st = (await c.stats('noise')).regions[0];
    assert.equal(st.blocksHeld, 2);
    assert.equal(st.blocksRaw, 2);
    assert.equal(st.storedBytes, 8192);
    assert.deepEqual(Buffer.from(await c.read(20_000_000, 8192)), Buffer.from(testBytes(8192, 99, 0)));
  });

  it('4-bit and int16 regions round-trip', async () => {
    await c.region({ name: 'nib', base: 30_000_000, size: 5000, dtype: 'uint4', kind: 'activation', codec: 'zvc' });
    await c.region({ name: 'i16', base: 31_000_000, size: 6000, dtype: 'int16', kind: 'activation', codec: 'zvc' });
    const a = testBytes(4999, 5);
    const b = testBytes(5998, 6);
    await Promise.all([c.write(30_000_001, a), c.write(31_000_001, b)]);
    assert.deepEqual(Buffer.from(await c.read(30_000_001, 4999)), Buffer.from(a));
    assert.deepEqual(Buffer.from(await c.read(31_000_001, 5998)), Buffer.from(b));
  });

  it('fence answers after every earlier request of the connection', async () => {
    await c.region({ name: 'fence', base: 40_000_000, size: 1 << 20, dtype: 'int8', kind: 'weight', codec: 'zvc' });
    const order: string[] = [];
    const ps = [];
    for (let i = 0; i < 64; i++) ps.push(c.write(40_000_000 + i * 16384, testBytes(16384, i)).then(() => order.push('w')));
    ps.push(c.fence().then(() => order.push('fence')));
    await Promise.all(ps);
    assert.equal(order.at(-1), 'fence');
    assert.equal(order.length, 65);
  });

  it('free drops a region and its data; the range can be declared again', async () => {
    await c.region({ name: 'tmp', base: 50_000_000, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
    await c.write(50_000_000, testBytes(4096, 3));
    await c.flush('tmp'); // in the backend now, not only in a line buffer
    const before = d.engine.backend.bytesHeld();
    await c.free('tmp');
    assert.ok(d.engine.backend.bytesHeld() < before);
    await c.region({ name: 'tmp', base: 50_000_000, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
    assert.ok((await c.read(50_000_000, 4096)).every((b) => b === 0), 'a new region starts zeroed');
    const st = (await c.stats('tmp')).regions[0];
    assert.equal(st.bytesWritten, 0);
  });

  it('stats without a region lists all and sums totals', async () => {
    const s = await c.stats();
    assert.equal(s.totals.regions, s.regions.length);
    assert.equal(s.totals.bytesWritten, s.regions.reduce((a, r) => a + r.bytesWritten, 0));
    assert.equal(s.totals.storedBytes, s.regions.reduce((a, r) => a + r.storedBytes, 0));
  });

  it('a histogram or the first write calibrates data-fitted codecs; a table is taken as given', async () => {
    const first = await c.region({ name: 'ap1', base: 60_000_000, size: 65536, dtype: 'int8', kind: 'weight', codec: 'apack' });
    assert.equal(first.calibration, 'pending');
    const data = testBytes(65536, 11, 0.3);
    await c.write(60_000_000, data);
    const st = (await c.stats('ap1')).regions[0];
    assert.equal(st.calibration, 'first-write');
    assert.deepEqual(Buffer.from(await c.read(60_000_000, 65536)), Buffer.from(data));
    const hist = new Array(256).fill(0);
    for (const b of data) hist[b]++;
    const h = await c.region({ name: 'ap2', base: 61_000_000, size: 65536, dtype: 'int8', kind: 'weight', codec: 'apack', histogram: hist });
    assert.equal(h.calibration, 'histogram');
    await c.write(61_000_000, data);
    assert.deepEqual(Buffer.from(await c.read(61_000_000, 65536)), Buffer.from(data));
    const table = CODECS.find((x) => x.name === 'apack')!.fit(data, 'int8').params;
    const tb = await c.region({ name: 'ap3', base: 62_000_000, size: 65536, dtype: 'int8', kind: 'weight', codec: 'apack', table });
    assert.equal(tb.calibration, 'table');
    await c.write(62_000_000, data);
    assert.deepEqual(Buffer.from(await c.read(62_000_000, 65536)), Buffer.from(data));
    assert.ok((await c.stats('ap3')).regions[0].ratio > 1);
  });
});
