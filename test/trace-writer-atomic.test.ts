import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { TraceWriter } from '../daemon/traces/writer.ts';
import { SHARED } from './root.ts';

const dataDir = `${SHARED}data`;
const dir = mkdtempSync(join(tmpdir(), 'trace-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('trace files are written whole or not at all (atomic TraceWriter)', () => {
  it('an atomic writer shows nothing under the target name until close, then the whole trace', async () => {
    const out = join(dir, 'a.trace');
    const w = new TraceWriter(out, { source: 'test', atomic: true });
    w.region({ name: 'r', base: 0, size: 4096, dtype: 'uint8', kind: 'other' });
    w.op({ op: 'write', t: 0, addr: 0, len: 4, data: Uint8Array.of(1, 2, 3, 4) });
    assert.equal(existsSync(out), false);
    await w.close();
    assert.ok(readFileSync(out).length > 0);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('a.trace')), ['a.trace'], 'no temporary file left');
  });

  it('abort leaves an older file of the target name as it was, and no temporary file', async () => {
    const out = join(dir, 'b.trace');
    writeFileSync(out, 'older trace');
    const w = new TraceWriter(out, { source: 'test', atomic: true });
    w.region({ name: 'r', base: 0, size: 4096, dtype: 'uint8', kind: 'other' });
    await w.abort();
    assert.equal(readFileSync(out, 'utf8'), 'older trace');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('b.trace')), ['b.trace']);
  });

  it('trace gen that fails after it started writing (a tensor file is missing) leaves no output', async () => {
    // A copy of the manifest whose last tiny-face-detector activation points nowhere.
    const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { tensors: { file: string; model: string; kind: string }[] };
    const tensors = manifest.tensors.filter((t) => t.model === 'faceapi-tiny-face-detector').map((t) => ({ ...t, file: resolve(dataDir, t.file) }));
    const last = tensors.map((t) => t.kind).lastIndexOf('activation');
    tensors[last] = { ...tensors[last], file: join(dir, 'missing.bin') };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, tensors }));
    const out = join(dir, 'gen.trace.gz');
    let progressed = 0;
    await assert.rejects(
      generateModelTrace({ dataDir: dir, model: 'faceapi-tiny-face-detector', out, burstBytes: 64, weights: 'int8', bandwidth: 16, progress: (done) => (progressed = done) }),
      (e: unknown) => e instanceof Error && /missing\.bin/.test(e.message),
    );
    assert.ok(progressed > 0, 'it failed after writing part of the trace');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('gen.trace')), [], 'no output and no temporary file');
  });
});
