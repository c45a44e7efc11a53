import { parentPort } from 'node:worker_threads';
import { decodeFrame, encodeFrame } from '../../protocol/wire.ts';

/**
 * The worker thread of the latency floor (echo-floor-server.ts): decodes each
 * frame it is handed and answers every request in it with a bare success
 * (`{id, ok: true}`, what a write gets back from the daemon), one reply frame
 * per frame received. No codec, no backend: only the hop and msgpack.
 */
if (!parentPort) throw new Error('echo-floor worker must run in a worker thread');
const port = parentPort;

port.on('message', (m: { readonly conn: number; readonly frame: Uint8Array }) => {
  const msg = decodeFrame(m.frame) as { id?: unknown } | { id?: unknown }[];
  const ack = (r: { id?: unknown }): { id: unknown; ok: true } => ({ id: r.id ?? null, ok: true });
  // encodeFrame returns a view into msgpackr's working buffer: copy before transferring.
  const reply = encodeFrame(Array.isArray(msg) ? msg.map(ack) : ack(msg)).slice();
  port.postMessage({ conn: m.conn, reply }, [reply.buffer as ArrayBuffer]);
});
