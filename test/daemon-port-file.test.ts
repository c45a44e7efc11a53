import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { CLI_JS } from './helpers.ts';
import { ROOT as root } from './root.ts';


describe('shimpack serve --port 0 --port-file', () => {
  it('writes the bound port once listening (same as the stderr line) and removes the file on exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-port-'));
    const file = join(dir, 'port');
    const child = spawn(process.execPath, [CLI_JS, 'serve', '--port', '0', '--lanes', '1', '--port-file', file], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      const fromLog = await new Promise<number>((resolve, reject) => {
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          const m = /listening on ws:\/\/[^/\s]+:(\d+)\//.exec(stderr);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`daemon exited early (${code}): ${stderr}`)));
      });
      // The file is written before the stderr line: it is there now.
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^\d+\n$/);
      const port = Number(text);
      assert.equal(port, fromLog);
      assert.ok(port > 0);
      const c = await ShimpackClient.connect(`ws://127.0.0.1:${port}/`);
      await c.close();
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, stderr);
      assert.equal(existsSync(file), false, 'port file removed on exit');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
