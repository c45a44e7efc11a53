import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { ShimpackClient } from '../clients/ts/index.ts';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';
import { testBytes } from './daemon-harness.ts';

/**
 * The TS client encodes large vectors into pooled buffers and takes a
 * buffer back only once ws has written its frame. A stand-in daemon stops
 * reading its socket for a while, so the frames queue in the client's
 * socket (the kernel's buffer full): a buffer reused before its frame left
 * would change bytes of a frame still waiting to go.
 */
describe("the TS client's pooled vector frames", () => {
  it('reuses a frame buffer only after ws has written its frame, even when the socket backs up', async () => {
    const got = new Map<number, Buffer>();
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 30 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    let stalled: (() => void) | undefined;
    wss.on('connection', (ws, req) => {
      ws.on('message', (frame: Buffer) => {
        const msgs = decodeFrame(frame) as Record<string, unknown> | Record<string, unknown>[];
        const answers = (Array.isArray(msgs) ? msgs : [msgs]).map((q) => {
          if (q.op === 'hello') {
            // Once the client is connected, stop reading until the test lets go.
            setImmediate(() => {
              req.socket.pause();
              stalled = () => req.socket.resume();
            });
            return { id: q.id, ok: true, version: 1, server: 'shimpack', lanes: 1, codecs: ['raw'], maxFrameBytes: 1 << 30, blockBytes: 4096, burstBytes: 64, channel: 0, channels: 1, channelGranule: 4096 };
          }
          got.set((q.addrs as number[])[0], Buffer.from(q.data as Uint8Array));
          return { id: q.id, ok: true, failed: [] };
        });
        ws.send(encodeFrame(answers.length === 1 ? answers[0] : answers));
      });
    });
    const c = await ShimpackClient.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
    try {
      const sent = new Map<number, Uint8Array>();
      const pending: Promise<unknown>[] = [];
      // 96 vectors of 64-byte bursts, 5 to 20 MiB in all: far more than a socket buffers; one or two per turn.
      for (let turn = 0; turn < 64; turn++) {
        for (const n of turn % 2 ? [2048 - turn * 13] : [1024 + turn * 7, 400]) {
          const at = (turn * 4 + sent.size) << 20;
          const addrs = Array.from({ length: n }, (_, i) => at + i * 64);
          const data = testBytes(n * 64, 7 + sent.size, 0.1);
          sent.set(at, data);
          pending.push(c.writev(addrs, new Array<number>(n).fill(64), data));
        }
        await new Promise((r) => setImmediate(r));
      }
      assert.ok(stalled, 'the stand-in stopped reading');
      // The frames really wait in the client (a buffer taken back at send time would be overwritten meanwhile).
      assert.ok(c.unsentBytes > 1 << 20, `only ${c.unsentBytes} bytes wait unsent: the socket did not back up`);
      stalled();
      await Promise.all(pending);
      assert.equal(got.size, sent.size);
      for (const [at, data] of sent) assert.ok(got.get(at)?.equals(Buffer.from(data)), `the vector at ${at} arrived with other bytes`);
    } finally {
      await c.close();
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
