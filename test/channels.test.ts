import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ChannelClient, type StatsTotals } from '../clients/ts/index.ts';
import { ConfigError, resolveConfig } from '../daemon/config.ts';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/server/spawn-daemon.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { readTrace } from '../daemon/traces/reader.ts';
import { replayTrace } from '../daemon/traces/replay.ts';
import { channelOf, servesRange, splitByChannel } from '../protocol/channel.ts';
import { connect, expectCode, startTestDaemon, testBytes } from './daemon-harness.ts';
import { checkProperty } from './property.ts';
import { haveRedis, startRedisCluster, type RedisCluster } from './redis-harness.ts';
import { SHARED } from './root.ts';

const dataDir = `${SHARED}data`;
const skipRedis = haveRedis() ? false : 'redis-server / redis-cli not installed (.ci/run installs redis-server redis-tools)';

describe('channel rule (protocol/channel.ts)', () => {
  it('cuts an access at granule boundaries into pieces that cover it in order, each served by exactly its channel (fast-check, seeded)', () => {
    const seed = 16016;
    checkProperty(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 6 }), fc.nat(2 ** 40), fc.nat(200_000), (channels, g, addr, len) => {
        const layout = { channels, granule: 64 << g };
        const pieces = splitByChannel(addr, len, layout);
        let at = addr;
        for (const p of pieces) {
          assert.equal(p.addr, at);
          assert.equal(p.offset, at - addr);
          assert.equal(p.channel, channelOf(p.addr, layout));
          assert.equal(p.channel, Math.floor(p.addr / layout.granule) % channels);
          assert.ok(servesRange(p.addr, p.len, layout, p.channel));
          for (let other = 0; other < channels; other++) if (other !== p.channel) assert.ok(!servesRange(p.addr, p.len, layout, other));
          at += p.len;
        }
        assert.equal(at, addr + len);
        if (channels === 1) assert.equal(pieces.length, 1);
        else if (len > 0) assert.equal(pieces.length, Math.floor((addr + len - 1) / layout.granule) - Math.floor(addr / layout.granule) + 1);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('config: --channel must be I/N with I < N, the granule a multiple of the block size', () => {
    assert.throws(() => resolveConfig({ channel: '2/2' }, {}), ConfigError);
    assert.throws(() => resolveConfig({ channel: 'x' }, {}), /channel must be I\/N/);
    assert.throws(() => resolveConfig({ channel: '0/2', channelGranule: 6144 }, {}), /multiple of blockSize/);
    assert.equal(resolveConfig({ channel: '1/2', channelGranule: 8192 }, {}).channel, '1/2');
  });
});

describe('a channel daemon', () => {
  it('answers a read or write of another channel\'s addresses with E_WRONG_CHANNEL and changes nothing', async () => {
    const d = await startTestDaemon({ channel: '1/2', channelGranule: 4096 });
    const c = await connect(d);
    try {
      assert.deepEqual([c.hello.channel, c.hello.channels, c.hello.channelGranule], [1, 2, 4096]);
      await c.region({ name: 'r', base: 0, size: 64 * 1024, dtype: 'int8', kind: 'activation', codec: 'zvc' });
      await expectCode(c.write(0, testBytes(100, 1)), 'E_WRONG_CHANNEL'); // granule 0: channel 0
      await expectCode(c.write(4000, testBytes(200, 1)), 'E_WRONG_CHANNEL'); // straddles granules 0 and 1
      await expectCode(c.write(4096, testBytes(4097, 1)), 'E_WRONG_CHANNEL'); // granule 1 and into 2
      await expectCode(c.read(8192, 10), 'E_WRONG_CHANNEL');
      await expectCode(c.write(8192, new Uint8Array(0)), 'E_WRONG_CHANNEL');
      const st = (await c.stats('r')).regions[0];
      assert.deepEqual([st.writes, st.reads, st.bytesWritten, st.blocksHeld], [0, 0, 0, 0]);
      const mine = testBytes(4096, 2);
      await c.write(4096, mine);
      assert.deepEqual(new Uint8Array(await c.read(4096, 4096)), mine);
      // Every block must lie in one granule.
      await expectCode(c.region({ name: 'odd-base', base: 1 << 20 | 512, size: 8192, dtype: 'int8', kind: 'other', codec: 'raw', blockBytes: 1024 }), 'E_BAD_FIELD');
      await expectCode(c.region({ name: 'big-block', base: 2 << 20, size: 16384, dtype: 'int8', kind: 'other', codec: 'raw', blockBytes: 8192 }), 'E_BAD_FIELD');
      await c.region({ name: 'small-block', base: 3 << 20, size: 16384, dtype: 'int8', kind: 'other', codec: 'raw', blockBytes: 1024 });
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('the channel client refuses URLs not in channel order, or missing a channel (E_CHANNELS)', async () => {
    const d0 = await startTestDaemon({ channel: '0/2' });
    const d1 = await startTestDaemon({ channel: '1/2' });
    try {
      await expectCode(ChannelClient.connect([d1.url, d0.url]), 'E_CHANNELS');
      await expectCode(ChannelClient.connect([d0.url]), 'E_CHANNELS');
      await expectCode(ChannelClient.connect([d0.url, d1.url, d1.url]), 'E_CHANNELS');
      const c = await ChannelClient.connect([d0.url, d1.url]);
      // Routed: a write over 3 granules and a read of it, a region declared on both.
      await c.region({ name: 'x', base: 0, size: 5 * 4096, dtype: 'uint8', kind: 'other', codec: 'zvc' });
      const data = testBytes(3 * 4096 + 100, 3);
      await c.write(1000, data);
      assert.deepEqual(new Uint8Array(await c.read(1000, data.length)), data);
      const s = await c.stats();
      assert.equal(s.totals.bytesWritten, data.length);
      assert.equal(s.totals.writes, 4); // one piece per granule touched: bytes 1000 ... 13387 lie in granules 0 to 3
      await c.free('x');
      await c.close();
    } finally {
      await d0.close();
      await d1.close();
    }
  });
});

/** Counters that do not depend on the codec tables a channel fitted. */
function traffic(t: StatsTotals): Record<string, number> {
  return { regions: t.regions, bytesWritten: t.bytesWritten, bytesRead: t.bytesRead, rawBytesStored: t.rawBytesStored, burstsRaw: t.burstsRaw, blocksHeld: t.blocksHeld, writes: t.writes, reads: t.reads };
}

describe('channels on one Redis Cluster', { skip: skipRedis }, () => {
  let cluster: RedisCluster;
  let dir: string;
  before(async () => {
    cluster = await startRedisCluster(0);
    dir = mkdtempSync(join(tmpdir(), 'shimpack-channels-'));
  });
  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const base = { speed: 'max' as const, copies: 1, loop: false, verify: true, window: 256 };

  for (const codec of ['ebpc', undefined] as const) {
    it(`a model trace (${codec ?? 'default codecs: APack weights calibrated from their first write'}) replayed over 2 channel daemons: every read verified, merged stats ${codec ? 'equal' : 'equal in traffic'} to one daemon's`, async () => {
      const trace = join(dir, `tiny-${codec ?? 'default'}.trace`);
      await generateModelTrace({ dataDir, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 4096, weights: 'int8', bandwidth: 16, codec });
      // Line buffers off: each channel would have its own, so their hits and DRAM traffic differ from one daemon's.
      const single = await startTestDaemon({ lineBufferBytes: 0 });
      const one = await replayTrace({ ...base, trace, url: single.url });
      await single.close();
      const prefix = `rep-${codec ?? 'default'}`;
      const d0 = await startTestDaemon({ backend: `${cluster.url}?prefix=${prefix}`, channel: '0/2', lineBufferBytes: 0 });
      const d1 = await startTestDaemon({ backend: `${cluster.url}?prefix=${prefix}`, channel: '1/2', lineBufferBytes: 0 });
      try {
        const two = await replayTrace({ ...base, trace, url: [d0.url, d1.url], keepRegions: true });
        assert.deepEqual([two.mismatches, two.errors, two.problems], [0, 0, []]);
        assert.equal(two.verifiedReads, two.reads);
        assert.ok(two.reads > 100);
        // Both channels hold their share.
        assert.ok(d0.engine.backend.blocksHeld() > 0 && d1.engine.backend.blocksHeld() > 0);
        assert.equal(d0.engine.backend.blocksHeld() + d1.engine.backend.blocksHeld(), one.stats!.blocksHeld);
        if (codec) {
          // The energy and time fields are sums of floats, added in another order over two channels: equal to 1e-12.
          const FLOATS = ['dramEnergyRawJ', 'dramEnergyStoredJ', 'dramEnergySavedJ', 'dramTimeRawS', 'dramTimeStoredS', 'dramTimeSavedS', 'codecTimeS'];
          const exact = (o: object) => Object.fromEntries(Object.entries(o).filter(([k]) => !FLOATS.includes(k)));
          assert.deepEqual(exact(two.stats!), exact(one.stats!));
          for (const k of FLOATS) {
            const a = (two.stats as unknown as Record<string, number>)[k];
            const b = (one.stats as unknown as Record<string, number>)[k];
            assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)), `${k}: ${a} vs ${b}`);
          }
        }
        else {
          // Each channel fits its APack tables to the first bytes it sees (docs/scaling.md): stored sizes differ slightly.
          assert.deepEqual(traffic(two.stats!), traffic(one.stats!));
          assert.ok(Math.abs(two.stats!.ratio / one.stats!.ratio - 1) < 0.02, `ratio ${two.stats!.ratio} vs ${one.stats!.ratio}`);
        }
      } finally {
        await d0.close();
        await d1.close();
      }
    });
  }

  it('kill -9 of a channel daemon mid-replay: restarted on the same channel, it serves every acknowledged write', async () => {
    const trace = join(dir, 'tiny-kill.trace');
    await generateModelTrace({ dataDir, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 4096, weights: 'int8', bandwidth: 16 });
    // The weights, as the trace writes them first (each once).
    const regions = new Map<string, { base: number; size: number }>();
    const weights = new Map<string, Uint8Array>();
    let weightWrites = 0;
    for await (const r of readTrace(trace)) {
      if (r.type === 'region') regions.set(r.name, { base: r.base, size: r.size });
      if (r.type !== 'op' || r.op !== 'write') continue;
      const [name, reg] = [...regions].find(([, g]) => r.addr >= g.base && r.addr < g.base + g.size)!;
      if (!name.startsWith('w:')) break; // the first activation write: the weights are all out
      let w = weights.get(name);
      if (!w) weights.set(name, (w = new Uint8Array(reg.size)));
      w.set(r.data, r.addr - reg.base);
      weightWrites++;
    }
    // --sync always: an acknowledged write is in Redis at its ack (no write-back buffering in the daemon).
    const args = (ch: string): string[] => ['--port', '0', '--lanes', '1', '--backend', `${cluster.url}?prefix=kill`, '--sync', 'always', '--channel', ch];
    const d0 = await spawnDaemon(args('0/2'));
    let d1: SpawnedDaemon = await spawnDaemon(args('1/2'));
    try {
      let killed = false;
      const run = replayTrace({
        ...base,
        trace,
        url: [d0.url, d1.url],
        window: 16,
        keepRegions: true,
        onProgress: (p) => {
          // Past the weights plus the window: every weight write has been answered.
          if (!killed && p.ops > weightWrites + 32) {
            killed = true;
            d1.child.kill('SIGKILL');
          }
        },
      });
      const s = await run;
      assert.ok(killed, 'the replay ended before the kill');
      assert.ok(s.errors > 0, 'the replay should have lost its connection to channel 1');
      assert.ok(!s.problems.some((p) => /^write/.test(p) && !/E_CLOSED|connection/.test(p)), s.problems.join('; '));
      await d1.stop('SIGKILL');
      d1 = await spawnDaemon(args('1/2'));
      const c = await ChannelClient.connect([d0.url, d1.url]);
      try {
        for (const [name, bytes] of weights) {
          const g = regions.get(name)!;
          assert.deepEqual(new Uint8Array(await c.read(g.base, g.size)), bytes, `weights ${name} after the restart`);
        }
        // The restarted channel found its regions and its calibrated tables in Redis.
        const st = await c.channels[1].stats();
        assert.equal(st.totals.regions, regions.size);
        assert.ok(st.regions.filter((r) => r.name.startsWith('w:')).every((r) => r.calibration !== 'pending' || r.blocksRaw === r.blocksHeld));
      } finally {
        await c.close();
      }
    } finally {
      await d0.stop();
      await d1.stop();
    }
  });
});
