import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { testBytes } from './daemon-harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The real command in its own process, started the way `npm start` does
 * (node --import tsx): this also proves the TypeScript lane workers load
 * in a process launched that way.
 */
describe('shimpack serve as a process', () => {
  it('answers every request in flight on SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--port', '0', '--lanes', '2'], {
      cwd: root,
      env: { ...process.env, SHIMPACK_BLOCK_SIZE: '2048' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        const m = /listening on (ws:\/\/\S+\/)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`daemon exited early (${code}): ${stderr}`)));
    });
    assert.match(stderr, /block 2048 B/, 'the environment variable reached the config');
    const c = await ShimpackClient.connect(url);
    await c.region({ name: 'w', base: 0, size: 8 << 20, dtype: 'int8', kind: 'weight', codec: 'zvc' });
    const blocks = 200;
    const writes = Array.from({ length: blocks }, (_, i) => c.write(i * 32768, testBytes(32768, i + 1)));
    await c.stats(); // every write above has been read by the daemon
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await Promise.all(writes); // all acknowledged, none dropped
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: answering in-flight requests/);
    await c.close();
  });
});
