import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { packResponses } from '../daemon/server/response-frames.ts';
import type { Response } from '../protocol/types.ts';
import { decodeFrame } from '../protocol/wire.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';
import { RawSocket } from './daemon-raw-socket.ts';

const MAX = 64 * 1024;

describe('response frames never exceed maxFrameBytes', () => {
  it('packResponses splits a batch of long reads into frames at the limit, order kept', () => {
    const data = testBytes(MAX - 64, 3);
    const list: Response[] = [
      { id: 1, ok: true, data } as Response,
      { id: 2, ok: true },
      { id: 3, ok: true, data } as Response,
      { id: 4, ok: false, code: 'E_OUT_OF_REGION', message: 'x' },
      { id: 5, ok: true, data } as Response,
    ];
    const frames = packResponses(list, MAX);
    assert.ok(frames.length >= 3, `${frames.length} frames`);
    const back: { id: number; data?: Uint8Array }[] = [];
    for (const f of frames) {
      assert.ok(f.length <= MAX, `frame of ${f.length} bytes`);
      const m = decodeFrame(f);
      back.push(...((Array.isArray(m) ? m : [m]) as { id: number; data?: Uint8Array }[]));
    }
    assert.deepEqual(back.map((r) => r.id), [1, 2, 3, 4, 5]);
    for (const r of back) if (r.data) assert.deepEqual(new Uint8Array(r.data), data);
    // small answers still share one frame
    const small = packResponses(Array.from({ length: 100 }, (_, i) => ({ id: i, ok: true }) as Response), MAX);
    assert.equal(small.length, 1);
    assert.equal((decodeFrame(small[0]) as unknown[]).length, 100);
    // ids above 2^32 - 1 go out as integers in a shared frame too (no float64 marker 0xcb anywhere)
    const big = packResponses([{ id: 2 ** 40, ok: true }, { id: 1, ok: true }] as Response[], MAX);
    assert.equal(big.length, 1);
    assert.equal(Buffer.from(big[0]).includes(0xcb), false);
    assert.deepEqual((decodeFrame(big[0]) as { id: number }[]).map((r) => r.id), [2 ** 40, 1]);
  });

  describe('against a daemon with maxFrameBytes 64 KiB', () => {
    let d: RunningDaemon;
    before(async () => {
      d = await startTestDaemon({ maxFrameBytes: MAX, lanes: 2 });
    });
    after(async () => {
      await d.close();
    });

    it('three longest reads and small ones in one batch frame: every answer, every frame within the limit', async () => {
      const c = await connect(d);
      const big = testBytes(4 * MAX, 7, 0);
      await c.region({ name: 'big', base: 0, size: big.length, dtype: 'uint8', kind: 'other', codec: 'raw', blockBytes: 16384 });
      for (let at = 0; at < big.length; at += MAX / 2) await c.write(at, big.subarray(at, at + MAX / 2));
      await c.close();
      const s = await RawSocket.hello(d);
      const len = MAX - 64;
      for (let trial = 0; trial < 3; trial++) {
        const reqs = [
          ...[0, 1, 2].map((k) => ({ op: 'read', id: 100 + k, addr: k * 1000, len })),
          ...Array.from({ length: 20 }, (_, k) => ({ op: 'read', id: 200 + k, addr: k, len: 1 })),
        ];
        s.send(reqs);
        const got = new Map((await s.answers(reqs.length)).map((a) => [a.id, a]));
        for (const q of reqs) {
          const a = got.get(q.id);
          assert.ok(a?.ok, `answer to ${q.id}`);
          assert.deepEqual(new Uint8Array(a.data as Uint8Array), big.subarray(q.addr, q.addr + q.len));
        }
      }
      const largest = Math.max(...s.frames.map((f) => f.length));
      assert.ok(largest <= MAX, `largest frame ${largest} > ${MAX}`);
      assert.ok(largest > MAX - 100, `the longest read's frame is near the limit (${largest})`);
      s.close();
    });

    it('stats too large for one frame answers E_TOO_LARGE; stats of one region still works', async () => {
      const t = await startTestDaemon({ maxFrameBytes: 4096, lanes: 1 });
      try {
        const c = await connect(t);
        for (let i = 0; i < 20; i++) await c.region({ name: `r${i}`, base: i * 4096, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
        await expectCode(c.stats(), 'E_TOO_LARGE');
        assert.equal((await c.stats('r7')).regions[0].name, 'r7');
        await c.close();
      } finally {
        await t.close();
      }
    });
  });
});
