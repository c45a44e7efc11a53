import type { ReportAssets } from './assets.ts';
import { bytes, esc, int, pct, ratio, scriptJson, type SectionOutput } from './html.ts';
import { dramsimSection } from './sections/dramsim3.ts';
import { energySection } from './sections/energy.ts';
import { shadowSection } from './sections/shadow.ts';
import { sweepSection } from './sections/sweep.ts';
import { trafficSection } from './sections/traffic.ts';
import type { ReportData } from './types.ts';

/**
 * The report as one HTML document: every text from the data escaped, the
 * plotting library, the page script and the chart specs inlined, nothing
 * fetched when it opens.
 */
export function renderReport(d: ReportData, assets: ReportAssets): string {
  const sections: SectionOutput[] = [trafficSection(d), shadowSection(d), energySection(d), sweepSection(d), dramsimSection(d)];
  const charts = sections.flatMap((s) => s.charts);
  const t = d.totals;
  const dram = t.dramReadBursts + t.dramWriteBursts;
  const kpi = (id: string, value: string, label: string): string => `<div class="kpi" id="kpi-${id}"><b>${value}</b><span>${esc(label)}</span></div>`;
  const tr = d.trace;
  const about = [
    tr.model ? `model ${tr.model}` : undefined,
    tr.source ? `made by ${tr.source}` : undefined,
    `${int(tr.ops)} operations`,
    `${bytes(tr.writeBytes)} written, ${bytes(tr.readBytes)} read`,
    d.settings.codec ? `every region as ${d.settings.codec}` : 'codecs as the trace declares them (else the daemon\'s choice by kind)',
  ].filter((x): x is string => x !== undefined);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="shimpack ${esc(d.shimpackVersion)}">
<title>${esc(d.title)}</title>
<style>${assets.style}</style>
</head>
<body>
<header>
<h1>${esc(d.title)}</h1>
<p class="sub">Trace <code>${esc(tr.path)}</code> (${esc(bytes(tr.fileBytes))}): ${esc(about.join(' · '))}.</p>
</header>
<div class="kpis">
${kpi('dram-share', ratio(t.burstsRaw > 0 ? dram / t.burstsRaw : 1), 'DRAM bursts ÷ raw bursts')}
${kpi('bursts', `${int(dram)} <small>of ${int(t.burstsRaw)}</small>`, 'DRAM bursts, of raw bursts')}
${kpi('footprint', pct(t.footprint), 'footprint: stored ÷ raw bytes held')}
${kpi('buffers', `${int(t.fills)} / ${int(t.writeBacks)}`, 'line-buffer fills / write-backs')}
${kpi('verified', `${int(t.verifiedReads)} <small>of ${int(t.reads)}</small>`, 'reads verified against the trace')}
</div>
<main>
${sections.map((s) => s.html).join('\n')}
</main>
<footer>Made by shimpack ${esc(d.shimpackVersion)} on ${esc(d.generatedAt)}: block ${esc(d.settings.blockBytes)} B, line buffer ${esc(bytes(d.settings.lineBufferBytes))} per lane, ${esc(d.settings.lanes)} lanes, bursts of ${esc(tr.burstBytes)} B. Charts drawn with Chart.js, inlined (MIT licence, in the page source).</footer>
<!--
${assets.licences.replace(/--/g, '- -')}
-->
<script>${assets.chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script type="application/json" id="report-charts">${scriptJson(charts)}</script>
<script>${assets.script}</script>
</body>
</html>
`;
}
