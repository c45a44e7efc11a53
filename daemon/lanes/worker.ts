import { parentPort } from 'node:worker_threads';
import type { LaneMessage } from './batch-format.ts';
import { LaneProcessor } from './lane-processor.ts';

/**
 * Entry point of one lane's worker thread. Messages are handled one at a
 * time in arrival order; each batch gets exactly one reply, its buffers
 * transferred back.
 */
if (!parentPort) throw new Error('lane worker must run in a worker thread');
const port = parentPort;
const lane = new LaneProcessor();
port.on('message', (msg: LaneMessage) => {
  try {
    const res = lane.handle(msg);
    if (res) port.postMessage({ ok: true, res }, [res.results.buffer as ArrayBuffer, res.out]);
  } catch (e) {
    // A control message failed (bad model) or a batch broke as a whole.
    port.postMessage({ ok: false, type: msg.type, message: (e as Error).message });
  }
});
