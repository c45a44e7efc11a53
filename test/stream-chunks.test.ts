import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamChunks } from '../daemon/traces/stream-chunks.ts';

describe('streamChunks (the trace reader\'s chunk source)', () => {
  it('hands out the chunks the stream produced, in order and not joined', async () => {
    const s = new PassThrough();
    const sent = [Buffer.from('abc'), Buffer.from('de'), Buffer.alloc(70000, 7)];
    for (const b of sent) s.write(b);
    s.end();
    const got: Buffer[] = [];
    for await (const c of streamChunks(s, 2)) got.push(c);
    assert.deepEqual(Buffer.concat(got), Buffer.concat(sent));
    assert.equal(got.length, 3);
    assert.equal(got[0].length, 3);
  });

  it('pauses the stream once `ahead` chunks wait, and resumes it as they are taken', async () => {
    let made = 0;
    const s = new Readable({
      highWaterMark: 1,
      read() {
        made++;
        this.push(made <= 50 ? Buffer.alloc(16, made) : null);
      },
    });
    const it = streamChunks(s, 2)[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    await sleep(30);
    // Without the pause the stream would have produced all 50 by now.
    assert.ok(made < 10, `the stream produced ${made} chunks while 1 was taken`);
    let n = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) n++;
    assert.equal(n, 50);
  });

  it('throws the stream\'s error after the chunks that came before it', async () => {
    const s = new PassThrough();
    s.write(Buffer.from('one'));
    s.write(Buffer.from('two'));
    const got: string[] = [];
    const done = (async () => {
      for await (const c of streamChunks(s, 4)) got.push(c.toString());
    })();
    await sleep(10);
    s.destroy(Object.assign(new Error('disk gone'), { code: 'EIO' }));
    await assert.rejects(done, /disk gone/);
    assert.deepEqual(got, ['one', 'two']);
  });

  it('ends at once for an empty stream', async () => {
    const s = new PassThrough();
    s.end();
    const got: Buffer[] = [];
    for await (const c of streamChunks(s, 2)) got.push(c);
    assert.deepEqual(got, []);
  });
});
