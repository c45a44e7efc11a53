import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadAssets } from '../daemon/report/assets.ts';
import { renderReport } from '../daemon/report/render.ts';
import { absent, present, type ReportData } from '../daemon/report/types.ts';
import { traceInfo } from '../daemon/traces/info.ts';
import { TraceWriter } from '../daemon/traces/writer.ts';
import { CLI_JS, DATA_DIR, SHARED, hasData } from './helpers.ts';
import { ROOT as root } from './root.ts';

/**
 * `shimpack report` end to end: a model trace generated from ../shared/data,
 * the report made by the compiled CLI, the page opened from disk in Debian's
 * headless Chromium (playwright-core, no browser download) with every request
 * outside the file refused. Every chart must be drawn with ink, no errors in
 * the page, and a screenshot is kept; its path is printed for a human look.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)` : !hasData ? '../shared/data not found' : false;
const hasCmake = ['cmake', 'g++'].every((tool) => (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, tool))));
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = mkdtempSync(join(tmpdir(), 'shimpack-report-'));

/** Run the compiled CLI as a child process (the test runner owns this process's stdout). */
function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI_JS, ...args], { cwd: root, maxBuffer: 1 << 26 }, (e, out, err) => {
      if (e && typeof e.code !== 'number') reject(e);
      else resolve({ code: e ? (e.code as number) : 0, out, err });
    });
  });
}

/** Coloured pixels of each canvas: a chart that drew nothing has none (axes and text are grey). */
const INK = `[...document.querySelectorAll('canvas')].map((cv) => {
  const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
  let colored = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) colored++;
  return [cv.id, colored, Number(cv.dataset.points)];
})`;

interface Opened {
  page: Page;
  errors: string[];
  foreign: string[];
}

async function open(browser: Browser, url: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  const foreign: string[] = [];
  // Offline means offline: anything but the page itself is refused and recorded.
  await page.route('**/*', (r) => {
    if (r.request().url() === url) return r.continue();
    foreign.push(r.request().url());
    return r.abort();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(url);
  await page.waitForFunction('document.body.dataset.charts !== undefined', undefined, { timeout: 20_000 });
  return { page, errors, foreign };
}

describe('shimpack report in headless Chromium', { skip, timeout: 600_000 }, () => {
  let browser: Browser;
  const trace = join(dir, 'tiny.trace.gz');
  const html = join(dir, 'tiny-report.html');

  before(async () => {
    const gen = await run('trace', 'gen', '--data', DATA_DIR, '--model', 'faceapi-tiny-face-detector', '-o', trace, '-q');
    assert.equal(gen.code, 0, gen.err);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a self-contained page whose charts all draw, with numbers that agree with the trace and the sweep, and a screenshot', async () => {
    // The sweep includes the main run's setting (block 4096 B, buffer 64 KiB), so the two replays must agree.
    const r = await run('report', trace, '-o', html, '--lanes', '2', '--sweep-block-sizes', '1024,4096', '--sweep-line-buffer-bytes', '65536');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /report replay: 73872\/73872/, 'progress on stderr');
    assert.match(r.err, new RegExp(`report: wrote ${html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ KiB\\)`));
    const text = readFileSync(html, 'utf8');
    assert.ok(!/\s(src|href)=["']?(https?:)?\/\//i.test(text), 'nothing loaded from elsewhere');
    assert.match(text, /Chart\.js v4\./, 'the plotting library is inlined');
    assert.match(text, /Permission is hereby granted/, 'with its licence');

    const url = pathToFileURL(html).href;
    const { page, errors, foreign } = await open(browser, url);
    const ink = (await page.evaluate(INK)) as [string, number, number][];
    assert.deepEqual(ink.map((c) => c[0]).sort(), ['chart-energy', 'chart-layers', 'chart-regions', 'chart-shadow', 'chart-sweep-footprint', 'chart-sweep-traffic', 'chart-time']);
    for (const [id, colored, points] of ink) {
      assert.ok(points > 0, `${id} plotted no values`);
      assert.ok(colored > 200, `${id} has only ${colored} coloured pixels`);
    }
    assert.equal(await page.getAttribute('body', 'data-charts'), '7');

    // Per layer and region: one chart point per layer and dataset, one bar per region of the trace.
    const info = await traceInfo(trace);
    const regionRows = await page.$$eval('#regions-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(regionRows.slice(0, -1).map((row) => row[0]), info.regions.map((x) => x.name), 'every region, in trace order');
    assert.equal(await page.$('#freed'), null, 'a model trace frees nothing');
    const num = (s: string): number => Number(s.replace(/[,×]/g, ''));
    const totalRow = regionRows[regionRows.length - 1];
    assert.equal(totalRow[0], 'all regions');
    // Every op of a model trace is one burst of at most 64 B.
    assert.equal(num(totalRow[5]), info.ops.read + info.ops.write, 'raw bursts = the trace\'s bursts');
    const sumOf = (col: number): number => regionRows.slice(0, -1).reduce((s, row) => s + num(row[col]), 0);
    for (const col of [5, 6, 7]) assert.equal(sumOf(col), num(totalRow[col]), `column ${col} adds up`);
    const dram = num(totalRow[6]) + num(totalRow[7]);
    assert.ok(dram > 0 && dram < num(totalRow[5]), `the shim saves bursts on this trace: ${dram} of ${totalRow[5]}`);
    const layerPoints = Number(await page.getAttribute('#chart-layers', 'data-points'));
    assert.equal(layerPoints, 3 * new Set(info.regions.map((x) => /^[wa]:([^/]+)/.exec(x.name)?.[1])).size);

    // The sweep's run at the main setting is a second, independent replay: the same DRAM bursts.
    const sweepRows = await page.$$eval('#sweep-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(sweepRows.map((row) => [row[0], row[1]]), [['1.0 KiB', '64.0 KiB'], ['4.0 KiB', '64.0 KiB']]);
    assert.equal(num(sweepRows[1][3]), dram, 'sweep row at 4 KiB / 64 KiB vs the main replay');
    assert.equal(((await page.textContent('#kpi-bursts b')) ?? '').split(' ')[0], dram.toLocaleString('en-US'));

    // Shadow coding at sample 1 codes every block held: for a region's own codec it must find the
    // region's own stored size (payload ÷ raw of the blocks held), within a point.
    const shadowHead = await page.$$eval('#shadow-table thead th', (ths) => ths.map((th) => th.textContent ?? ''));
    assert.deepEqual(shadowHead, ['region', 'kind', 'stored as', 'apack', 'ebpc', 'scc', 'zvc']);
    const shadowRows = await page.$$eval('#shadow-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.equal(shadowRows.length, info.regions.length);
    let compared = 0;
    for (const row of shadowRows) {
      const own = shadowHead.indexOf(row[2]);
      const held = regionRows.find((x) => x[0] === row[0]);
      if (own < 0 || !held || !/%$/.test(row[own]) || held[10] === '–') continue;
      const shadowPct = Number.parseFloat(row[own]);
      const heldPct = 100 / Number.parseFloat(held[10]);
      assert.ok(Math.abs(shadowPct - heldPct) <= 1, `${row[0]}: shadow ${row[2]} ${shadowPct} % vs held ${heldPct.toFixed(2)} %`);
      compared++;
    }
    assert.ok(compared >= info.regions.length / 2, `compared ${compared} regions with their own codec`);

    // The energy model is linear in bursts: what it saves is what the bursts save, on every memory type.
    const energyRows = await page.$$eval('#energy-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(energyRows.map((row) => row[0]), ['hbm2', 'ddr4']);
    const burstsSaved = 100 * (1 - dram / num(totalRow[5]));
    for (const row of energyRows) {
      assert.ok(Math.abs(Number.parseFloat(row[5]) - burstsSaved) < 0.06, `${row[0]} energy saved ${row[5]} vs bursts ${burstsSaved.toFixed(2)} %`);
      assert.ok(Math.abs(Number.parseFloat(row[8]) - burstsSaved) < 0.06, `${row[0]} time saved ${row[8]} vs bursts ${burstsSaved.toFixed(2)} %`);
    }

    // DRAMsim3 was not asked for: its section says so and shows no numbers.
    assert.match((await page.textContent('#dramsim3 .why')) ?? '', /^Not run: pass --dramsim3 DIR --dram-config NAME/);
    assert.equal(await page.$('#dramsim3 canvas, #dramsim3 table'), null);

    const shot = join(mkdtempSync(join(tmpdir(), 'shimpack-report-shot-')), 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 10_000);
    process.stdout.write(`# report screenshot: ${shot}\n# report page: kept beside it as ${join(shot, '..', 'report.html')}\n`);
    writeFileSync(join(shot, '..', 'report.html'), text);
    assert.deepEqual(foreign, [], 'requests outside the page');
    assert.deepEqual(errors, [], 'errors in the page');
    await page.close();
  });

  it('with --dramsim3: the DRAMsim3 section shows both streams per configuration (a short imported trace)', { skip: !hasCmake ? 'cmake or g++ not found (apt-get install cmake g++)' : false }, async () => {
    // 2,000 requests of the DRAMsim3 sample keep both DRAMsim3 runs short; DRAMsim3 is built once into the cache.
    const small = join(dir, 'dram-sample.trace');
    const imp = await run('trace', 'import', '--from', 'dramsim3', join(SHARED, 'traces/dramsim3/example.trace'), '--synthetic', 'relu:sparsity=0.6,seed=7', '--max-requests', '2000', '-o', small, '-q');
    assert.equal(imp.code, 0, imp.err);
    const out = join(dir, 'dram-report.html');
    const r = await run('report', small, '-o', out, '--no-shadow', '--memory', 'hbm2', '--dramsim3', join(SHARED, 'tools/dramsim3'), '--dram-config', 'HBM2_8Gb_x128');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /report dramsim3: /, 'DRAMsim3 steps are reported');
    const { page, errors, foreign } = await open(browser, pathToFileURL(out).href);
    const rows = await page.$$eval('#dramsim3-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(rows.map((x) => [x[0], x[1]]), [['HBM2_8Gb_x128', 'raw'], ['HBM2_8Gb_x128', 'compressed']]);
    for (const x of rows) assert.match(x[9], /^[\d.]+ [µnmp]?J$/, `total energy ${x[9]}`);
    assert.match((await page.textContent('#shadow .why')) ?? '', /turned off \(--no-shadow\)/, 'shadow coding was turned off, and the page says so');
    const ink = (await page.evaluate(INK)) as [string, number, number][];
    const dramsim = ink.find((c) => c[0] === 'chart-dramsim3-energy');
    assert.ok(dramsim && dramsim[1] > 200 && dramsim[2] === 10, `DRAMsim3 chart: ${JSON.stringify(dramsim)}`);
    assert.deepEqual(foreign, []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('escapes every text from the data: a hostile region name or title stays text', async () => {
    const evil = '<img src=x onerror="alert(1)"></script><!--';
    const d: ReportData = {
      title: `title ${evil}`,
      generatedAt: '2026-01-01T00:00:00.000Z',
      shimpackVersion: '0.0.0',
      trace: { path: `/tmp/${evil}.trace`, fileBytes: 1, ops: 2, writeBytes: 64, readBytes: 64, burstBytes: 64 },
      settings: { blockBytes: 4096, lineBufferBytes: 65536, lanes: 1 },
      freedRegions: [evil],
      regions: [{ name: evil, layer: evil, kind: 'activation', codec: 'zvc', dtype: 'int8', sizeBytes: 64, blockBytes: 4096, burstsRaw: 2, dramReadBursts: 1, dramWriteBursts: 1, metadataBursts: 0, rawBytesHeld: 64, storedBytesHeld: 32 }],
      layers: [{ layer: evil, regions: 1, burstsRaw: 2, dramReadBursts: 1, dramWriteBursts: 1, metadataBursts: 0 }],
      totals: { burstsRaw: 2, dramReadBursts: 1, dramWriteBursts: 1, metadataBursts: 0, fills: 1, writeBacks: 1, bufferHits: 0, bufferMisses: 1, footprint: 0.5, verifiedReads: 1, reads: 1 },
      shadow: absent(`no shadow ${evil}`),
      energy: present({ rows: [{ memory: evil, pjPerBit: 3.9, gbPerSecond: 256, estimate: true, raw: { energyJ: 2e-9, timeS: 5e-10 }, dram: { energyJ: 1e-9, timeS: 2.5e-10 }, source: evil }], codecTimeS: 1e-6, codecClockMhz: 1000 }),
      sweep: absent('not asked'),
      dramsim3: present({
        rawBursts: 2,
        compressedBursts: 1,
        configs: [{ config: evil, protocol: 'HBM2', clockMhz: 1000, raw: { cycles: 100, bandwidthGBps: 1, fixedEnergyShare: 0.4, energyPj: { read: 10, write: 10, activate: 5, refresh: 20, background: 5, total: 50 } }, compressed: { cycles: 80, bandwidthGBps: 1, fixedEnergyShare: 0.5, energyPj: { read: 5, write: 5, activate: 3, refresh: 20, background: 5, total: 38 } } }],
      }),
    };
    const file = join(dir, 'evil.html');
    writeFileSync(file, renderReport(d, loadAssets()));
    const { page, errors, foreign } = await open(browser, pathToFileURL(file).href);
    assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0, 'no element came from the data');
    assert.equal(await page.title(), `title ${evil}`);
    assert.equal(await page.textContent('#regions-table tbody tr td'), evil);
    assert.match((await page.textContent('#freed')) ?? '', /freed 1 region\(s\)/);
    assert.equal(await page.getAttribute('body', 'data-charts'), String(2 + 2 + 1), 'traffic, energy and DRAMsim3 charts');
    assert.deepEqual(foreign, []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('refuses bad input with one clear line and the right exit status', async () => {
    const missing = await run('report', join(dir, 'nope.trace'), '-o', join(dir, 'x.html'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^shimpack: .*nope\.trace.*ENOENT/m);
    const notTrace = join(dir, 'not-a-trace.bin');
    writeFileSync(notTrace, 'hello');
    const bad = await run('report', notTrace, '-o', join(dir, 'x.html'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^shimpack: E_TRACE_/m);
    // A trace with a region and nothing done to it: nothing to report on.
    const empty = join(dir, 'empty.trace');
    const w = new TraceWriter(empty, { source: 'test' });
    w.region({ name: 'r', base: 0, size: 4096, dtype: 'int8', kind: 'activation' });
    await w.close();
    const none = await run('report', empty, '-o', join(dir, 'x.html'));
    assert.equal(none.code, 1);
    assert.match(none.err, /^shimpack: E_REPORT_INPUT: .*empty\.trace has no operations to report on$/m);
    const noDir = await run('report', trace, '-o', join(dir, 'no', 'such', 'x.html'));
    assert.equal(noDir.code, 1);
    assert.match(noDir.err, /its folder does not exist/);
    const half = await run('report', trace, '-o', join(dir, 'x.html'), '--dram-config', 'HBM2_8Gb_x128');
    assert.equal(half.code, 2);
    assert.match(half.err, /--dramsim3 DIR and --dram-config NAME go together/);
    const noOut = await run('report', trace);
    assert.equal(noOut.code, 2);
    assert.match(noOut.err, /--output/);
    const badList = await run('report', trace, '-o', join(dir, 'x.html'), '--sweep-block-sizes', '1024,x');
    assert.equal(badList.code, 2);
    const badMemory = await run('report', trace, '-o', join(dir, 'x.html'), '--memory', 'hbm2,hbm9');
    assert.equal(badMemory.code, 2);
    assert.match(badMemory.err, /--memory: "hbm9" is neither a memory type \(hbm2, .*\) nor custom:PJ_PER_BIT:GB_PER_S/);
    const badCustom = await run('report', trace, '-o', join(dir, 'x.html'), '--memory', 'custom:0:100');
    assert.equal(badCustom.code, 2);
    assert.match(badCustom.err, /pJ\/bit must be a number above 0/);
    const badShadow = await run('report', trace, '-o', join(dir, 'x.html'), '--shadow', 'apack,gzip');
    assert.equal(badShadow.code, 2);
    assert.match(badShadow.err, /unknown codec "gzip"/);
    const help = await run('report', '--help');
    assert.equal(help.code, 0);
    for (const opt of ['--output', '--memory', '--sweep', '--dramsim3', '--dram-config', '--block-size', '--line-buffer-bytes']) assert.ok(help.out.includes(opt), `--help lists ${opt}`);
    assert.ok(!existsSync(join(dir, 'x.html')), 'no page written on error');
  });
});
