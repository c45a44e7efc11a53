import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BlockPut } from '../daemon/backend/backend.ts';
import { InMemoryBackend } from '../daemon/backend/memory.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { FAULT_MARKER, WorkerLaneExecutor } from '../daemon/lanes/worker-executor.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import type { RegionStats } from '../protocol/types.ts';
import { connect, expectCode, rng, startTestDaemon, testBytes } from './daemon-harness.ts';

const BURST = 64;
const bursts = (bytes: number): number => Math.ceil(bytes / BURST);

/** The payload ZVC stores for a block (the raw length when coding does not make it smaller). */
function zvcPayload(block: Uint8Array): number {
  const zvc = codecByName('zvc');
  const model = zvc.load(zvc.fit(new Uint8Array(0), 'int8').params, 'int8');
  const out = new Uint8Array(Math.max(block.length, model.maxEncodedBytes(block.length)));
  const n = model.encodeBlock(block, out);
  return n >= block.length ? block.length : n;
}

async function regionStats(d: RunningDaemon, name: string): Promise<RegionStats> {
  const c = await connect(d);
  try {
    return (await c.stats(name)).regions[0];
  } finally {
    await c.close();
  }
}

describe('line buffers: DRAM traffic counted by hand', () => {
  it('bursts gather in a block written back once; a read fetches the compressed block once; metadata through its cache', async () => {
    // One lane, 256-byte blocks, two slots, one metadata line cached.
    const d = await startTestDaemon({ lanes: 1, blockSize: 256, burstBytes: BURST, lineBufferBytes: 512, metadataCacheBytes: 64, lineBufferIdleMs: 0 });
    const c = await connect(d);
    try {
      await c.region({ name: 'h', base: 0, size: 1024, dtype: 'int8', kind: 'other', codec: 'zvc' });
      const block0 = new Uint8Array(256);
      block0.set(testBytes(40, 1, 0), 0);
      // Four bursts complete block 0: one miss (metadata line fetched: 1 read burst), three hits, one write-back.
      for (let o = 0; o < 256; o += 64) await c.write(o, block0.subarray(o, o + 64));
      // The completed block left the buffer: a read misses, fetches it once, and a second read hits.
      assert.deepEqual(Buffer.from(await c.read(64, 64)), Buffer.from(block0.subarray(64, 128)));
      assert.deepEqual(Buffer.from(await c.read(128, 64)), Buffer.from(block0.subarray(128, 192)));
      // One burst into block 1, never stored: no fill; written back (with zeros around it) by the flush stats does.
      const burst1 = testBytes(64, 2, 0);
      await c.write(256 + 64, burst1);
      const block1 = new Uint8Array(256);
      block1.set(burst1, 64);
      const s = await regionStats(d, 'h');
      const p0 = bursts(zvcPayload(block0));
      const p1 = bursts(zvcPayload(block1));
      assert.ok(p0 < 4 && p1 < 4, `both blocks compress (${p0}, ${p1} bursts)`);
      assert.equal(s.burstsRaw, 4 + 2 + 1);
      assert.equal(s.bufferMisses, 3);
      assert.equal(s.bufferHits, 4);
      assert.equal(s.fills, 1);
      assert.equal(s.writeBacks, 2);
      assert.equal(s.evictions, 0);
      // Lookups: block 0 (miss), its write-back, its read miss, block 1, its write-back; one line, fetched once.
      assert.equal(s.metadataAccesses, 5);
      assert.equal(s.metadataMisses, 1);
      // The dirty metadata line is written back by the flush: one read and one write burst of metadata.
      assert.equal(s.metadataBursts, 2);
      assert.equal(s.dramReadBursts, 1 + p0);
      assert.equal(s.dramWriteBursts, p0 + p1 + 1);
      assert.equal(s.burstsStored, s.dramReadBursts + s.dramWriteBursts);
      assert.equal(s.blocksHeld, 2);
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('a block held raw moves burst by burst: reads fetch only the bursts asked for, a write-back writes only the bursts written', async () => {
    const d = await startTestDaemon({ lanes: 1, blockSize: 256, burstBytes: BURST, lineBufferBytes: 256, metadataCacheBytes: 4096, lineBufferIdleMs: 0 });
    const c = await connect(d);
    try {
      await c.region({ name: 'r', base: 0, size: 1024, dtype: 'int8', kind: 'other', codec: 'zvc' });
      const noise = testBytes(1024, 9, 0); // incompressible: every block held raw
      await c.write(0, noise);
      const s0 = await regionStats(d, 'r');
      assert.equal(s0.blocksRaw, 4);
      assert.equal(s0.dramWriteBursts, 16 + 1); // four raw blocks, then the metadata line at the flush
      // One burst of block 2, then one of block 3 (evicts block 2's clean slot), then the same burst of block 2 again.
      await c.read(2 * 256 + 64, 64);
      await c.read(3 * 256, 64);
      await c.read(2 * 256 + 64, 64);
      // A partial write to block 1 needs no fill (raw is addressable by burst) and writes back one burst.
      await c.write(256 + 128, testBytes(64, 10, 0));
      const s1 = await regionStats(d, 'r');
      assert.equal(s1.fills, 0);
      assert.equal(s1.evictions, 3);
      assert.equal(s1.dramReadBursts - s0.dramReadBursts, 3);
      assert.equal(s1.dramWriteBursts - s0.dramWriteBursts, 1 + 1); // the burst, then the metadata line
      assert.equal(s1.blocksRaw, 4);
      const want = noise.slice();
      want.set(testBytes(64, 10, 0), 256 + 128);
      assert.deepEqual(Buffer.from(await c.read(0, 1024)), Buffer.from(want));
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('a raw region moves exactly the bursts the client moves, whatever the pattern', async () => {
    const d = await startTestDaemon({ lanes: 2, blockSize: 1024 });
    const c = await connect(d);
    try {
      await c.region({ name: 'raw', base: 0, size: 1 << 20, dtype: 'uint8', kind: 'other', codec: 'raw' });
      const rand = rng(5);
      const ps: Promise<unknown>[] = [];
      for (let i = 0; i < 400; i++) {
        const len = 1 + Math.floor(rand() * 300);
        const addr = Math.floor(rand() * ((1 << 20) - len));
        ps.push(rand() < 0.5 ? c.write(addr, testBytes(len, i)) : c.read(addr, len));
      }
      await Promise.all(ps);
      const s = await regionStats(d, 'raw');
      assert.ok(s.burstsRaw > 400);
      assert.equal(s.burstsStored, s.burstsRaw);
      assert.equal(s.bufferHits + s.bufferMisses + s.metadataAccesses, 0);
    } finally {
      await c.close();
      await d.close();
    }
  });
});

describe('line buffers: semantics', () => {
  it('an acknowledged buffered write is seen by every later read on any connection; fence and flush store it; free drops it', async () => {
    const d = await startTestDaemon({ lanes: 2, lineBufferIdleMs: 0 });
    const a = await connect(d);
    const b = await connect(d);
    try {
      await a.region({ name: 'f', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      const data = testBytes(100, 3);
      await a.write(5000, data);
      const region = d.engine.regions.named('f');
      assert.ok(region?.slots.get(1)?.dirty, 'held in a line buffer, not written back');
      assert.equal(d.engine.backend.blocksHeld(), 0);
      assert.deepEqual(Buffer.from(await b.read(5000, 100)), Buffer.from(data));
      await a.fence();
      assert.equal(region.slots.get(1)?.dirty, false);
      assert.equal(d.engine.backend.blocksHeld(), 1);
      await a.write(9000, data);
      await b.flush('f');
      assert.equal(d.engine.backend.blocksHeld(), 2);
      await expectCode(b.flush('nope'), 'E_NO_SUCH_REGION');
      await a.write(20000, data); // dirty when freed
      await a.free('f');
      assert.equal(d.engine.backend.blocksHeld(), 0);
      await a.region({ name: 'f', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      assert.deepEqual(Buffer.from(await b.read(5000, 100)), Buffer.from(new Uint8Array(100)));
    } finally {
      await a.close();
      await b.close();
      await d.close();
    }
  });

  it('after an idle interval the buffered blocks are written back', async () => {
    const d = await startTestDaemon({ lanes: 1, lineBufferIdleMs: 50 });
    const c = await connect(d);
    try {
      await c.region({ name: 'i', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      await c.write(100, testBytes(10, 1));
      // Polled, not timed: the first batch also waits for the lane worker to start.
      for (let i = 0; i < 2000 && d.engine.backend.blocksHeld() === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(d.engine.backend.blocksHeld(), 1);
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('a lane worker dying with dirty blocks loses no acknowledged write', async () => {
    const executor = new WorkerLaneExecutor(2, { exitOnMarker: true });
    const d = await startTestDaemon({ lanes: 2, lineBufferIdleMs: 0 }, { executor });
    const c = await connect(d);
    try {
      await c.region({ name: 'k', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      // A block whose write-back kills its worker: acknowledged, so it must stay readable.
      const poison = testBytes(4096, 4);
      poison.set(new TextEncoder().encode(FAULT_MARKER));
      await c.write(0, poison.subarray(0, 2048));
      await c.write(2048, poison.subarray(2048)); // completes the block: written back, the worker dies
      const other = testBytes(3000, 5);
      await c.write(4096, other); // block 1: dirty on the other lane
      await executor.killLane(0);
      await executor.killLane(1);
      await expectCode(c.flush(), 'E_LANE_FAILED');
      assert.deepEqual(Buffer.from(await c.read(0, 4096)), Buffer.from(poison));
      assert.deepEqual(Buffer.from(await c.read(4096, 3000)), Buffer.from(other));
      // Overwritten without the marker: a flush stores it (once lane 0, backing off after three deaths in a row, takes batches again).
      const good = testBytes(4096, 6);
      await c.write(0, good);
      for (let i = 0; ; i++) {
        try {
          await c.flush();
          break;
        } catch (e) {
          if ((e as { code?: string }).code !== 'E_LANE_FAILED' || i > 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.deepEqual(Buffer.from(await c.read(0, 4096)), Buffer.from(good));
      assert.deepEqual(Buffer.from(await c.read(4096, 3000)), Buffer.from(other));
      assert.equal(d.engine.regions.named('k')?.outgoing.size, 0);
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('a backend that refuses write-backs: flush answers E_BACKEND, the bytes stay readable, a later flush stores them', async () => {
    let refuse = true;
    class RefusingBackend extends InMemoryBackend {
      override putMany(puts: readonly BlockPut[]): Promise<void> {
        if (refuse) return Promise.reject(new Error('disk on fire'));
        return super.putMany(puts);
      }
    }
    const backend = new RefusingBackend();
    const d = await startTestDaemon({ lanes: 1, lineBufferIdleMs: 0, backendTimeoutMs: 2000 }, { backend });
    const c = await connect(d);
    try {
      await c.region({ name: 'b', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      const data = testBytes(4096 + 100, 7);
      await c.write(0, data); // block 0 complete: its write-back fails; block 1 stays buffered
      await expectCode(c.flush(), 'E_BACKEND');
      assert.deepEqual(Buffer.from(await c.read(0, data.length)), Buffer.from(data));
      refuse = false;
      await c.flush();
      assert.equal(backend.blocksHeld(), 2);
      assert.equal(d.engine.regions.named('b')?.outgoing.size, 0);
      assert.deepEqual(Buffer.from(await c.read(0, data.length)), Buffer.from(data));
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('file backend: a clean shutdown writes every buffered block back, and a restart reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-lb-'));
    try {
      const cfg = { lanes: 2, backend: `file:${dir}`, sync: 'batch', lineBufferIdleMs: 0 };
      const d1 = await startTestDaemon(cfg);
      const c1 = await connect(d1);
      await c1.region({ name: 'p', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      const data = testBytes(10_000, 8);
      for (let o = 0; o < data.length; o += 64) await c1.write(o, data.subarray(o, o + 64));
      await c1.close();
      await d1.close();
      const d2 = await startTestDaemon(cfg);
      const c2 = await connect(d2);
      assert.deepEqual(Buffer.from(await c2.read(0, data.length)), Buffer.from(data));
      await c2.close();
      await d2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--sync always on the file backend writes through: an acknowledged write is in the backend at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-lb-wt-'));
    try {
      const d = await startTestDaemon({ lanes: 2, backend: `file:${dir}`, sync: 'always', lineBufferIdleMs: 0 });
      const c = await connect(d);
      await c.region({ name: 'w', base: 0, size: 1 << 16, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      await c.write(300, testBytes(64, 9));
      assert.equal(d.engine.backend.blocksHeld(), 1);
      // The buffers still count: one slot, one miss, no fill.
      const s = (await c.stats('w')).regions[0];
      assert.equal(s.bufferMisses, 1);
      assert.equal(s.fills, 0);
      assert.ok(s.writeBacks === 1 && s.dramWriteBursts >= 1);
      await c.close();
      await d.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
