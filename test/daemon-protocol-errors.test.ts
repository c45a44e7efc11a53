import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ShimpackClient, ShimpackError } from '../clients/ts/index.ts';
import type { BlockPut, BlockRef, MemoryBackend } from '../daemon/backend/backend.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { ERROR_CODE_LIST, type ErrorCode } from '../protocol/types.ts';

import { decodeFrame, encodeFrame } from '../protocol/wire.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';
import { TEST_SRC } from './root.ts';

/** Codes that need fault injection, and the test file that produces each. */
const FAULT_CODES: Partial<Record<ErrorCode, string>> = {
  E_LANE_FAILED: 'daemon-lane-faults.test.ts',
  E_BACKEND: 'daemon-backend-faults.test.ts',
  E_WRONG_CHANNEL: 'channels.test.ts',
};

/** A raw socket speaking frames directly, for requests the client would not build. */
async function rawSocket(d: RunningDaemon): Promise<{ ws: WebSocket; next(): Promise<unknown>; closed: Promise<number> }> {
  const ws = new WebSocket(d.url, { perMessageDeflate: false });
  const inbox: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const m = decodeFrame(data);
    for (const r of Array.isArray(m) ? m : [m]) {
      const w = waiters.shift();
      if (w) w(r);
      else inbox.push(r);
    }
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise((r) => ws.once('open', r));
  return { ws, next: () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r))), closed };
}

const seen = new Set<ErrorCode>();
function saw(r: unknown, code: ErrorCode, id: number | null): void {
  const m = r as { ok: boolean; code: string; id: number | null; message: string };
  assert.equal(m.ok, false);
  assert.equal(m.code, code, m.message);
  assert.equal(m.id, id);
  assert.equal(typeof m.message, 'string');
  seen.add(code);
}
async function sawCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expectCode(p, code);
  seen.add(code);
}

describe('daemon protocol errors: every code, connection stays usable', () => {
  let d: RunningDaemon;
  let c: ShimpackClient;
  before(async () => {
    d = await startTestDaemon({ maxFrameBytes: 64 * 1024 });
    c = await connect(d);
    await c.region({ name: 'a', base: 0, size: 8192, dtype: 'int8', kind: 'weight', codec: 'zvc' });
    await c.region({ name: 'b', base: 8192, size: 8192, dtype: 'int8', kind: 'weight', codec: 'zvc' });
  });
  after(async () => {
    await c.close();
    await d.close();
  });

  it('requests before hello, bad versions, a second hello', async () => {
    const s = await rawSocket(d);
    s.ws.send(encodeFrame({ op: 'read', id: 1, addr: 0, len: 4 }));
    saw(await s.next(), 'E_NO_HELLO', 1);
    s.ws.send(encodeFrame({ op: 'hello', id: 2, version: 99 }));
    saw(await s.next(), 'E_VERSION', 2);
    s.ws.send(encodeFrame({ op: 'hello', id: 3, version: 1 }));
    assert.equal((await s.next() as { ok: boolean }).ok, true);
    s.ws.send(encodeFrame({ op: 'hello', id: 4, version: 1 }));
    saw(await s.next(), 'E_ALREADY_HELLO', 4);
    s.ws.close();
  });

  it('malformed requests, unknown ops and bad fields are answered without closing', async () => {
    const s = await rawSocket(d);
    s.ws.send(encodeFrame({ op: 'hello', id: 1, version: 1 }));
    await s.next();
    s.ws.send(encodeFrame(42));
    saw(await s.next(), 'E_MALFORMED', null);
    s.ws.send(encodeFrame({ op: 'read', addr: 0, len: 1 }));
    saw(await s.next(), 'E_MALFORMED', null);
    s.ws.send('{"op":"hello"}'); // a text frame
    saw(await s.next(), 'E_MALFORMED', null);
    s.ws.send(encodeFrame({ op: 'teleport', id: 5 }));
    saw(await s.next(), 'E_UNKNOWN_OP', 5);
    const badFields: Record<string, unknown>[] = [
      { op: 'read', id: 6, addr: 0 },
      { op: 'read', id: 7, addr: -1, len: 4 },
      { op: 'read', id: 8, addr: 1.5, len: 4 },
      { op: 'write', id: 9, addr: 0, data: 'not bytes' },
      { op: 'region', id: 10, name: 'x', base: 0, size: 10, dtype: 'float32', kind: 'weight' },
      { op: 'region', id: 11, name: 'x', base: 2 ** 48 - 4, size: 10, dtype: 'int8', kind: 'weight' },
      { op: 'region', id: 12, name: 'x', base: 1 << 30, size: 10, dtype: 'int8', kind: 'tensor' },
      { op: 'region', id: 13, name: 'x', base: 1 << 30, size: 10, dtype: 'int8', kind: 'weight', blockBytes: 10 },
      { op: 'free', id: 14 },
      { id: 15 },
    ];
    // as one batch frame: each member gets its own answer
    s.ws.send(encodeFrame(badFields));
    const got = new Map<number, unknown>();
    for (let i = 0; i < badFields.length; i++) {
      const r = (await s.next()) as { id: number };
      got.set(r.id, r);
    }
    for (const f of badFields) saw(got.get(f.id as number), 'E_BAD_FIELD', f.id as number);
    // still usable
    s.ws.send(encodeFrame({ op: 'read', id: 16, addr: 0, len: 4 }));
    assert.equal((await s.next() as { ok: boolean }).ok, true);
    // a frame that is not msgpack at all: answered with id null, then closed
    s.ws.send(Buffer.from([0x81, 0xa1])); // a map cut short
    saw(await s.next(), 'E_MALFORMED', null);
    assert.equal(await s.closed, 1007);
  });

  it('oversize frames and reads', async () => {
    await sawCode(c.write(0, new Uint8Array(70 * 1024)), 'E_FRAME_TOO_LARGE');
    await sawCode(c.read(0, 64 * 1024), 'E_TOO_LARGE');
  });

  it('addresses outside regions, accesses crossing regions', async () => {
    await sawCode(c.read(100_000, 4), 'E_OUT_OF_REGION');
    await sawCode(c.write(16_380, new Uint8Array(8)), 'E_OUT_OF_REGION'); // past the end of b, nothing after it
    await sawCode(c.write(8190, new Uint8Array(4)), 'E_CROSS_REGION');
    await sawCode(c.read(8000, 400), 'E_CROSS_REGION');
  });

  it('region declarations: overlap, duplicate name, unknown region, unsupported codec, bad table', async () => {
    await sawCode(c.region({ name: 'c', base: 4000, size: 100, dtype: 'int8', kind: 'weight', codec: 'zvc' }), 'E_REGION_OVERLAP');
    await sawCode(c.region({ name: 'a', base: 1 << 30, size: 100, dtype: 'int8', kind: 'weight', codec: 'zvc' }), 'E_REGION_EXISTS');
    await sawCode(c.stats('nope'), 'E_NO_SUCH_REGION');
    await sawCode(c.free('nope'), 'E_NO_SUCH_REGION');
    await sawCode(c.region({ name: 'u', base: 1 << 30, size: 100, dtype: 'int16', kind: 'weight', codec: 'apack' }), 'E_UNSUPPORTED');
    await sawCode(c.region({ name: 't', base: 2 ** 31, size: 100, dtype: 'int8', kind: 'weight', codec: 'zvc', table: new Uint8Array([1, 2, 3]) }), 'E_BAD_TABLE');
    await sawCode(c.region({ name: 't', base: 2 ** 31, size: 100, dtype: 'int8', kind: 'weight', codec: 'apack', histogram: [1, 2, 3] }), 'E_BAD_TABLE');
    await sawCode(c.region({ name: 't', base: 2 ** 31, size: 100, dtype: 'int8', kind: 'weight', codec: 'apack', histogram: new Array(256).fill(-1) }), 'E_BAD_TABLE');
    // none of that disturbed the connection
    await c.write(0, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await c.read(0, 3))], [1, 2, 3]);
  });

  it('a token-protected daemon refuses hello without it', async () => {
    const t = await startTestDaemon({ token: 'sesame', lanes: 1 });
    try {
      await sawCode(ShimpackClient.connect(t.url), 'E_AUTH');
      const ok = await ShimpackClient.connect(t.url, { token: 'sesame' });
      await ok.close();
    } finally {
      await t.close();
    }
  });

  it('backend failures answer E_BACKEND and do not count as committed', async () => {
    class FailingBackend extends InMemoryBackend implements MemoryBackend {
      fail = false;
      override putMany(puts: readonly BlockPut[]): Promise<void> {
        return this.fail ? Promise.reject(new Error('disk on fire')) : super.putMany(puts);
      }
      override getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
        return this.fail ? Promise.reject(new Error('disk on fire')) : super.getMany(refs);
      }
    }
    const backend = new FailingBackend();
    const t = await startTestDaemon({ lanes: 1, lineBufferBytes: 0 }, { backend });
    try {
      const k = await connect(t);
      await k.region({ name: 'r', base: 0, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
      const acked = testBytes(4096, 2);
      await k.write(0, acked);
      backend.fail = true;
      // Not E_INTERNAL: the daemon is fine, its backend is not (the fault tests are in daemon-backend-faults.test.ts).
      await expectCode(k.write(0, testBytes(4096, 1)), 'E_BACKEND');
      await expectCode(k.read(0, 16), 'E_BACKEND');
      backend.fail = false;
      const st = (await k.stats('r')).regions[0];
      assert.equal(st.writes, 2); // requests, the failed one included
      assert.equal(st.blocksHeld, 1);
      assert.ok(Buffer.from(await k.read(0, 4096)).equals(Buffer.from(acked)), 'the failed write never reached the backend');
      await k.close();
    } finally {
      await t.close();
    }
  });

  it('a stored block the daemon cannot decode answers E_INTERNAL (its own data is broken, not the backend)', async () => {
    // The backend answers, but with a coded block cut short: the lane's decoder refuses it.
    class TruncatingBackend extends InMemoryBackend implements MemoryBackend {
      truncate = false;
      override getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
        return super.getMany(refs).then((blocks) => (this.truncate ? blocks.map((b) => b && b.subarray(0, 2)) : blocks));
      }
    }
    const backend = new TruncatingBackend();
    const t = await startTestDaemon({ lanes: 1, lineBufferBytes: 0 }, { backend });
    try {
      const k = await connect(t);
      await k.region({ name: 'r', base: 0, size: 4096, dtype: 'int8', kind: 'other', codec: 'zvc' });
      await k.write(0, testBytes(4096, 3));
      backend.truncate = true;
      await sawCode(k.read(0, 4096), 'E_INTERNAL');
      backend.truncate = false;
      assert.equal((await k.read(0, 4096)).length, 4096);
      await k.close();
    } finally {
      await t.close();
    }
  });

  it('requests during shutdown get E_SHUTTING_DOWN, earlier ones their answers', async () => {
    // Without line buffers, so the writes are still in the lanes when the shutdown starts.
    const t = await startTestDaemon({ lanes: 1, lineBufferBytes: 0 });
    const k = await connect(t);
    await k.region({ name: 'r', base: 0, size: 1 << 20, dtype: 'int8', kind: 'other', codec: 'zvc' });
    const writes = Array.from({ length: 32 }, (_, i) => k.write(i * 32768, testBytes(32768, i)));
    await k.stats(); // answered once the daemon has read (and started) every write before it
    const closing = t.close();
    await sawCode(k.read(0, 16), 'E_SHUTTING_DOWN');
    await Promise.all(writes);
    await closing;
  });

  it('limits: E_TOO_MANY_REGIONS, E_MEMORY_FULL, E_BUSY', async () => {
    const t = await startTestDaemon({ lanes: 1, maxRegions: 1, maxMemory: 4097, maxOutstanding: 1 });
    try {
      const k = await connect(t);
      await k.region({ name: 'r', base: 0, size: 8192, dtype: 'int8', kind: 'other', codec: 'raw' });
      await sawCode(k.region({ name: 's', base: 8192, size: 64, dtype: 'int8', kind: 'other', codec: 'raw' }), 'E_TOO_MANY_REGIONS');
      await k.write(0, testBytes(4096, 1, 0));
      await sawCode(k.write(4096, testBytes(4096, 2, 0)), 'E_MEMORY_FULL');
      // One frame of reads: the first is admitted, the next exceed --max-outstanding 1.
      const s = await rawSocket(t);
      s.ws.send(encodeFrame({ op: 'hello', id: 1, version: 1 }));
      await s.next();
      s.ws.send(encodeFrame([2, 3, 4].map((id) => ({ op: 'read', id, addr: 0, len: 16 }))));
      const answers = [await s.next(), await s.next(), await s.next()] as { ok: boolean; code?: string; id: number }[];
      const busy = answers.filter((a) => !a.ok);
      assert.ok(busy.length >= 1);
      for (const b of busy) saw(b, 'E_BUSY', b.id);
      s.ws.close();
      await k.close();
    } finally {
      await t.close();
    }
  });

  it('every error code of the protocol was produced by some test above', () => {
    const missing = ERROR_CODE_LIST.filter((code) => !seen.has(code) && !(code in FAULT_CODES));
    assert.deepEqual(missing, []);
  });

  it('the fault codes are produced by their own fault-injection tests', () => {
    // Killing a lane worker or breaking the backend needs its own daemon setup;
    // those files must exist and assert the code.
    for (const [code, file] of Object.entries(FAULT_CODES)) {
      const text = readFileSync(join(TEST_SRC, file), 'utf8');
      assert.ok(text.includes(`'${code}'`), `${file} does not check ${code}`);
    }
  });

  it('ShimpackError carries the server code', async () => {
    try {
      await c.read(999_999, 1);
      assert.fail('should have thrown');
    } catch (e) {
      assert.ok(e instanceof ShimpackError);
      assert.equal(e.code, 'E_OUT_OF_REGION');
      assert.equal(typeof e.requestId, 'number');
    }
  });
});
