import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { hasData } from './helpers.ts';
import { ROOT } from './root.ts';

/**
 * The README's TypeScript example, run as written (only the daemon URL and
 * the client's import path are changed): it must print the ratio a user
 * expects from a real weight, not 1 (issue 13, item 4).
 */

/** The README's ```ts block. */
function readmeExample(): string {
  const m = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(m, 'README.md has a ```ts example');
  return m[1];
}

describe('the README TypeScript example', { skip: !hasData && 'no ../shared/data' }, () => {
  // Asynchronous: the daemon runs in this process and must keep answering.
  const run = async (code: string): Promise<string> => {
    // A daemon per run: the example declares fixed names and addresses.
    const d: RunningDaemon = await startTestDaemon();
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-readme-'));
    const file = join(dir, 'example.mts'); // an ES module outside the package, as the README's top-level await needs
    writeFileSync(
      file,
      code.replace("'./clients/ts/index.ts'", JSON.stringify(pathToFileURL(join(ROOT, 'clients/ts/index.ts')).href)).replace("'ws://127.0.0.1:7420/'", JSON.stringify(d.url)),
    );
    try {
      return (await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, timeout: 60_000 })).stdout;
    } finally {
      await d.close();
    }
  };

  it('prints a ratio above 1 (stored under raw bytes) and fewer stored than raw bursts', async () => {
    const out = await run(readmeExample());
    const m = /^ratio ([\d.]+), bursts (\d+) raw -> (\d+) stored$/m.exec(out);
    assert.ok(m, out);
    const [ratio, raw, stored] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.ok(ratio > 1, `ratio ${ratio}: stored/raw ${(1 / ratio).toFixed(3)} should be < 1`);
    assert.ok(stored < raw, `${stored} stored bursts, ${raw} raw`);
  });

  it('with a region larger than what is written (pending until stats), stats still reports the calibrated ratio', async () => {
    // The first version of the example: a 1 MiB region for a 4.7 KB weight, read before stats.
    const code = readmeExample().replace("size: bytes.length, dtype: 'int8'", "size: 1 << 20, dtype: 'int8'");
    assert.ok(code.includes('size: 1 << 20, dtype'), 'the example declares the weight region');
    const out = await run(code);
    const m = /^ratio ([\d.]+), bursts/m.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 1, `ratio ${m[1]}`);
  });
});
