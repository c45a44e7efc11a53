import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDramsim3 } from '../daemon/dram/build-cache.ts';
import { runDramComparison, type DramComparison, type DramConfigComparison } from '../daemon/dram/compare.ts';
import { DramError } from '../daemon/dram/errors.ts';
import { parseDramsim3Json } from '../daemon/dram/parse.ts';
import { importTrace } from '../daemon/traces/import-trace.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { SyntheticPayload, parseSyntheticSpec } from '../daemon/traces/synthetic.ts';
import { DATA_DIR, SHARED, hasData } from './helpers.ts';
import { ROOT } from './root.ts';

/**
 * DRAMsim3 as the real client of the shim's DRAM side (docs/dram.md): a
 * generated model trace, raw and compressed, through HBM2 and DDR4. Builds
 * DRAMsim3 once into the user's cache (SHIMPACK_CACHE_DIR, else
 * ~/.cache/shimpack): about a minute the first time on 2 cores.
 */

const SRC = `${SHARED}tools/dramsim3`;
const dir = mkdtempSync(join(tmpdir(), 'dram-sim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const isDramError = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof DramError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

/**
 * DRAMsim3 charges a fixed energy per READ and per WRITE command, so read
 * and write energy go exactly as the commands do (checked to 1e-9). A
 * command per burst sent, except where DRAMsim3's controller merges a
 * request into one already queued (controller.cc, AddTransaction): a read
 * of an address with a write pending is answered from the write buffer, a
 * read or write of an address already queued joins it. Those cost no
 * command and depend on timing, not on burst counts: on this trace 205 of
 * the 36,936 raw reads on HBM2 (0.55 %). So each stream's commands lie
 * within 2 % below its bursts, and the compressed/raw energy ratio within
 * 2 % of the burst ratio.
 */
const MERGED = 0.02;
function assertScales(c: DramConfigComparison, r: DramComparison): void {
  const within = (what: string, eRaw: number, eComp: number, cRaw: number, cComp: number, bRaw: number, bComp: number): void => {
    const label = `${c.config} ${what}`;
    assert.ok(Math.abs(eRaw / cRaw - eComp / cComp) <= 1e-9 * (eRaw / cRaw), `${label}: energy per command differs (${eRaw / cRaw} vs ${eComp / cComp} pJ)`);
    for (const [cmds, bursts] of [[cRaw, bRaw], [cComp, bComp]]) {
      assert.ok(cmds <= bursts && cmds >= (1 - MERGED) * bursts, `${label}: ${cmds} commands for ${bursts} bursts`);
    }
    const ratio = eComp / eRaw;
    const predicted = bComp / bRaw;
    assert.ok(Math.abs(ratio / predicted - 1) <= MERGED, `${label}: energy ratio ${ratio.toFixed(4)}, bursts say ${predicted.toFixed(4)}`);
    assert.ok(eComp < eRaw, `${label}: compressed ${eComp} pJ is not below raw ${eRaw} pJ`);
  };
  within('read', c.raw.energyPj.read, c.compressed.energyPj.read, c.raw.readCmds, c.compressed.readCmds, r.raw.readBursts, r.compressed.readBursts);
  within('write', c.raw.energyPj.write, c.compressed.energyPj.write, c.raw.writeCmds, c.compressed.writeCmds, r.raw.writeBursts, r.compressed.writeBursts);
  // Every burst sent reached DRAMsim3 (whose trace reader takes the last line twice at the end of the file).
  for (const [s, bursts] of [[c.raw, r.raw.bursts], [c.compressed, r.compressed.bursts]] as const) {
    const done = s.readsDone + s.writesDone;
    assert.ok(done === bursts || done === bursts + 1, `${c.config}: ${done} requests done of ${bursts}`);
  }
  for (const s of [c.raw, c.compressed]) {
    assert.ok(s.fixedEnergyShare > 0 && s.fixedEnergyShare < 1, `${c.config}: share ${s.fixedEnergyShare}`);
    const parts = s.energyPj.read + s.energyPj.write + s.energyPj.activate + s.energyPj.refresh + s.energyPj.background;
    assert.ok(Math.abs(parts - s.energyPj.total) <= 1e-6 * s.energyPj.total, `${c.config}: the terms add up to DRAMsim3's total`);
  }
  // Each stream runs until it is done, no sooner than its last request.
  for (const s of [c.raw, c.compressed]) assert.ok(s.cycles > c.lastRequestCycle * 0.9 && s.cycles <= c.lastRequestCycle * 1.5 + 100000, `${c.config}: ${s.cycles} cycles`);
}

describe('DRAMsim3 runs of a model trace', { skip: hasData ? false : 'no ../shared/data' }, () => {
  const trace = join(dir, 'tiny.trace.gz');
  let r: DramComparison;
  before(async () => {
    await generateModelTrace({ dataDir: DATA_DIR, model: 'faceapi-tiny-face-detector', out: trace, burstBytes: 64, weights: 'int8', bandwidth: 16 });
    r = await runDramComparison({ trace, dramsim3: SRC, configs: ['HBM2_8Gb_x128', 'DDR4_8Gb_x8_2400'], onProgress: (l) => process.stderr.write(`# ${l}\n`) });
    process.stderr.write(`# ${JSON.stringify({ raw: r.raw, compressed: r.compressed })}\n`);
  });

  it('compressed moves fewer bursts, read and written', () => {
    assert.ok(r.compressed.readBursts < r.raw.readBursts);
    assert.ok(r.compressed.writeBursts < r.raw.writeBursts);
  });

  it('HBM2: read and write energy fall as the burst counts predict', () => {
    const c = r.configs.find((x) => x.config === 'HBM2_8Gb_x128')!;
    assert.equal(c.protocol, 'HBM');
    assertScales(c, r);
  });

  it('DDR4: read and write energy fall as the burst counts predict', () => {
    const c = r.configs.find((x) => x.config === 'DDR4_8Gb_x8_2400')!;
    assert.equal(c.protocol, 'DDR4');
    assertScales(c, r);
  });

  it('dram run prints the comparison (CLI, cached build)', async () => {
    // A short trace: 500 requests of the DRAMsim3 example, imported.
    const small = join(dir, 'small.trace');
    await importTrace({
      format: 'dramsim3',
      files: [`${SHARED}traces/dramsim3/example.trace`],
      out: small,
      payload: new SyntheticPayload(parseSyntheticSpec('relu:sparsity=0.7')),
      burstBytes: 64,
      wordBytes: 1,
      clockMhz: 1000,
      window: 1 << 20,
      maxRequests: 500,
    });
    const p = spawnSync(process.execPath, ['bin/shimpack.js', 'dram', 'run', small, '--dramsim3', SRC, '--config', 'HBM2_8Gb_x128', '--codec', 'zvc', '-q'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /HBM2_8Gb_x128 \(HBM, 8 channel\(s\), 1000 MHz\)/);
    for (const row of ['read energy', 'write energy', 'activate energy', 'refresh energy', 'background energy', 'total energy', 'bandwidth']) assert.match(p.stdout, new RegExp(row));
    assert.match(p.stdout, /does not scale with traffic/);
  });

  it('refuses an unknown configuration', async () => {
    await assert.rejects(runDramComparison({ trace, dramsim3: SRC, configs: ['NO_SUCH_DRAM'] }), isDramError('E_DRAM_CONFIG'));
  });
});

describe('DRAMsim3 runner errors', () => {
  it('refuses a folder that is not a DRAMsim3 source', async () => {
    await assert.rejects(ensureDramsim3(dir, { cacheDir: join(dir, 'c0') }), isDramError('E_DRAM_SOURCE'));
  });

  it('says cmake is missing, before copying anything', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'empty-path');
    try {
      await assert.rejects(ensureDramsim3(SRC, { cacheDir: join(dir, 'c1') }), isDramError('E_DRAM_TOOLS'));
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports a failed build with its output', async () => {
    const bad = join(dir, 'bad-src');
    mkdirSync(join(bad, 'src'), { recursive: true });
    mkdirSync(join(bad, 'configs'));
    writeFileSync(join(bad, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.0)\nproject(x CXX)\nadd_executable(dramsim3main src/main.cc)\n');
    writeFileSync(join(bad, 'src', 'main.cc'), 'int main() { return not_declared; }\n');
    await assert.rejects(ensureDramsim3(bad, { cacheDir: join(dir, 'c2') }), (e: unknown) => isDramError('E_DRAM_BUILD')(e) && /not_declared/.test((e as Error).message));
  });

  it('refuses a dramsim3.json that is not DRAMsim3 output', () => {
    const f = join(dir, 'dramsim3.json');
    writeFileSync(f, '{"0": {"channel": 0}}');
    assert.throws(() => parseDramsim3Json(f), isDramError('E_DRAM_OUTPUT'));
    writeFileSync(f, 'not json');
    assert.throws(() => parseDramsim3Json(f), isDramError('E_DRAM_OUTPUT'));
  });
});
