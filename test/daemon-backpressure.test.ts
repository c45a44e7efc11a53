import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { encodeFrame } from '../protocol/wire.ts';
import { connect, startTestDaemon } from './daemon-harness.ts';

/** A client frame (masked with a zero key, which leaves the payload as is). */
function clientFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x82, 0x80 | n]) : n < 65536 ? Buffer.from([0x82, 0x80 | 126, n >> 8, n & 255]) : null;
  if (!head) throw new Error('test frames stay below 64 KiB');
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** A WebSocket client on a bare TCP socket that, after the handshake, never reads again. */
async function deafClient(port: number): Promise<Socket> {
  const s = tcpConnect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  s.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve) => {
    let got = '';
    const onData = (b: Buffer): void => {
      got += b.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.off('data', onData);
        s.pause(); // stop reading: responses pile up in the kernel, then in the daemon
        resolve();
      }
    };
    s.on('data', onData);
  });
  return s;
}

describe('backpressure', () => {
  it('a client that stops reading does not make the daemon buffer without bound', async () => {
    const sendBufferBytes = 1 << 20;
    const d = await startTestDaemon({ lanes: 2, sendBufferBytes, connInflightBytes: 4 << 20 });
    const s = await deafClient(d.port);
    try {
      s.write(clientFrame(encodeFrame({ op: 'hello', id: 1, version: 1 })));
      s.write(clientFrame(encodeFrame({ op: 'region', id: 2, name: 'big', base: 0, size: 1 << 30, dtype: 'int8', kind: 'activation', codec: 'zvc' })));
      // Ask for 2000 x 256 KiB = 500 MiB of responses, pushing as fast as TCP lets us.
      const want = 2000;
      const readLen = 256 * 1024;
      let sent = 0;
      const deadline = Date.now() + 2500;
      while (sent < want && Date.now() < deadline) {
        if (s.writableLength > 256 * 1024) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        s.write(clientFrame(encodeFrame({ op: 'read', id: 10 + sent, addr: (sent % 4096) * readLen, len: readLen })));
        sent++;
      }
      await new Promise((r) => setTimeout(r, 300));
      const rssAfter = process.memoryUsage().rss;

      const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      const gauge = (name: string): number => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(name + ' ')) ?? '')?.[2] ?? NaN);
      const buffered = gauge('shimpack_send_buffer_bytes');
      const pauses = text
        .split('\n')
        .filter((l) => l.startsWith('shimpack_socket_pauses_total{'))
        .reduce((a, l) => a + Number(l.split(' ')[1]), 0);
      assert.ok(pauses > 0, 'the daemon paused the socket');
      // At most the limit plus one coalesced response frame (responses ready at once go out together).
      assert.ok(buffered <= sendBufferBytes + 4 * (4 << 20), `send buffer ${buffered} B stays bounded`);
      const answeredOrStarted = (await d.metrics.requestDuration.get()).values.find((v) => v.metricName === 'shimpack_request_duration_seconds_count' && v.labels.op === 'read')!.value + gauge('shimpack_inflight_requests');
      assert.ok(answeredOrStarted < sent / 4, `the daemon stopped reading requests (${answeredOrStarted} of ${sent} taken)`);
      assert.ok(rssAfter < 1.5e9, `resident memory ${rssAfter} stays far below the 500 MiB asked for plus overhead`);

      // Other clients are not disturbed.
      // (a disturbed daemon would not answer at all: the test's timeout is the check)
      const c = await connect(d);
      assert.ok((await c.stats()).regions.length >= 1);
      await c.close();
    } finally {
      s.destroy();
    }
    // Once the deaf client is gone its responses are dropped and nothing stays in flight.
    for (let i = 0; i < 100 && (await d.metrics.inflightRequests.get()).values[0].value !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await d.metrics.inflightRequests.get()).values[0].value, 0);
    await d.close();
  });
});
