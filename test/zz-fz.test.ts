import { it } from 'node:test';
import { runDaemonFuzz } from '../daemon/fuzz/daemon-fuzz.ts';
import { startTestDaemon } from './daemon-harness.ts';
it('fz', async () => {
  const maxFrameBytes = 1 << 20;
  const d = await startTestDaemon({ maxFrameBytes });
  await runDaemonFuzz({ url: d.url, cases: 800, seed: 11, maxFrameBytes });
  console.log('after warm', d.engine.backend.blocksHeld(), JSON.stringify([...((d.engine.backend as any).inner ?? d.engine.backend).regions ?? []].map(([k, v]: any) => [k, [...v.keys()]])));
  await runDaemonFuzz({ url: d.url, cases: 4000, seed: 12, maxFrameBytes, connections: 3 });
  const b: any = (d.engine.backend as any);
  console.log('held', b.blocksHeld(), Object.keys(b));
  const inner = b.inner ?? b.backend ?? b;
  console.log('inner keys', Object.keys(inner));
  console.log(JSON.stringify([...(inner.regions ?? new Map())].map(([k, v]: any) => [k, [...v.keys()]])));
  await d.close();
});
