import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { hasData } from './helpers.ts';
import { startTraffic, type Traffic } from './monitoring-traffic.ts';

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
    daemon = await startTestDaemon({ lanes: 2 });
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
        const pts = ['ratio', 'bandwidth', 'latency'].map((id) => Number(document.getElementById('chart-' + id).dataset.points));
        return pts[0] >= 10 * ${want} && pts[1] >= 10 && pts[2] >= 10 && document.querySelectorAll('#regions tbody tr').length === ${want};
      })()`,
      undefined,
      { timeout: 30_000, polling: 250 },
    );
    const rows = await page.$$eval('#regions tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(rows.map((r) => r[0]).sort(), traffic.regions.map((r) => r.name).sort());
    for (const r of rows) {
      const t = traffic.regions.find((x) => x.name === r[0]);
      assert.equal(r[1], t?.kind);
      assert.equal(r[2], t?.codec);
      if (r[2] === 'raw') assert.equal(r[3], '1.00×', `${r[0]} stores 1:1`);
      assert.match(r[4], /[KM]iB\/s$/, `${r[0]} raw bandwidth ${r[4]}`);
    }
    assert.ok(rows.some((r) => r[2] !== 'raw' && Number.parseFloat(r[3]) > 1), `a coding codec compresses: ${JSON.stringify(rows)}`);
    const legend = await page.$$eval('#legend-ratio span', (ss) => ss.map((s) => s.textContent));
    assert.equal(legend.length, want);
    // The canvases really have ink on them, not just a counter.
    const inked = (await page.evaluate(`[...document.querySelectorAll('canvas.chart')].map((cv) => {
      const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      let colored = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) colored++;
      return colored;
    })`)) as number[];
    assert.equal(inked.length, 3);
    for (const n of inked) assert.ok(n > 100, `a chart has only ${n} coloured pixels`);
    assert.match((await page.textContent('#summary')) ?? '', new RegExp(`^${want} regions`));

    const shot = join(mkdtempSync(join(tmpdir(), 'shimpack-status-')), 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    process.stdout.write(`# status page screenshot: ${shot}\n`);
    assert.deepEqual(foreign, [], 'requests outside the daemon');
    assert.deepEqual(pageErrors, [], 'errors in the page');
  });
});
