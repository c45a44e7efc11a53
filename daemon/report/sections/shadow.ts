import { COLORS, absentSection, chartSlot, esc, int, pct, table, type ChartSpec, type SectionOutput } from '../html.ts';
import type { ReportData, ShadowData, ShadowFigures } from '../types.ts';

const TITLE = 'Footprint per codec (shadow coding)';

/** Stored ÷ raw bytes of the sampled blocks, per codec: over all regions and per region kind. */
export function shadowSection(d: ReportData): SectionOutput {
  if (d.shadow.state === 'absent') return absentSection('shadow', TITLE, d.shadow.why);
  const s: ShadowData = d.shadow.data;
  const kinds = [...new Set(s.regions.map((r) => r.kind))];
  const footprint = (codec: string, kind?: string): number | null => {
    let raw = 0;
    let stored = 0;
    for (const r of s.regions) {
      if (kind !== undefined && r.kind !== kind) continue;
      const c = r.byCodec[codec];
      if (!c || c.status !== 'ok') continue;
      raw += c.rawBytes;
      stored += c.storedBytes;
    }
    return raw > 0 ? Number((stored / raw).toFixed(4)) : null;
  };
  const groups = ['all regions', ...kinds];
  const chart: ChartSpec = {
    id: 'shadow',
    type: 'bar',
    labels: groups,
    datasets: s.codecs.map((c, i) => ({ label: c, data: groups.map((g, gi) => footprint(c, gi === 0 ? undefined : g)), color: COLORS.codec[c] ?? COLORS.series[i % COLORS.series.length] })),
    valueFormat: 'percent',
    valueTitle: 'stored ÷ raw bytes',
    reference: { value: 1, label: 'raw' },
    height: 300,
  };
  const cell = (f: ShadowFigures | undefined): string => {
    if (!f) return '–';
    if (f.status !== 'ok') return `<span class="muted" title="${esc(f.reason ?? '')}">${esc(f.status)}</span>`;
    return f.rawBytes > 0 ? pct(f.storedBytes / f.rawBytes) : '–';
  };
  const rows = s.regions.map((r) => [esc(r.name), esc(r.kind), esc(r.codec), ...s.codecs.map((c) => cell(r.byCodec[c]))]);
  const html = `<section class="card" id="shadow">
<h2>${esc(TITLE)}</h2>
<p class="lead">What each codec would have stored for the same blocks: the lanes also coded ${s.sample === 1 ? 'every block' : `one block in ${esc(int(s.sample))}`} with every codec below, changing nothing that is stored
(payload bytes; a block that does not shrink counts raw). Lower is better. A codec that cannot code a region (pending calibration, or skipped) is left out of its sums.</p>
${chartSlot(chart, 'Stored ÷ raw bytes per codec, over all sampled blocks and per region kind')}
<details><summary>Per-region footprints</summary>
${table('shadow-table', ['region', 'kind', 'stored as', ...s.codecs], rows, 3)}
</details>
</section>`;
  return { html, charts: [chart] };
}
