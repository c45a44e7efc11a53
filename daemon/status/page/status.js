// Polls /status.json once a second: shows what the regions hold and the
// totals since start as they are, and turns successive cumulative counters
// into per-second traffic, latency and lane busy shares.
import { drawChart, drawLegend } from './line-chart.js';

const WINDOW_MS = 120_000;
const POLL_MS = 1000;
const COLORS = ['#2f6fde', '#e8743b', '#19a979', '#945ecf', '#ed4a7b', '#13a4b4', '#bf399e', '#6c8893', '#ee6868', '#525df4'];

/** @type {{ time: number, ok: boolean, snap?: any }[]} */
const history = [];
const regionColor = new Map();

function colorOf(region) {
  if (!regionColor.has(region)) regionColor.set(region, COLORS[regionColor.size % COLORS.length]);
  return regionColor.get(region);
}

function fmtBytesPerSec(v) {
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
const fmtRatio = (v) => `${v.toFixed(v >= 10 ? 0 : 2)}×`;
function fmtBytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}
const fmtCount = (v) => Math.round(v).toLocaleString('en-US');
const fmtRate = (v) => `${v >= 1000 ? `${(v / 1000).toFixed(v >= 1e4 ? 0 : 1)} k` : v.toFixed(0)}/s`;
function fmtSeconds(v) {
  if (v === 0) return '0';
  if (v < 1e-3) return `${(v * 1e6).toFixed(0)} µs`;
  if (v < 1) return `${(v * 1e3).toFixed(v < 0.01 ? 2 : 1)} ms`;
  return `${v.toFixed(2)} s`;
}

const sum = (rec) => Object.values(rec ?? {}).reduce((a, b) => a + b, 0);

/** Quantile q of the observations between two cumulative bucket vectors (linear inside a bucket, as Prometheus does). */
function quantile(q, le, before, after) {
  const n = after.length;
  const d = after.map((c, i) => c - (before[i] ?? 0));
  const total = d[n - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < n; i++) {
    if (d[i] >= rank) {
      if (i >= le.length) return le[le.length - 1];
      const lower = i === 0 ? 0 : le[i - 1];
      const below = i === 0 ? 0 : d[i - 1];
      const inBucket = d[i] - below;
      return inBucket > 0 ? lower + (le[i] - lower) * ((rank - below) / inBucket) : le[i];
    }
  }
  return null;
}

/** Per-second values between consecutive good snapshots; null where a poll failed. */
function derive() {
  const times = [];
  const ratio = new Map();
  const raw = [];
  const stored = [];
  const burstsRaw = [];
  const burstsRead = [];
  const burstsWritten = [];
  const lat = { 'p50 write': [], 'p99 write': [], 'p50 read': [], 'p99 read': [] };
  let regions = [];
  let lanes = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1];
    const b = history[i];
    const idx = times.length;
    times.push(b.time);
    const good = a.ok && b.ok;
    const dt = good ? (b.snap.time - a.snap.time) / 1000 : 0;
    if (b.ok) {
      // The ratio held is a state, not a rate: plotted as it is at each poll.
      for (const r of b.snap.regions) {
        if (!ratio.has(r.region)) ratio.set(r.region, []);
        ratio.get(r.region)[idx] = r.heldStored > 0 ? r.heldRaw / r.heldStored : null;
      }
    }
    let rawSum = 0;
    let storedSum = 0;
    if (good && dt > 0) {
      const prev = new Map(a.snap.regions.map((r) => [r.region, r]));
      regions = b.snap.regions.map((r) => {
        const p = prev.get(r.region);
        // A region new since the last poll moved everything it counts in this second.
        const dRaw = sum(r.raw) - (p ? sum(p.raw) : 0);
        const dStored = sum(r.stored) - (p ? sum(p.stored) : 0);
        rawSum += dRaw;
        storedSum += dStored;
        return { ...r, rawBps: dRaw / dt, storedBps: dStored / dt };
      });
      const prevLanes = new Map(a.snap.lanes.map((l) => [l.lane, l]));
      lanes = b.snap.lanes.map((l) => ({ ...l, busy: Math.min(1, Math.max(0, (l.busySeconds - (prevLanes.get(l.lane)?.busySeconds ?? 0)) / dt)) }));
      const { le, ops } = b.snap.latency;
      for (const op of ['write', 'read']) {
        lat[`p50 ${op}`][idx] = quantile(0.5, le, a.snap.latency.ops[op] ?? [], ops[op] ?? []);
        lat[`p99 ${op}`][idx] = quantile(0.99, le, a.snap.latency.ops[op] ?? [], ops[op] ?? []);
      }
    } else if (b.ok) {
      regions = b.snap.regions.map((r) => ({ ...r, rawBps: null, storedBps: null }));
      lanes = b.snap.lanes.map((l) => ({ ...l, busy: null }));
    }
    raw[idx] = good && dt > 0 ? rawSum / dt : null;
    stored[idx] = good && dt > 0 ? storedSum / dt : null;
    // Daemon-wide counters (freed regions included), so no per-region sum.
    const rate = (f) => (good && dt > 0 ? (b.snap.totals[f] - a.snap.totals[f]) / dt : null);
    burstsRaw[idx] = rate('rawBursts');
    burstsRead[idx] = rate('dramReadBursts');
    burstsWritten[idx] = rate('dramWriteBursts');
  }
  const fill = (arr) => Array.from({ length: times.length }, (_, i) => arr[i] ?? null);
  const live = new Set(regions.map((r) => r.region));
  return {
    times,
    // Freed regions leave the chart with the table.
    ratio: [...ratio].filter(([region]) => live.has(region)).map(([region, v]) => ({ name: region, color: colorOf(region), values: fill(v) })),
    bandwidth: [
      { name: 'raw', color: '#2f6fde', values: fill(raw) },
      { name: 'stored', color: '#e8743b', dash: true, values: fill(stored) },
    ],
    dram: [
      { name: 'raw bursts', color: '#2f6fde', values: fill(burstsRaw) },
      { name: 'DRAM read', color: '#e8743b', dash: true, values: fill(burstsRead) },
      { name: 'DRAM written', color: '#945ecf', dash: true, values: fill(burstsWritten) },
    ],
    latency: Object.entries(lat).map(([name, v]) => ({
      name,
      color: name.endsWith('write') ? '#945ecf' : '#19a979',
      dash: name.startsWith('p50'),
      values: fill(v),
    })),
    regions,
    lanes,
  };
}

function rows(selector, items, cells, key) {
  const body = document.querySelector(`${selector} tbody`);
  body.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement('tr');
      tr.dataset.key = String(key(item));
      for (const text of cells(item)) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  return body;
}

function renderRegions(regions) {
  const rate = (v) => (v === null ? '–' : fmtBytesPerSec(v));
  const body = rows(
    '#regions',
    regions,
    (r) => [r.region, r.kind, r.codec, fmtBytes(r.heldRaw), fmtBytes(r.heldStored), r.heldStored > 0 ? fmtRatio(r.heldRaw / r.heldStored) : '–', rate(r.rawBps), rate(r.storedBps)],
    (r) => r.region,
  );
  for (const tr of body.children) {
    const swatch = document.createElement('i');
    swatch.style.cssText = `display:inline-block;width:8px;height:8px;border-radius:4px;margin-right:6px;background:${colorOf(tr.dataset.key)}`;
    tr.firstChild.prepend(swatch);
  }
}

function renderLanes(lanes) {
  rows('#lanes', lanes, (l) => [String(l.lane), fmtCount(l.depth), l.busy === null ? '–' : `${(l.busy * 100).toFixed(0)}%`, fmtCount(l.restarts)], (l) => l.lane);
}

/** Joules with an SI prefix. */
function fmtJoules(j) {
  const a = Math.abs(j);
  const [div, unit] = a >= 1 ? [1, 'J'] : a >= 1e-3 ? [1e-3, 'mJ'] : a >= 1e-6 ? [1e-6, 'µJ'] : a >= 1e-9 ? [1e-9, 'nJ'] : [1e-12, 'pJ'];
  return j === 0 ? '0 J' : `${(j / div).toPrecision(3)} ${unit}`;
}

function renderShadow(list) {
  document.getElementById('shadow-card').hidden = list.length === 0;
  rows('#shadow', list, (s) => [s.codec, fmtBytes(s.sampledRaw), fmtBytes(s.sampledStored), s.sampledStored > 0 ? fmtRatio(s.sampledRaw / s.sampledStored) : '–', fmtBytes(s.estimatedStored)], (s) => s.codec);
}

function renderEnergy(t, memory) {
  const set = (id, text) => (document.getElementById(id).textContent = text);
  set('energy-raw', fmtJoules(t.rawJoules));
  set('energy-stored', fmtJoules(t.storedJoules));
  set('energy-saved', fmtJoules(t.rawJoules - t.storedJoules));
  set('time-raw', fmtSeconds(t.rawTransferSeconds));
  set('time-stored', fmtSeconds(t.storedTransferSeconds));
  set('time-saved', fmtSeconds(t.rawTransferSeconds - t.storedTransferSeconds));
  set('memory-model', memory ? `${memory.name}: ${memory.pjPerBit} pJ/bit, ${memory.gbps} GB/s` : 'no memory model');
}

function renderTotals(t) {
  const set = (id, text) => (document.getElementById(id).textContent = text);
  set('held-raw', fmtBytes(t.heldRaw));
  set('held-stored', fmtBytes(t.heldStored));
  set('held-ratio', t.heldStored > 0 ? fmtRatio(t.heldRaw / t.heldStored) : '–');
  set('moved-raw', fmtBytes(t.rawBytes));
  set('moved-stored', fmtBytes(t.storedBytes));
  set('bursts-raw', fmtCount(t.rawBursts));
  set('bursts-stored', fmtCount(t.storedBursts));
  set('bursts-share', t.rawBursts > 0 ? `${fmtRatio(t.storedBursts / t.rawBursts)} the raw bursts` : '–');
  set('bursts-read', fmtCount(t.dramReadBursts));
  set('bursts-written', fmtCount(t.dramWriteBursts));
}

function render() {
  const d = derive();
  const charts = [
    ['ratio', d.ratio, fmtRatio, 0.01],
    ['bandwidth', d.bandwidth, fmtBytesPerSec, 1],
    ['dram', d.dram, fmtRate, 1],
    ['latency', d.latency, fmtSeconds, 1e-6],
  ];
  for (const [id, series, format, minStep] of charts) {
    drawChart(document.getElementById(`chart-${id}`), { times: d.times, series, format, minStep, windowMs: WINDOW_MS });
    drawLegend(document.getElementById(`legend-${id}`), series);
  }
  renderRegions(d.regions);
  renderLanes(d.lanes);
  const last = history[history.length - 1];
  const summary = document.getElementById('summary');
  if (!last?.ok) summary.textContent = 'daemon unreachable, retrying…';
  else {
    const s = last.snap;
    renderTotals(s.totals);
    renderEnergy(s.totals, s.memory);
    renderShadow(s.shadow ?? []);
    const held = s.totals.heldStored > 0 ? fmtRatio(s.totals.heldRaw / s.totals.heldStored) : '–';
    summary.textContent = `${s.regionCount} regions · ${s.connections} connections · ${s.inflight} in flight · ${fmtBytes(s.totals.heldRaw)} held in ${fmtBytes(s.totals.heldStored)} (ratio ${held}) · ${s.lanes.length} lanes`;
  }
  document.getElementById('clock').textContent = new Date().toLocaleTimeString();
}

async function poll() {
  const time = Date.now();
  try {
    const res = await fetch('/status.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    history.push({ time, ok: true, snap: await res.json() });
  } catch {
    history.push({ time, ok: false });
  }
  while (history.length > 1 && history[0].time < time - WINDOW_MS) history.shift();
  render();
}

poll();
setInterval(poll, POLL_MS);
window.addEventListener('resize', render);
