import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { MAX_NESTING } from '../protocol/frame-check.ts';
import { encodeFrame } from '../protocol/wire.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { RawSocket } from './daemon-raw-socket.ts';

/** `depth` nested one-element arrays around nil. */
function nested(depth: number): Uint8Array {
  const b = new Uint8Array(depth + 1).fill(0x91);
  b[depth] = 0xc0;
  return b;
}

describe('wire rules: unparseable frames, ids, batches', () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startTestDaemon({ lanes: 1, maxFrameBytes: 64 * 1024 });
  });
  after(async () => {
    await d.close();
  });

  async function expectClosed(frame: Uint8Array, what: string): Promise<void> {
    const s = await RawSocket.hello(d);
    s.sendBytes(frame);
    const a = await s.next();
    assert.equal(a.code, 'E_MALFORMED', `${what}: ${a.message}`);
    assert.equal(a.id, null);
    assert.equal(await s.closed, 1007, what);
  }

  it('frames msgpackr would decode to junk are unparseable: answered with id null, closed with 1007', async () => {
    await expectClosed(Uint8Array.of(0xc1), '0xc1 alone');
    await expectClosed(Uint8Array.of(0x91, 0xc1), '0xc1 in a batch');
    await expectClosed(Buffer.concat([encodeFrame({ op: 'fence', id: 1 }).slice(), Uint8Array.of(0xc0)]), 'trailing bytes');
    await expectClosed(Uint8Array.of(0xd4, 0x00, 0x00), 'fixext 1 (msgpackr: undefined)');
    await expectClosed(Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1), 'timestamp extension (msgpackr: Date)');
    await expectClosed(Uint8Array.of(0x82, 0xa2, 0x69, 0x64, 0x01, 0x01, 0x02), 'integer map key');
    await expectClosed(nested(MAX_NESTING + 1), `${MAX_NESTING + 1} nested arrays`);
    await expectClosed(new Uint8Array(0), 'empty binary frame');
  });

  it('well-formed values that are not requests are answered with id null and the connection stays', async () => {
    const s = await RawSocket.hello(d);
    for (const v of [42, 'fence', null, new Uint8Array(3), [[{ op: 'fence', id: 9 }]]]) {
      s.send(v);
      const a = await s.next();
      assert.equal(a.code, 'E_MALFORMED');
      assert.equal(a.id, null);
    }
    s.sendBytes(nested(MAX_NESTING)); // as deep as allowed: parsed, a batch whose one element is not a map
    assert.equal((await s.next()).code, 'E_MALFORMED');
    assert.equal((await s.call({ op: 'fence', id: 10 })).ok, true);
    s.close();
  });

  it('ids: integers 0 ... 2^53 - 1 are echoed as msgpack integers (64-bit above 2^32 - 1); others get id null', async () => {
    const s = await RawSocket.hello(d);
    for (const id of [0, 2 ** 32 - 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const before = s.frames.length;
      const a = await s.call({ op: 'fence', id });
      assert.equal(a.ok, true);
      assert.equal(a.id, id);
      const frame = s.frames[before];
      // the id's encoding in the answer: "id" then a msgpack integer, never float64 (0xcb)
      const at = frame.indexOf(Buffer.from([0xa2, 0x69, 0x64])) + 3;
      assert.notEqual(frame[at], 0xcb, `id ${id} came back as a float`);
      if (id > 2 ** 32 - 1) assert.ok(frame[at] === 0xcf || frame[at] === 0xd3, `id ${id} encoded with 0x${frame[at].toString(16)}`);
    }
    // as a msgpack uint64 too
    const u64 = Buffer.concat([Buffer.from([0x82, 0xa2, 0x6f, 0x70, 0xa5, ...Buffer.from('fence'), 0xa2, 0x69, 0x64, 0xcf]), Buffer.from([0, 0, 1, 0, 0, 0, 0, 0])]);
    s.sendBytes(u64);
    assert.equal((await s.next()).id, 2 ** 40);
    for (const id of [-1, -(2 ** 31), 2 ** 53, 2 ** 63, 1.5, '7', null]) {
      const a = await s.call({ op: 'fence', id });
      assert.equal(a.code, 'E_MALFORMED', `id ${String(id)}`);
      assert.equal(a.id, null);
    }
    s.close();
  });

  it('batches: [] gets no answer; a non-map element gets its own id-null answer and the rest proceed', async () => {
    const s = await RawSocket.hello(d);
    s.send([]);
    assert.ok(await s.silentFor(100), 'an empty batch is not answered');
    s.send([{ op: 'fence', id: 1 }, 42, { op: 'stats', id: 2 }, { op: 'fence', id: -5 }, { op: 'fence', id: 3 }]);
    const got = await s.answers(5);
    assert.deepEqual(got.map((a) => a.id).sort(), [1, 2, 3, null, null].sort());
    for (const a of got) assert.equal(a.ok, a.id !== null, JSON.stringify(a));
    s.close();
  });
});
