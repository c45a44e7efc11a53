// The first-order energy and time model (daemon/energy/), its settings
// (--memory, --memory-pj-per-bit, --memory-gbps, --codec-clock-mhz, --shadow,
// --shadow-sample) and every error they can raise, and the stats fields the
// daemon derives from it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, resolveConfig } from '../daemon/config.ts';
import { MEMORY_NAMES, MEMORY_PRESETS, codecSeconds, dramJoules, dramSeconds, energyOf, memoryModel, trafficEnergy } from '../daemon/energy/index.ts';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';
import { CLI_JS } from './helpers.ts';

/** Equal to a relative 1e-12 (floating point order of operations). */
function near(a: number, b: number, what = ''): void {
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)), `${what} ${a} != ${b}`);
}

describe('energy model (pure functions)', () => {
  it('a burst of 64 B is 512 bits: joules and seconds by hand', () => {
    const hbm2 = memoryModel('hbm2');
    assert.deepEqual(hbm2, { name: 'hbm2', pjPerBit: 3.9, gbps: 256 });
    near(dramJoules(1, 64, hbm2), 512 * 3.9e-12);
    near(dramSeconds(1000, 64, hbm2), 64000 / 256e9);
    const e = energyOf(10, hbm2);
    near(e.joules, 10 * 512 * 3.9e-12);
    near(e.seconds, 640 / 256e9);
    const t = trafficEnergy(100, 60, 64, hbm2);
    near(t.dramEnergySavedJ, 40 * 512 * 3.9e-12);
    near(t.dramTimeSavedS, (40 * 64) / 256e9);
    // More stored than raw bursts (scattered access to compressed blocks): a negative saving, not hidden.
    assert.ok(trafficEnergy(10, 20, 64, hbm2).dramEnergySavedJ < 0);
  });

  it('every preset has positive figures and says where they come from', () => {
    assert.deepEqual(Object.keys(MEMORY_PRESETS), [...MEMORY_NAMES]);
    for (const p of Object.values(MEMORY_PRESETS)) {
      assert.ok(p.pjPerBit > 0 && p.gbps > 0, p.name);
      assert.ok(p.energySource.length > 10 && p.bandwidthSource.length > 10, p.name);
      // An estimate says so in its source text; a cited figure does not.
      assert.equal(p.energySource.startsWith('estimate'), p.estimate, p.name);
    }
    assert.equal(MEMORY_PRESETS.lpddr4.pjPerBit, 8);
  });

  it('figures given directly override the preset and make it "custom"', () => {
    assert.deepEqual(memoryModel('ddr4', 20), { name: 'custom', pjPerBit: 20, gbps: 25.6 });
    assert.deepEqual(memoryModel('hbm2', undefined, 100), { name: 'custom', pjPerBit: 3.9, gbps: 100 });
    assert.throws(() => memoryModel('sram'), /memory must be one of hbm2, hbm3/);
    assert.throws(() => memoryModel('hbm2', -1), /pJ\/bit must be a number above 0/);
    assert.throws(() => memoryModel('hbm2', Number.NaN), /pJ\/bit/);
    assert.throws(() => memoryModel('hbm2', undefined, 1e9), /GB\/s must be a number above 0 and at most/);
  });

  it('codec engine time: one value per cycle at the clock; raw takes none', () => {
    near(codecSeconds('apack', 1e9, 1000), 1);
    near(codecSeconds('scc', 5e8, 500), 1);
    assert.equal(codecSeconds('raw', 1e9, 1000), 0);
    assert.equal(codecSeconds('zvc', 0, 1000), 0);
  });
});

describe('energy and shadow settings: every error', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ memory: 'sram' }, /memory must be one of/],
    [{ memory: '' }, /memory must be one of/],
    [{ memoryPjPerBit: '-1' }, /memoryPjPerBit must be a number/],
    [{ memoryPjPerBit: 'lots' }, /memoryPjPerBit must be a number/],
    [{ memoryPjPerBit: '5000' }, /memoryPjPerBit must be between 0 and 1000/],
    [{ memoryGbps: '1e9' }, /memoryGbps must be between/],
    [{ codecClockMhz: 0 }, /codecClockMhz must be between 1/],
    [{ shadow: 'apack,lz4' }, /unknown codec "lz4"/],
    [{ shadow: 'raw' }, /raw codes nothing/],
    [{ shadow: 'apack,,zvc' }, /codec names separated by commas/],
    [{ shadow: 'zvc,zvc' }, /names codec "zvc" twice/],
    [{ shadowSample: 0 }, /shadowSample must be between 1/],
    [{ shadowSample: '1.5' }, /shadowSample must be a whole number/],
  ];
  for (const [flags, re] of bad) {
    it(`refuses ${JSON.stringify(flags)}`, () => {
      assert.throws(() => resolveConfig(flags, {}), (e: unknown) => e instanceof ConfigError && e.code === 'E_CONFIG' && re.test(e.message));
    });
  }

  it('takes the good ones, from flags and the environment', () => {
    const c = resolveConfig({ memory: 'gddr6', memoryPjPerBit: '7.5', shadow: ' apack , zvc ', shadowSample: '4' }, {});
    assert.equal(c.memory, 'gddr6');
    assert.equal(c.memoryPjPerBit, 7.5);
    assert.equal(c.shadowSample, 4);
    assert.equal(resolveConfig({}, { SHIMPACK_MEMORY: 'lpddr5', SHIMPACK_SHADOW: 'ebpc' }).memory, 'lpddr5');
    const d = resolveConfig({}, {});
    assert.equal(d.memory, 'hbm2');
    assert.equal(d.shadow, '');
    assert.equal(d.shadowSample, 32);
  });

  it('serve with a bad --memory or --shadow exits 2 with one line saying what is wrong', () => {
    for (const [args, re] of [
      [['--memory', 'ddr9'], /memory must be one of hbm2/],
      [['--shadow', 'apack,foo'], /unknown codec "foo"/],
      [['--shadow-sample', '0'], /shadowSample must be between 1/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI_JS, 'serve', '--port', '0', ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});

describe('bench daemon --shadow: usage errors', () => {
  it('refuses a bad list, --shadow-sample alone and --shadow with --url (exit 2, one line)', () => {
    for (const [args, re] of [
      [['--shadow', 'apack,nope'], /unknown codec "nope"/],
      [['--shadow', ''], /at least one codec/],
      [['--shadow-sample', '4'], /--shadow-sample goes with --shadow/],
      [['--shadow', 'zvc', '--url', 'ws://127.0.0.1:1/'], /not with --url/],
      [['--shadow', 'zvc', '--shadow-sample', '0'], /--shadow-sample/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI_JS, 'bench', 'daemon', '--codec', 'zvc', ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});

describe('stats: energy, time and codec engine time', () => {
  it('follow the bursts and the coded values under the configured model, per region and in totals', async () => {
    const d = await startTestDaemon({ lanes: 2, memory: 'ddr4', memoryPjPerBit: 20, codecClockMhz: 500, lineBufferIdleMs: 0 });
    try {
      const c = await connect(d);
      const data = testBytes(64 * 1024, 3, 0.5);
      await c.region({ name: 'w', base: 0, size: data.length, dtype: 'int8', kind: 'weight', codec: 'apack' });
      await c.region({ name: 'r', base: 1 << 20, size: data.length, dtype: 'int8', kind: 'other', codec: 'raw' });
      await c.write(0, data);
      await c.write(1 << 20, data);
      await c.flush();
      await c.read(0, 4096);
      const s = await c.stats();
      assert.deepEqual(s.memory, { name: 'custom', pjPerBit: 20, gbps: 25.6, burstBytes: 64, codecClockMhz: 500 });
      const j = 64 * 8 * 20e-12;
      for (const r of s.regions) {
        assert.ok(Math.abs(r.dramEnergyRawJ - r.burstsRaw * j) < 1e-15, r.name);
        assert.ok(Math.abs(r.dramEnergyStoredJ - r.burstsStored * j) < 1e-15, r.name);
        assert.ok(Math.abs(r.dramEnergySavedJ - (r.dramEnergyRawJ - r.dramEnergyStoredJ)) < 1e-15);
        assert.ok(Math.abs(r.dramTimeStoredS - (r.burstsStored * 64) / 25.6e9) < 1e-15);
      }
      const w = s.regions.find((r) => r.name === 'w')!;
      const raw = s.regions.find((r) => r.name === 'r')!;
      // APack saves energy on a compressible weight; raw saves none and its engines do nothing.
      assert.ok(w.dramEnergySavedJ > 0, `${w.dramEnergySavedJ}`);
      assert.equal(raw.dramEnergySavedJ, 0);
      assert.equal(raw.codecValues, 0);
      // 16 blocks encoded once; the read fetched one coded block and decoded it.
      assert.equal(w.codecValues, 64 * 1024 + 4096);
      assert.ok(Math.abs(w.codecTimeS - w.codecValues / 500e6) < 1e-15);
      assert.ok(Math.abs(s.totals.dramEnergyStoredJ - (w.dramEnergyStoredJ + raw.dramEnergyStoredJ)) < 1e-15);
      assert.equal(s.totals.codecValues, w.codecValues);
      assert.equal(s.totals.shadow, undefined);
      await c.close();
    } finally {
      await d.close();
    }
  });
});
