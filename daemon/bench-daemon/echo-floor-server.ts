import { Worker } from 'node:worker_threads';
import { WebSocketServer, type WebSocket } from 'ws';
import { compiledModule } from '../package-root.ts';
import { tuneHeapGrowth } from '../server/heap-tuning.ts';

/**
 * The latency floor of `bench daemon`, as its own process (like the daemon it
 * is compared with): a bare `ws` server on loopback whose handler posts each
 * frame to one worker thread (echo-floor-worker.ts) and sends the worker's
 * reply back. That is the hop every daemon write makes (main thread -> lane
 * -> main thread) with the same ws and msgpackr, and nothing else. It
 * answers any request with `{id, ok: true}`, so the bench drives it with the
 * real client and the same pacing as the daemon.
 *
 * Prints `listening on ws://127.0.0.1:PORT/` on stderr; exits on SIGTERM.
 */
// The same old-generation setting as `serve`, so GC differs no more than the work does.
tuneHeapGrowth();
const worker = new Worker(compiledModule('daemon/bench-daemon/echo-floor-worker.js'), { name: 'shimpack-echo-floor' });
const sockets = new Map<number, WebSocket>();
let nextConn = 1;
worker.on('message', (m: { readonly conn: number; readonly reply: Uint8Array }) => sockets.get(m.conn)?.send(m.reply, { binary: true }));
worker.on('error', (e) => {
  process.stderr.write(`echo floor: worker failed: ${e.message}\n`);
  process.exit(1);
});

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1 << 30 });
wss.on('connection', (ws) => {
  const conn = nextConn++;
  sockets.set(conn, ws);
  ws.on('close', () => sockets.delete(conn));
  // A copy of just the frame, transferred (cloning ws's view would copy its whole receive buffer).
  ws.on('message', (data: Buffer) => {
    const frame = new Uint8Array(data);
    worker.postMessage({ conn, frame }, [frame.buffer]);
  });
});
wss.on('listening', () => {
  const a = wss.address();
  if (a === null || typeof a === 'string') throw new Error(`echo floor: unexpected address ${a}`);
  process.stderr.write(`echo floor: listening on ws://127.0.0.1:${a.port}/\n`);
});
process.once('SIGTERM', () => {
  wss.close();
  void worker.terminate().then(() => process.exit(0));
  for (const ws of sockets.values()) ws.terminate();
});
