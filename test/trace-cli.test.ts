import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Packr } from 'msgpackr';
import { traceInfo } from '../daemon/traces/info.ts';
import { TraceWriter } from '../daemon/traces/writer.ts';
import { CLI_JS } from './helpers.ts';
import { ROOT as root, SHARED } from './root.ts';

const sample = (p: string): string => `${SHARED}traces/${p}`;
const dir = mkdtempSync(join(tmpdir(), 'trace-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));


/** Run the CLI as a child process (the test runner owns this process's stdout). */
function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI_JS, ...args], { cwd: root }, (e, out, err) => {
      if (e && typeof e.code !== 'number') reject(e);
      else resolve({ code: e ? (e.code as number) : 0, out, err });
    });
  });
}

describe('shimpack trace CLI', () => {
  it('imports a sample and summarises it with trace info', async () => {
    const out = join(dir, 'd.trace.gz');
    const imp = await run('trace', 'import', '--from', 'dramsys', sample('dramsys/example.stl'), sample('dramsys/pct.stl'), '--synthetic', 'zeros', '-o', out, '-q');
    assert.equal(imp.code, 0, imp.err);
    assert.match(imp.out, /1976 requests -> 2168 ops \(192 preload writes\), 29 regions/);
    assert.match(imp.out, /len-differs-from-data x100/);
    const info = await traceInfo(out);
    assert.equal(info.header.source, 'import:dramsys');
    assert.deepEqual(info.ops, { write: 1400, read: 768, fence: 0, free: 0 });
    assert.equal(info.readsWithCrc, 768);
    assert.equal(info.outsideRegions, 0);
    assert.equal(info.endRecord, 'agrees');
    assert.equal(info.backwardsT, 3, 'example.stl restarts its clock three times');
    const shown = await run('trace', 'info', out);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /shimpack-trace v1/);
    assert.match(shown.out, /1400 writes .* 768 reads .*768 with CRC/);
  });

  it('trace info counts ops outside the live regions, regions declared over live ones, and records after the end record', async () => {
    const path = join(dir, 'checks.trace');
    const w = new TraceWriter(path, { source: 'test', endRecord: false });
    const reg = { name: 'r', base: 0x1000, size: 4096, dtype: 'uint8', kind: 'other' } as const;
    w.region(reg);
    w.op({ op: 'write', t: 1, addr: 0x1000, len: 4, data: new Uint8Array(4) });
    w.region({ ...reg, name: 'r2', base: 0x1800 }); // overlaps r, on another connection too
    w.region({ ...reg, base: 0x8000, conn: 1 }); // the name r is live
    w.op({ op: 'free', t: 2, name: 'r' });
    w.op({ op: 'read', t: 3, addr: 0x1000, len: 4 }); // r is freed: outside every live region
    w.op({ op: 'read', t: 4, addr: 0x1900, len: 4 }); // inside r2
    await w.close();
    const i = await traceInfo(path);
    assert.equal(i.regionConflicts, 2);
    assert.equal(i.outsideRegions, 1);
    assert.equal(i.endRecord, 'absent');
    // The writer's own end record, then one more op: the end record is no longer the last.
    const late = join(dir, 'late.trace');
    const w2 = new TraceWriter(late, { source: 'test' });
    w2.region(reg);
    w2.op({ op: 'write', t: 1, addr: 0x1000, len: 4, data: new Uint8Array(4) });
    await w2.close();
    assert.equal((await traceInfo(late)).endRecord, 'agrees');
    writeFileSync(late, Buffer.concat([readFileSync(late), Buffer.from(new Packr({ useRecords: false }).pack({ type: 'op', op: 'fence', t: 9 }))]));
    assert.equal((await traceInfo(late)).endRecord, 'disagrees');
  });

  it('reports a malformed line with file and line, exit 1; a bad option with exit 2', async () => {
    const bad = join(dir, 'bad.trace');
    writeFileSync(bad, '0x40 READ 1\n0x80 READ x\n');
    const r = await run('trace', 'import', '--from', 'dramsim3', bad, '-o', join(dir, 'x.trace'), '-q');
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), `shimpack: E_IMPORT_SYNTAX: ${bad}:2: expected a cycle count >= 0 as field 3, got "0x80 READ x"`);
    const s = await run('trace', 'import', '--from', 'dramsim3', bad, '-o', join(dir, 'x.trace'), '--synthetic', 'relu:sparsity=3');
    assert.equal(s.code, 2);
    assert.match(s.err, /E_SYNTHETIC_SPEC: sparsity must be between 0 and 1/);
    const f = await run('trace', 'import', '--from', 'gem5', bad, '-o', join(dir, 'x.trace'));
    assert.equal(f.code, 2);
    const g = await run('trace', 'gen', '--model', 'nope', '-o', join(dir, 'y.trace'), '-q');
    assert.equal(g.code, 1);
    assert.match(g.err, /E_TRACE_DATA: no model "nope"/);
    const missing = join(dir, 'missing.trace');
    const i = await run('trace', 'info', missing);
    assert.equal(i.code, 1);
    assert.equal(i.err.trim(), `shimpack: E_TRACE_IO: cannot read trace ${missing}: ENOENT`);
  });
});
