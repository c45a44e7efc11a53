import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './root.ts';

/**
 * docs/daemon.md, "Data flows one way": socket -> protocol -> pipeline ->
 * lanes -> codecs -> backend. Imports follow it: a layer never imports one
 * above it, and wire codes are the pipeline's business (pipeline/wire-error.ts).
 */

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** The checkout-relative files a source imports (relative specifiers only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1])));
  return out;
}

/** Folders (or files) that files under `dir` must not import. */
const FORBIDDEN: Record<string, readonly string[]> = {
  protocol: ['daemon/', 'clients/'],
  'daemon/codecs': ['daemon/server/', 'daemon/pipeline/', 'daemon/lanes/', 'daemon/backend/', 'daemon/metrics/', 'protocol/'],
  'daemon/backend': ['daemon/server/', 'daemon/pipeline/', 'daemon/lanes/', 'daemon/metrics/', 'protocol/'],
  'daemon/lanes': ['daemon/server/', 'daemon/pipeline/', 'daemon/metrics/', 'protocol/'],
  'daemon/pipeline': ['daemon/server/'],
  'daemon/metrics': ['daemon/server/', 'daemon/pipeline/', 'daemon/lanes/'],
  // The energy and time model: pure functions that the daemon, the CLI and reports share.
  'daemon/energy': ['daemon/server/', 'daemon/pipeline/', 'daemon/lanes/', 'daemon/metrics/', 'daemon/backend/', 'daemon/codecs/', 'protocol/'],
};

describe('layers point one way', () => {
  for (const [dir, banned] of Object.entries(FORBIDDEN)) {
    it(`${dir}/ imports nothing from ${banned.join(', ')}`, () => {
      const bad: string[] = [];
      for (const f of sources(dir)) for (const i of importsOf(f)) if (banned.some((b) => i.startsWith(b))) bad.push(`${f} -> ${i}`);
      assert.deepEqual(bad, []);
    });
  }

  it('the check sees imports (a known one is found)', () => {
    assert.ok(importsOf('daemon/pipeline/engine.ts').includes('protocol/protocol-error.ts'));
  });

  it('the wire error type and the frame check live in protocol/', () => {
    assert.ok(importsOf('daemon/server/session.ts').includes('protocol/frame-check.ts'));
    assert.ok(importsOf('daemon/server/session.ts').includes('protocol/protocol-error.ts'));
  });

  it('metrics are defined in metrics/, not in the server', () => {
    const bad = sources('daemon/server').filter((f) => /new (Counter|Gauge|Histogram|Summary)\b/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(bad, []);
  });
});

describe('the pipeline maps lower layers\' errors to wire codes', () => {
  it('BackendError -> E_BACKEND, LaneFailedError -> E_LANE_FAILED, anything else -> E_INTERNAL, ProtocolError kept', async () => {
    const { toProtocolError } = await import('../daemon/pipeline/wire-error.ts');
    const { BackendError } = await import('../daemon/backend/guarded.ts');
    const { LaneFailedError } = await import('../daemon/lanes/lane-failed-error.ts');
    const { ProtocolError } = await import('../protocol/protocol-error.ts');
    const b = toProtocolError(new BackendError('putMany', 'timeout', 'backend putMany did not answer'));
    assert.deepEqual([b.code, b.message], ['E_BACKEND', 'backend putMany did not answer']);
    assert.equal(toProtocolError(new LaneFailedError(1, 'lane 1 worker died')).code, 'E_LANE_FAILED');
    assert.equal(toProtocolError(new Error('oops')).code, 'E_INTERNAL');
    const p = new ProtocolError('E_NO_SUCH_REGION', 'no region named "x"');
    assert.equal(toProtocolError(p), p);
  });
});
