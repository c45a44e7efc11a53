import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { replayTrace } from '../daemon/traces/replay.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { SHARED } from './root.ts';

const floatDir = `${SHARED}data-float`;
const hasFloat = existsSync(join(floatDir, 'manifest.json'));
const dir = mkdtempSync(join(tmpdir(), 'fpack-replay-'));
let daemon: RunningDaemon | undefined;

before(async () => {
  if (hasFloat) daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

// End to end: a float trace of a real model (its weights and activations
// converted by the data set's rules), replayed through the daemon with every
// read checked against its CRC. The daemon picks fpack for float regions and
// fits each to the first bytes written. The other models are measured with
// `shimpack replay` (docs/float.md).
describe('float traces replay through the daemon', { skip: !hasFloat && 'no ../shared/data-float' }, () => {
  for (const format of ['bf16', 'e4m3'] as const) {
    it(`${format}: faceapi-face-recognition-resnet verifies every read, coded by fpack`, async () => {
      const trace = join(dir, `resnet-${format}.trace.gz`);
      const g = await generateModelTrace({ dataDir: floatDir, model: 'faceapi-face-recognition-resnet', out: trace, burstBytes: 4096, weights: 'int8', bandwidth: 16, format });
      const dtype = format === 'bf16' ? 'bfloat16' : 'float8_e4m3';
      const dtypes: string[] = [];
      for await (const rec of readTrace(trace)) if (rec.type === 'region') dtypes.push(rec.dtype);
      assert.ok(dtypes.length > 10 && dtypes.every((x) => x === dtype), 'every region has the float dtype');
      const s = await replayTrace({ trace, url: daemon!.url, speed: 'max', copies: 1, loop: false, verify: true, window: 256 });
      assert.equal(s.mismatches, 0, s.problems.join('\n'));
      assert.equal(s.errors, 0, s.problems.join('\n'));
      assert.equal(s.ops, g.ops);
      assert.equal(s.verifiedReads, s.reads);
      assert.ok(s.reads > 100);
      assert.ok(s.stats && s.stats.ratio > 1.2, `the daemon compressed the float tensors (ratio ${s.stats?.ratio})`);
    });
  }
});
