import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { crc32 } from 'node:zlib';
import { DatasetPayload } from '../daemon/traces/dataset-payload.ts';
import { TraceError } from '../daemon/traces/errors.ts';
import type { RegionRecord } from '../daemon/traces/format.ts';
import { importTrace, importerFor, type ImportFormat } from '../daemon/traces/import-trace.ts';
import { parseLittleEndianHex } from '../daemon/traces/dramsys.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { findRegion } from '../daemon/traces/regions.ts';
import type { SimRequest } from '../daemon/traces/sim-request.ts';
import { SyntheticPayload, parseSyntheticSpec } from '../daemon/traces/synthetic.ts';
import { SHARED } from './root.ts';

const sample = (p: string): string => `${SHARED}traces/${p}`;
const dataDir = `${SHARED}data`;
const dir = mkdtempSync(join(tmpdir(), 'trace-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const opts = { burstBytes: 64, wordBytes: 1 };

async function requests(format: ImportFormat, files: string[], o = opts): Promise<SimRequest[]> {
  const out: SimRequest[] = [];
  for await (const r of importerFor(format).requests(files, o)) out.push(r);
  return out;
}

function input(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function syntaxFails(format: ImportFormat, name: string, text: string, line: number, expected: RegExp): Promise<void> {
  const file = input(name, text);
  await assert.rejects(requests(format, [file]), (e: unknown) => {
    assert.ok(e instanceof TraceError, String(e));
    assert.equal(e.code, 'E_IMPORT_SYNTAX');
    assert.equal(e.location?.file, file);
    assert.equal(e.location?.line, line);
    assert.match(e.location!.expected, expected);
    assert.ok(e.message.startsWith(`${file}:${line}: expected `), e.message);
    return true;
  });
}

/**
 * Replays a trace in memory as a daemon would store it and checks every read
 * against its CRC: proves the preloads and payloads make the trace verifiable.
 */
async function verifyTrace(path: string): Promise<{ ops: number; reads: number; regions: RegionRecord[] }> {
  const mem = new Map<number, Uint8Array>(); // 4 KiB pages
  const regions: RegionRecord[] = [];
  let ops = 0;
  let reads = 0;
  const page = (a: number): Uint8Array => {
    const k = Math.floor(a / 4096);
    let p = mem.get(k);
    if (!p) mem.set(k, (p = new Uint8Array(4096)));
    return p;
  };
  for await (const r of readTrace(path)) {
    if (r.type === 'region') {
      regions.push(r);
      regions.sort((a, b) => a.base - b.base);
    }
    if (r.type !== 'op' || (r.op !== 'write' && r.op !== 'read')) continue;
    ops++;
    const reg = findRegion(regions, r.addr);
    assert.ok(reg && r.addr + r.len <= reg.base + reg.size, `op at 0x${r.addr.toString(16)} outside regions`);
    const got = new Uint8Array(r.len);
    for (let i = 0; i < r.len; ) {
      const a = r.addr + i;
      const n = Math.min(r.len - i, 4096 - (a % 4096));
      if (r.op === 'write') page(a).set(r.data.subarray(i, i + n), a % 4096);
      else got.set(page(a).subarray(a % 4096, (a % 4096) + n), i);
      i += n;
    }
    if (r.op === 'read') {
      assert.equal(crc32(got), r.crc, `read at 0x${r.addr.toString(16)} does not match its CRC`);
      reads++;
    }
  }
  return { ops, reads, regions };
}

describe('importers parse the real samples', () => {
  it('SCALE-Sim: the three golden DRAM traces', async () => {
    const files = ['IFMAP', 'FILTER', 'OFMAP'].map((f) => sample(`scalesim/${f}_DRAM_TRACE.csv`));
    const out = join(dir, 'scalesim.trace.gz');
    const s = await importTrace({ format: 'scalesim', files, out, payload: new DatasetPayload(dataDir, { model: 'faceapi-tiny-face-detector' }), ...opts, clockMhz: 1000, window: 1 << 20 });
    assert.equal(s.requests, 423826); // distinct 64-byte lines per cycle row, summed over the files
    assert.equal(s.setupOps, 1024 + 512); // 64 KiB of ifmap and 32 KiB of filter are read
    assert.deepEqual(
      s.regions.map((r) => [r.name, r.base, r.size, r.kind, r.dtype]),
      [
        ['ifmap', 0, 65536, 'activation', 'int8'],
        ['filter', 9998336, 36864, 'weight', 'int8'],
        ['ofmap', 19996672, 36864, 'activation', 'int8'],
      ],
    );
    const v = await verifyTrace(out);
    assert.equal(v.ops, s.ops);
    assert.equal(v.reads, 131042 + 32743);
  });

  it('DRAMsim3: example.trace', async () => {
    const out = join(dir, 'dramsim3.trace');
    const s = await importTrace({ format: 'dramsim3', files: [sample('dramsim3/example.trace')], out, payload: new SyntheticPayload(parseSyntheticSpec('relu')), ...opts, clockMhz: 1000, window: 1 << 20 });
    assert.equal(s.requests, 38374);
    assert.equal(s.setupOps, 5365);
    assert.equal(s.writeBytes, (33009 + 5365) * 64);
    assert.equal(s.readBytes, 5365 * 64);
    assert.equal(s.lastT, 14712444 - 30); // last cycle minus first, at 1 ns per cycle
    const v = await verifyTrace(out);
    assert.equal(v.reads, 5365);
  });

  it('Ramulator 1 DRAM and CPU traces and the Ramulator 2 instruction trace', async () => {
    const dram = await requests('ramulator', [sample('ramulator/dram.trace')]);
    assert.deepEqual(dram.map((r) => [r.addr, r.write]), [
      [0x12345680, false],
      [0x4cbd56c0, true],
      [0x35d46f00, false],
      [0x696fed40, true],
      [0x7876af80, false],
    ]);
    const cpu = await requests('ramulator', [sample('ramulator/cpu.trace')]);
    assert.equal(cpu.length, 8); // 6 reads + 2 writebacks
    assert.deepEqual(cpu.slice(3, 5).map((r) => [r.cycle, r.addr, r.write]), [
      [3 + 1 + 1 + 1 + 6 + 1 + 8 + 1, 20841280, false],
      [22, 20841280, true],
    ]);
    const r2 = await requests('ramulator', [sample('ramulator2/example_inst.trace')]);
    assert.equal(r2.length, 10);
    const out = join(dir, 'ramulator.trace');
    const files = [sample('ramulator/dram.trace'), sample('ramulator/cpu.trace'), sample('ramulator2/example_inst.trace')];
    const s = await importTrace({ format: 'ramulator', files, out, payload: new SyntheticPayload(parseSyntheticSpec('uniform')), ...opts, clockMhz: 1000, window: 1 << 20 });
    assert.equal(s.requests, 23);
    await verifyTrace(out);
  });

  it('DRAMSys: example.stl and pct.stl, keeping the data pct.stl carries', async () => {
    const ex = await requests('dramsys', [sample('dramsys/example.stl')]);
    assert.equal(ex.length, 1876);
    assert.equal(ex.filter((r) => !r.write).length, 768);
    const pct = await requests('dramsys', [sample('dramsys/pct.stl')]);
    assert.equal(pct.length, 100);
    assert.ok(pct.every((r) => r.write && r.data?.length === 64 && r.data.every((b) => b === 0xff)));
    const out = join(dir, 'dramsys.trace.gz');
    const s = await importTrace({
      format: 'dramsys',
      files: [sample('dramsys/example.stl'), sample('dramsys/pct.stl')],
      out,
      payload: new SyntheticPayload(parseSyntheticSpec('gaussian:sigma=20')),
      ...opts,
      clockMhz: 1000,
      window: 1 << 20,
    });
    assert.equal(s.notes['len-differs-from-data'], 100); // (16) with 64 data bytes
    let carried = 0;
    for await (const r of readTrace(out)) if (r.type === 'op' && r.op === 'write' && r.len === 64 && r.data.every((b) => b === 0xff)) carried++;
    assert.ok(carried >= 100, `the 100 all-ones writes of pct.stl survive (${carried})`);
    await verifyTrace(out);
  });
});

describe('lenient where real files vary', () => {
  it('SCALE-Sim: v1 trailing commas, spaces, integers and -1 padding', async () => {
    const d = join(dir, 'layer3');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d, { recursive: true });
    const f = join(d, 'ifmap_dram_trace.csv');
    writeFileSync(f, '12, 0, 1, 2, \n13,64.0,-1.0,-1\n\n-2.0 , 200 ,\n');
    const rs = await requests('scalesim', [f]);
    assert.deepEqual(rs.map((r) => [r.cycle, r.addr, r.write, r.operand]), [
      [12, 0, false, 'layer3/ifmap'],
      [13, 64, false, 'layer3/ifmap'],
      [-2, 192, false, 'layer3/ifmap'],
    ]);
    const wide = await requests('scalesim', [f], { burstBytes: 64, wordBytes: 2 });
    assert.deepEqual(wide.map((r) => r.addr), [0, 128, 384]);
  });
  it('DRAMsim3: case, tabs, no 0x, DRAMSim2 ops, float cycles, comments, CRLF, gzip', async () => {
    const text = '# comment\r\n0x40 read 1\r\n  80\tWrite\t\t2.0 \r\n0XC0 P_MEM_WR 3\n100 P_MEM_RD 4\n';
    const rs = await requests('dramsim3', [input('d.trace.gz', gzipSync(text))]);
    assert.deepEqual(rs.map((r) => [r.addr, r.write, r.cycle]), [
      [0x40, false, 1],
      [0x80, true, 2],
      [0xc0, true, 3],
      [0x100, false, 4],
    ]);
  });
  it('Ramulator: op case, missing op, LD/ST with decimal and hex', async () => {
    const rs = await requests('ramulator', [input('r.trace', '0x40 r\n80\nld 4096\nST 0x2000\n0x1000 w\n')]);
    assert.deepEqual(rs.map((r) => [r.addr, r.write]), [
      [0x40, false],
      [0x80, false],
      [4096, false],
      [0x2000, true],
      [0x1000, true],
    ]);
  });
  it('DRAMSys: Write in capitals, spaces or tabs, (len), relative .rstl, little-endian data', async () => {
    const rs = await requests('dramsys', [input('s.stl', '# c\n10:\tWrite 0x40 0x0102\n 12 : (8) READ\t0x80\n13: write 0x100\n')]);
    assert.deepEqual(rs.map((r) => [r.cycle, r.addr, r.len, r.write]), [
      [10, 0x40, 2, true],
      [12, 0x80, 8, false],
      [13, 0x100, 64, true],
    ]);
    assert.deepEqual([...rs[0].data!], [0x02, 0x01]); // last two hex digits are the lowest address
    const rel = await requests('dramsys', [input('s.rstl', '5: read 0x0\n5: read 0x40\n')]);
    assert.deepEqual(rel.map((r) => r.cycle), [5, 10]);
    assert.deepEqual([...parseLittleEndianHex('0xA0B0C0')!], [0xc0, 0xb0, 0xa0]);
  });
});

describe('precise errors on malformed lines', () => {
  it('SCALE-Sim', async () => {
    await syntaxFails('scalesim', 'IFMAP_a.csv', '1,2,3\n2,x,4\n', 2, /element address >= 0 or -1 padding as field 2/);
    await syntaxFails('scalesim', 'IFMAP_b.csv', '1,2\n2.5,3\n', 2, /whole-number cycle/);
    await syntaxFails('scalesim', 'IFMAP_c.csv', '1,2\n\n7\n', 3, /CYCLE,ADDR/);
    await syntaxFails('scalesim', 'IFMAP_d.csv', '1,-5\n', 1, /-1 padding/);
    await assert.rejects(requests('scalesim', [input('weights.csv', '1,2\n')]), (e: unknown) => e instanceof TraceError && e.code === 'E_IMPORT_INPUT' && /IFMAP, FILTER or OFMAP/.test(e.message));
  });
  it('DRAMsim3', async () => {
    await syntaxFails('dramsim3', 'a.trace', '0x40 READ 1\n0x40 READ\n', 2, /three fields/);
    await syntaxFails('dramsim3', 'b.trace', '0xZZ READ 1\n', 1, /hex address/);
    await syntaxFails('dramsim3', 'c.trace', '0x40 READ 1\n\n0x40 FETCHX 2\n', 3, /READ or WRITE/);
    await syntaxFails('dramsim3', 'd.trace', '0x40 READ -4\n', 1, /cycle count/);
  });
  it('Ramulator', async () => {
    await syntaxFails('ramulator', 'a.trace', '0x40 R\nLD\n', 2, /LD\|ST ADDR/);
    await syntaxFails('ramulator', 'b.trace', 'R 0,1,2,100,32\n', 1, /decoded address vector/);
    await syntaxFails('ramulator', 'c.trace', '3 123\n3 12a 5\n', 2, /decimal numbers/);
    await syntaxFails('ramulator', 'd.trace', '0xGG R\n', 1, /hex address/);
    await syntaxFails('ramulator', 'e.trace', '1 2 3 4\n', 1, /0xADDR R\|W/);
  });
  it('DRAMSys', async () => {
    await syntaxFails('dramsys', 'a.stl', '1: read 0x40\nread 0x40\n', 2, /CYCLE: \[\(LEN\)\]/);
    await syntaxFails('dramsys', 'b.stl', '1: fetch 0x40\n', 1, /read or write/);
    await syntaxFails('dramsys', 'c.stl', '1: write 0x40 0x123\n', 1, /even number of hex digits/);
    await syntaxFails('dramsys', 'd.stl', '1: read 0x40 0x12\n', 1, /no data after a read/);
    await syntaxFails('dramsys', 'e.stl', '1: read 0xq0\n', 1, /hex address/);
  });
});
