import { COLORS, absentSection, bytes, chartSlot, esc, int, pct, ratio, table, type ChartSpec, type SectionOutput } from '../html.ts';
import type { ReportData } from '../types.ts';

const TITLE = 'Block size and line-buffer sweep';

/** Largest over smallest positive value. */
function spread(values: readonly number[]): number {
  const pos = values.filter((v) => v > 0);
  return pos.length === 0 ? 1 : Math.max(...pos) / Math.min(...pos);
}

/** DRAM traffic and footprint per block size, one line per line-buffer size (bench traffic's sweep). */
export function sweepSection(d: ReportData): SectionOutput {
  if (d.sweep.state === 'absent') return absentSection('sweep', TITLE, d.sweep.why);
  const rows = d.sweep.data;
  const blocks = [...new Set(rows.map((r) => r.blockBytes))].sort((a, b) => a - b);
  const buffers = [...new Set(rows.map((r) => r.lineBufferBytes))].sort((a, b) => a - b);
  const at = (b: number, l: number): (typeof rows)[number] | undefined => rows.find((r) => r.blockBytes === b && r.lineBufferBytes === l);
  const traffic: ChartSpec = {
    id: 'sweep-traffic',
    type: 'line',
    labels: blocks.map((b) => `${bytes(b)}`),
    datasets: buffers.map((l, i) => ({
      label: `buffer ${bytes(l)}/lane`,
      data: blocks.map((b) => {
        const r = at(b, l);
        return r && r.burstsRaw > 0 ? Number((r.burstsDram / r.burstsRaw).toFixed(4)) : null;
      }),
      color: COLORS.series[i % COLORS.series.length],
    })),
    valueFormat: 'ratio',
    valueTitle: 'DRAM bursts ÷ raw bursts',
    categoryTitle: 'block size',
    // Without a buffer, scattered accesses to big blocks cost tens of times the raw bursts: a log axis keeps the rest readable.
    logScale: spread(rows.map((r) => (r.burstsRaw > 0 ? r.burstsDram / r.burstsRaw : 1))) > 10,
    reference: { value: 1, label: 'as many as raw' },
    height: 280,
  };
  // The footprint depends on the block size only; the smallest buffer's run gives it.
  const footprint: ChartSpec = {
    id: 'sweep-footprint',
    type: 'line',
    labels: traffic.labels,
    datasets: [{ label: 'footprint', data: blocks.map((b) => at(b, buffers[0])?.footprint ?? null), color: COLORS.weight }],
    valueFormat: 'percent',
    valueTitle: 'stored ÷ raw bytes held',
    categoryTitle: 'block size',
    height: 280,
  };
  const body = rows.map((r) => [
    esc(bytes(r.blockBytes)),
    esc(bytes(r.lineBufferBytes)),
    int(r.burstsRaw),
    int(r.burstsDram),
    ratio(r.burstsRaw > 0 ? r.burstsDram / r.burstsRaw : 1),
    int(r.metadataBursts),
    pct(r.footprint),
    int(r.fills),
    int(r.writeBacks),
  ]);
  const html = `<section class="card" id="sweep">
<h2>${esc(TITLE)}</h2>
<p class="lead">The trace replayed once per block size and line-buffer size, each through a fresh daemon (the same runs as <code>shimpack bench traffic</code>).
Larger blocks compress better but a scattered access fetches a whole block; larger buffers keep blocks on chip between accesses.</p>
<div class="pair">${chartSlot(traffic, 'DRAM ÷ raw bursts per block size')}${chartSlot(footprint, 'Footprint per block size')}</div>
${table('sweep-table', ['block', 'buffer/lane', 'raw bursts', 'DRAM bursts', 'DRAM ÷ raw', 'metadata', 'footprint', 'fills', 'write-backs'], body, 2)}
</section>`;
  return { html, charts: [traffic, footprint] };
}
