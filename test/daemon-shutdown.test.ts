import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShimpackClient } from '../clients/ts/index.ts';
import { spawnDaemon } from '../daemon/server/spawn-daemon.ts';
import { testBytes } from './daemon-harness.ts';

/**
 * The real command in its own process, started the way `npm start` does
 * (node dist/daemon/cli/main.js): this also proves the compiled lane workers
 * load in a process launched that way.
 */
describe('shimpack serve as a process', () => {
  it('answers every request in flight on SIGTERM, then exits 0', async () => {
    const daemon = await spawnDaemon(['--port', '0', '--lanes', '2'], { env: { SHIMPACK_BLOCK_SIZE: '2048' } });
    const { url } = daemon;
    assert.match(daemon.stderr(), /block 2048 B/, 'the environment variable reached the config');
    const c = await ShimpackClient.connect(url);
    await c.region({ name: 'w', base: 0, size: 8 << 20, dtype: 'int8', kind: 'weight', codec: 'zvc' });
    const blocks = 200;
    const writes = Array.from({ length: blocks }, (_, i) => c.write(i * 32768, testBytes(32768, i + 1)));
    await c.stats(); // every write above has been read by the daemon
    const exited = daemon.stop('SIGTERM');
    await Promise.all(writes); // all acknowledged, none dropped
    assert.equal(await exited, 0, daemon.stderr());
    assert.match(daemon.stderr(), /SIGTERM: answering in-flight requests/);
    await c.close();
  });
});
