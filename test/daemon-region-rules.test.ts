import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ShimpackClient } from '../clients/ts/index.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { WIRE_DTYPES } from '../protocol/types.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';

/** protocol/README.md section 4.2, the codec x dtype table. */
const SUPPORT: Record<string, readonly string[]> = {
  apack: ['uint8', 'int8', 'uint4', 'int4'],
  ebpc: ['uint8', 'int8', 'int16'],
  zvc: ['uint8', 'int8', 'uint4', 'int4', 'int16'],
  raw: ['uint8', 'int8', 'uint4', 'int4', 'int16'],
  scc: ['uint8', 'int8'],
};

describe('region rules and burst accounting', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  let next = 1 << 30;
  const fresh = (size = 4096): { name: string; base: number } => {
    const base = next;
    next += Math.max(size, 4096) * 2;
    return { name: `r${base}`, base };
  };
  before(async () => {
    d = await startTestDaemon({ lanes: 1, burstBytes: 64 });
    c = await connect(d);
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('the codec x dtype table of the spec is what the daemon does', async () => {
    const registered = CODECS.map((x) => x.name as string);
    assert.deepEqual(Object.keys(SUPPORT).sort(), [...registered].sort(), 'the spec\'s codecs are the registered ones');
    assert.deepEqual(c.hello.codecs.slice().sort(), [...registered].sort(), 'hello lists the registered codecs');
    for (const codec of Object.keys(SUPPORT)) {
      for (const dtype of WIRE_DTYPES) {
        const r = fresh();
        // a stride for every codec: scc needs one, the others accept it
        const p = c.region({ ...r, size: 4096, dtype, kind: 'other', codec: codec as 'zvc', stride: 16 });
        if (SUPPORT[codec].includes(dtype)) await p;
        else await expectCode(p, 'E_UNSUPPORTED');
      }
    }
  });

  it('without a codec: apack for weights, ebpc for activations, else zvc; the first supporting the dtype', async () => {
    const want: [string, string, string][] = [
      ['weight', 'int8', 'apack'],
      ['weight', 'uint4', 'apack'],
      ['weight', 'int16', 'zvc'],
      ['activation', 'uint8', 'ebpc'],
      ['activation', 'int16', 'ebpc'],
      ['activation', 'int4', 'zvc'],
      ['other', 'int16', 'zvc'],
    ];
    for (const [kind, dtype, codec] of want) {
      const r = fresh();
      await c.region({ ...r, size: 64, dtype: dtype as 'int8', kind: kind as 'other' });
      assert.equal((await c.stats(r.name)).regions[0].codec, codec, `${kind} ${dtype}`);
    }
  });

  it('an unknown codec name is E_BAD_FIELD', async () => {
    await expectCode(c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec: 'lz4' as 'zvc' }), 'E_BAD_FIELD');
  });

  it('histogram only for apack; not with a table; table holds the codec parameters', async () => {
    const hist = Array.from({ length: 256 }, (_, i) => (i < 8 ? 100 : 1));
    for (const codec of ['zvc', 'raw', 'ebpc'] as const) {
      await expectCode(c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec, histogram: hist }), 'E_BAD_FIELD');
    }
    assert.equal((await c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'weight', codec: 'apack', histogram: hist })).calibration, 'histogram');
    // one count per value: 16 for 4-bit dtypes, 256 for 8-bit
    assert.equal((await c.region({ ...fresh(), size: 64, dtype: 'uint4', kind: 'weight', codec: 'apack', histogram: hist.slice(0, 16) })).calibration, 'histogram');
    await expectCode(c.region({ ...fresh(), size: 64, dtype: 'int4', kind: 'weight', codec: 'apack', histogram: hist }), 'E_BAD_TABLE');
    await expectCode(c.region({ ...fresh(), size: 64, dtype: 'uint8', kind: 'weight', codec: 'apack', histogram: hist.slice(0, 16) }), 'E_BAD_TABLE');
    await expectCode(c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'weight', codec: 'apack', histogram: hist, table: new Uint8Array(4) }), 'E_BAD_FIELD');
    // zvc and raw: the empty table; ebpc: one byte, its block size
    assert.equal((await c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec: 'zvc', table: new Uint8Array(0) })).calibration, 'table');
    await expectCode(c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec: 'raw', table: new Uint8Array(1) }), 'E_BAD_TABLE');
    assert.equal((await c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec: 'ebpc', table: Uint8Array.of(8) })).calibration, 'table');
    assert.equal((await c.region({ ...fresh(), size: 64, dtype: 'int16', kind: 'other', codec: 'ebpc', table: Uint8Array.of(16) })).calibration, 'table');
    await expectCode(c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec: 'ebpc', table: Uint8Array.of(16) }), 'E_BAD_TABLE');
    // codecs with fixed parameters report "none"
    for (const codec of ['zvc', 'raw', 'ebpc'] as const) {
      assert.equal((await c.region({ ...fresh(), size: 64, dtype: 'int8', kind: 'other', codec })).calibration, 'none');
    }
  });

  it('int16 regions: base and size even', async () => {
    const r = fresh();
    await expectCode(c.region({ name: r.name, base: r.base + 1, size: 64, dtype: 'int16', kind: 'other', codec: 'zvc' }), 'E_BAD_FIELD');
    await expectCode(c.region({ ...r, size: 63, dtype: 'int16', kind: 'other', codec: 'zvc' }), 'E_BAD_FIELD');
    await c.region({ ...r, size: 64, dtype: 'int16', kind: 'other', codec: 'zvc' });
    // odd bases are fine for byte-wide dtypes
    const o = fresh();
    await c.region({ name: o.name, base: o.base + 1, size: 64, dtype: 'int8', kind: 'other', codec: 'zvc' });
  });

  it('a raw region counts every held block in blocksRaw', async () => {
    const r = fresh(8192);
    await c.region({ ...r, size: 3 * 1024, dtype: 'uint8', kind: 'other', codec: 'raw', blockBytes: 1024 });
    await c.write(r.base, new Uint8Array(3 * 1024)); // zeros: would compress, but raw stores raw
    const s = (await c.stats(r.name)).regions[0];
    assert.equal(s.blocksHeld, 3);
    assert.equal(s.blocksRaw, 3);
    assert.equal(s.storedBytes, 3 * 1024);
  });

  it('bursts with --line-buffer-bytes 0: aligned to absolute addresses; never-written blocks cost no stored bursts; partial writes are read-modify-writes', async () => {
    // The per-access model (no line buffers), kept for comparison: its own daemon.
    const d = await startTestDaemon({ lanes: 1, burstBytes: 64, lineBufferBytes: 0 });
    const c = await connect(d);
    // base 32 with 64-byte bursts: one 64-byte block spans two absolute bursts.
    const base = next + 32;
    next += 1 << 20;
    await c.region({ name: 'bursts', base, size: 256, dtype: 'uint8', kind: 'other', codec: 'raw', blockBytes: 64 });
    await c.read(base, 64); // block 0, never written
    let s = (await c.stats('bursts')).regions[0];
    assert.equal(s.burstsRaw, 2);
    assert.equal(s.burstsStored, 0);
    await c.write(base + 64 + 8, testBytes(10, 1)); // partial write to never-written block 1: [base+72, base+82) = one burst
    s = (await c.stats('bursts')).regions[0];
    assert.equal(s.burstsRaw, 3);
    assert.equal(s.burstsStored, 1); // the new 64-byte raw block; no old block read
    await c.write(base + 64 + 20, testBytes(10, 2)); // partial again: new block + the old one read
    s = (await c.stats('bursts')).regions[0];
    assert.equal(s.burstsStored, 3);
    await c.write(base + 128, testBytes(64, 3)); // whole block 2: no old read, [base+128, base+192) spans 2 bursts
    s = (await c.stats('bursts')).regions[0];
    assert.equal(s.burstsRaw, 3 + 1 + 2);
    assert.equal(s.burstsStored, 4);
    await c.read(base + 60, 10); // pieces of blocks 0 (never written) and 1 (held): bursts per piece
    s = (await c.stats('bursts')).regions[0];
    assert.equal(s.burstsRaw, 6 + 1 + 1);
    assert.equal(s.burstsStored, 4 + 0 + 1);
    await c.close();
    await d.close();
  });
});
