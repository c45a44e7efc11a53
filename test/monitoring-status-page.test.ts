import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ShimpackClient } from '../clients/ts/index.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { hasData } from './helpers.ts';
import { startTraffic, type Traffic } from './monitoring-traffic.ts';
import { ROOT } from './root.ts';

/**
 * The daemon's status page (GET /) in Debian's headless Chromium, driven by
 * playwright-core (no browser download): under traffic its charts fill with
 * points, the region table matches the traffic, nothing is fetched from
 * outside the daemon, and a screenshot is kept for a human look.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)` : !hasData ? '../shared/data not found' : false;

// Flags that keep Chromium quiet on a machine without outside network access.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('status page in headless Chromium', { skip, timeout: 90_000 }, () => {
  let daemon: RunningDaemon;
  let traffic: Traffic;
  let browser: Browser;
  let page: Page;
  let base = '';
  const foreign: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    daemon = await startTestDaemon({ lanes: 2, shadow: 'apack,zvc', shadowSample: 4 });
    base = `http://127.0.0.1:${daemon.port}`;
    traffic = await startTraffic(daemon.url);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) foreign.push(r.url());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await traffic?.stop();
    await daemon?.close();
  });

  it('serves the page and its assets from the daemon, and /status.json with cumulative counters', async () => {
    for (const [path, type] of [['/', 'text/html'], ['/status/status.js', 'text/javascript'], ['/status/line-chart.js', 'text/javascript'], ['/status/status.css', 'text/css'], ['/status.json', 'application/json']]) {
      const r = await fetch(base + path);
      assert.equal(r.status, 200, path);
      assert.ok(r.headers.get('content-type')?.startsWith(type), `${path}: ${r.headers.get('content-type')}`);
    }
    const html = await (await fetch(base + '/')).text();
    assert.ok(!/https?:\/\//.test(html.replace(/href="\/[^"]*"/g, '')), 'the page must not load anything from elsewhere');
    const snap = (await (await fetch(base + '/status.json')).json()) as { regions: { region: string; raw: Record<string, number> }[]; latency: { le: number[]; ops: Record<string, number[]> } };
    assert.deepEqual(snap.regions.map((r) => r.region).sort(), traffic.regions.map((r) => r.name).sort());
    assert.ok(snap.regions.every((r) => (r.raw.write ?? 0) > 0));
    assert.equal(snap.latency.ops.write.length, snap.latency.le.length + 1, 'one count per bound plus +Inf');
    assert.equal((await fetch(base + '/nope')).status, 404);
  });

  it('charts show data under traffic, the table lists every region, and a screenshot is taken', async () => {
    await page.goto(base + '/');
    const want = traffic.regions.length;
    // Each chart counts the points it drew; wait for several seconds of history.
    // (Browser-side code is passed as text: the project's TypeScript has no DOM types.)
    await page.waitForFunction(
      `(() => {
        const pts = ['ratio', 'bandwidth', 'latency', 'dram'].map((id) => Number(document.getElementById('chart-' + id).dataset.points));
        return pts[0] >= 10 * ${want} && pts[1] >= 10 && pts[2] >= 10 && pts[3] >= 10 && document.querySelectorAll('#regions tbody tr').length === ${want};
      })()`,
      undefined,
      { timeout: 30_000, polling: 250 },
    );
    const rows = await page.$$eval('#regions tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(rows.map((r) => r[0]).sort(), traffic.regions.map((r) => r.name).sort());
    const head = await page.$$eval('#regions thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(head, ['region', 'kind', 'codec', 'held raw', 'held stored', 'ratio held', 'raw traffic', 'stored traffic']);
    for (const r of rows) {
      const t = traffic.regions.find((x) => x.name === r[0]);
      assert.equal(r[1], t?.kind);
      assert.equal(r[2], t?.codec);
      assert.match(r[3], /[KM]iB$/, `${r[0]} holds ${r[3]}`);
      if (r[2] === 'raw') assert.equal(r[5], '1.00×', `${r[0]} stores 1:1`);
      assert.match(r[6], /[KM]iB\/s$/, `${r[0]} raw traffic ${r[6]}`);
    }
    assert.ok(rows.some((r) => r[2] !== 'raw' && Number.parseFloat(r[5]) > 1), `a coding codec compresses: ${JSON.stringify(rows)}`);
    // DRAM traffic: the client bursts and the DRAM behind the shim, read and written; the totals say the same.
    assert.deepEqual(await page.$$eval('#legend-dram span', (ss) => ss.map((s) => s.textContent)), ['raw bursts', 'DRAM read', 'DRAM written']);
    assert.match((await page.textContent('#bursts-share')) ?? '', /^\d+\.\d+× the raw bursts$/);
    assert.match((await page.textContent('#bursts-read')) ?? '', /^[\d,]+$/);
    // DRAM energy and time under the memory model (hbm2 by default), raw against stored; shadow codecs (--shadow) in their table.
    assert.match((await page.textContent('#energy-raw')) ?? '', /^\d[\d.]* [mµnp]?J$/);
    assert.match((await page.textContent('#energy-saved')) ?? '', /^-?\d[\d.]* [mµnp]?J$/);
    assert.match((await page.textContent('#memory-model')) ?? '', /^hbm2: 3\.9 pJ\/bit, 256 GB\/s$/);
    assert.match((await page.textContent('#time-stored')) ?? '', /s$/);
    await page.waitForFunction(`document.querySelectorAll('#shadow tbody tr').length === 2`, undefined, { timeout: 10_000, polling: 250 });
    const shadowRows = await page.$$eval('#shadow tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(shadowRows.map((r) => r[0]), ['apack', 'zvc']);
    assert.ok(shadowRows.every((r) => /×$/.test(r[3])), JSON.stringify(shadowRows));
    const legend = await page.$$eval('#legend-ratio span', (ss) => ss.map((s) => s.textContent));
    assert.equal(legend.length, want);
    // The canvases really have ink on them, not just a counter.
    const inked = (await page.evaluate(`[...document.querySelectorAll('canvas.chart')].map((cv) => {
      const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      let colored = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) colored++;
      return colored;
    })`)) as number[];
    assert.equal(inked.length, 4);
    for (const n of inked) assert.ok(n > 100, `a chart has only ${n} coloured pixels`);
    assert.match((await page.textContent('#summary')) ?? '', new RegExp(`^${want} regions`));

    const shot = join(mkdtempSync(join(tmpdir(), 'shimpack-status-')), 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    process.stdout.write(`# status page screenshot: ${shot}\n`);
    assert.deepEqual(foreign, [], 'requests outside the daemon');
    assert.deepEqual(pageErrors, [], 'errors in the page');
  });

  it('the ratio shown is the stored-bytes ratio of stats; totals since start, lanes, no repeated axis labels; freed regions leave', async () => {
    const c = await ShimpackClient.connect(daemon.url);
    try {
      // The header's ratio held is the one stats gives for the bytes held (all regions here are in the default space).
      const st = (await c.stats()).totals;
      const snap = (await (await fetch(base + '/status.json')).json()) as { totals: { heldRaw: number; heldStored: number; rawBursts: number; storedBursts: number } };
      const statsRatio = st.rawBytesStored / st.storedBytes;
      assert.ok(Math.abs(snap.totals.heldRaw / snap.totals.heldStored - statsRatio) < 0.02 * statsRatio, `status ${snap.totals.heldRaw / snap.totals.heldStored} vs stats ${statsRatio}`);
      const shown = Number.parseFloat((await page.textContent('#held-ratio')) ?? '');
      assert.ok(Math.abs(shown - statsRatio) < 0.05, `page shows ${shown}, stats ${statsRatio}`);
      assert.match((await page.textContent('#totals')) ?? '', /raw ÷ stored bytes held/);
      const burstsBefore = Number(((await page.textContent('#bursts-raw')) ?? '').replace(/,/g, ''));
      assert.ok(burstsBefore > 0, 'raw bursts since start');
      // The ratio chart says what it plots; no "last second" traffic ratio is called a compression ratio.
      const titles = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent ?? ''));
      assert.ok(titles.some((t) => /^Compression ratio held per region/.test(t) && t.includes('raw ÷ stored bytes of the blocks each region holds')), titles.join(' / '));
      assert.ok(!titles.some((t) => /compression ratio/i.test(t) && /last second/.test(t)), titles.join(' / '));

      // Lanes: one row per lane, with a depth and a busy share; some lane works under traffic.
      await page.waitForFunction(`[...document.querySelectorAll('#lanes tbody tr')].some((tr) => Number.parseFloat(tr.children[2].textContent) > 0)`, undefined, { timeout: 20_000, polling: 250 });
      const lanes = await page.$$eval('#lanes tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      assert.deepEqual(lanes.map((l) => l[0]), ['0', '1']);
      for (const l of lanes) {
        assert.match(l[1], /^\d+$/);
        assert.match(l[2], /^\d+%$/);
      }

      // Every chart's axis labels are distinct (no "1 B/s" twice).
      for (const id of ['ratio', 'bandwidth', 'latency', 'dram']) {
        const ticks = ((await page.getAttribute(`#chart-${id}`, 'data-ticks')) ?? '').split('|').filter(Boolean);
        assert.ok(ticks.length >= 2, `${id}: ${ticks.join(', ')}`);
        assert.equal(new Set(ticks).size, ticks.length, `${id} repeats an axis label: ${ticks.join(', ')}`);
      }

      // A region declared, written and freed: listed, then gone from the table, the count and status.json.
      const want = traffic.regions.length;
      await c.region({ name: 'short-lived', base: 2 ** 40, size: 8192, dtype: 'uint8', kind: 'other', codec: 'zvc' });
      await c.write(2 ** 40, new Uint8Array(8192).fill(3));
      await page.waitForFunction(`document.querySelectorAll('#regions tbody tr').length === ${want + 1}`, undefined, { timeout: 20_000, polling: 250 });
      assert.match((await page.textContent('#summary')) ?? '', new RegExp(`^${want + 1} regions`));
      await c.free('short-lived');
      await page.waitForFunction(`document.querySelectorAll('#regions tbody tr').length === ${want}`, undefined, { timeout: 20_000, polling: 250 });
      assert.match((await page.textContent('#summary')) ?? '', new RegExp(`^${want} regions`));
      const after = (await (await fetch(base + '/status.json')).json()) as { regions: { region: string }[]; regionCount: number };
      assert.ok(!after.regions.some((r) => r.region === 'short-lived'));
      assert.equal(after.regionCount, want);
      assert.equal(((await (await fetch(base + '/healthz')).json()) as { regions: number }).regions, want);
      // Totals since start keep what the freed region moved.
      assert.ok(Number(((await page.textContent('#bursts-raw')) ?? '').replace(/,/g, '')) >= burstsBefore);
      assert.deepEqual(pageErrors, [], 'errors in the page');
    } finally {
      await c.close();
    }
  });

  it('serve --help promises only what the page shows', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/shimpack.js', 'serve', '--help'], { cwd: ROOT });
    const promise = /The status page [^\n]*\n[^\n]*/.exec(stdout)?.[0] ?? '';
    assert.match(promise, /lanes/);
    await page.goto(base + '/');
    await page.waitForFunction(`document.querySelectorAll('#lanes tbody tr').length > 0`, undefined, { timeout: 20_000, polling: 250 });
    for (const [word, selector] of [['lanes', '#lanes'], ['regions hold', '#regions'], ['totals', '#totals'], ['latency', '#chart-latency'], ['traffic', '#chart-bandwidth']]) {
      if (promise.includes(word)) assert.ok(await page.$(selector), `serve --help mentions ${word}; the page has no ${selector}`);
    }
  });
});
