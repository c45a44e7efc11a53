import { COLORS, bytes, chartSlot, esc, int, ratio, table, type ChartSpec, type SectionOutput } from '../html.ts';
import type { ReportData } from '../types.ts';

const dram = (r: { dramReadBursts: number; dramWriteBursts: number }): number => r.dramReadBursts + r.dramWriteBursts;
const share = (d: number, raw: number): number => (raw > 0 ? d / raw : 1);

/**
 * Raw against DRAM bursts: stacked per layer (what each layer costs the
 * memory), and the DRAM share per region (which tensors compress), with the
 * full numbers in a table.
 */
export function trafficSection(d: ReportData): SectionOutput {
  const layers: ChartSpec = {
    id: 'layers',
    type: 'bar',
    labels: d.layers.map((l) => l.layer),
    datasets: [
      { label: 'raw bursts (no shim)', data: d.layers.map((l) => l.burstsRaw), color: COLORS.raw, stack: 'raw' },
      { label: 'DRAM read', data: d.layers.map((l) => l.dramReadBursts), color: COLORS.read, stack: 'dram' },
      { label: 'DRAM written', data: d.layers.map((l) => l.dramWriteBursts), color: COLORS.write, stack: 'dram' },
    ],
    valueFormat: 'int',
    valueTitle: `bursts of ${d.trace.burstBytes} B`,
    categoryTitle: 'layer',
    height: 320,
  };
  const regions: ChartSpec = {
    id: 'regions',
    type: 'bar',
    labels: d.regions.map((r) => r.name),
    datasets: [
      {
        label: 'DRAM ÷ raw bursts',
        data: d.regions.map((r) => Number(share(dram(r), r.burstsRaw).toFixed(4))),
        color: COLORS.read,
        colors: d.regions.map((r) => COLORS[r.kind]),
      },
    ],
    valueFormat: 'ratio',
    valueTitle: 'DRAM bursts ÷ raw bursts',
    horizontal: true,
    reference: { value: 1, label: 'as many as raw' },
    height: Math.max(160, 60 + 18 * d.regions.length),
  };
  const rows = d.regions.map((r) => [
    esc(r.name),
    esc(r.kind),
    esc(r.codec),
    esc(r.dtype),
    bytes(r.sizeBytes),
    int(r.burstsRaw),
    int(r.dramReadBursts),
    int(r.dramWriteBursts),
    int(r.metadataBursts),
    ratio(share(dram(r), r.burstsRaw)),
    r.storedBytesHeld > 0 ? ratio(r.rawBytesHeld / r.storedBytesHeld) : '–',
  ]);
  const t = d.totals;
  rows.push(['<b>all regions</b>', '', '', '', '', int(t.burstsRaw), int(t.dramReadBursts), int(t.dramWriteBursts), int(t.metadataBursts), ratio(share(dram(t), t.burstsRaw)), '']);
  const kinds = [...new Set(d.regions.map((r) => r.kind))];
  const html = `<section class="card" id="traffic">
<h2>DRAM traffic per layer and region</h2>
<p class="lead">Bursts the accelerator moved (raw: what DRAM moves without the shim) against the bursts DRAM moved behind the shim:
compressed-block fills and raw-held bursts read, write-backs written, metadata lines in both. One replay of the trace through an embedded daemon
(block ${esc(d.settings.blockBytes)} B, line buffer ${esc(bytes(d.settings.lineBufferBytes))} per lane, written back only on completion, eviction or at the end).</p>
${d.freedRegions.length > 0 ? `<p class="note" id="freed">The trace freed ${esc(d.freedRegions.length)} region(s) before its end (${esc(d.freedRegions.slice(0, 5).join(', '))}${d.freedRegions.length > 5 ? ', …' : ''}): their traffic counts in the totals but not per layer or region.</p>` : ''}
${chartSlot(layers, 'Raw bursts beside DRAM bursts (read and written, stacked) per layer')}
${chartSlot(regions, 'DRAM bursts ÷ raw bursts per region; below the dashed line the shim saves traffic')}
<p class="legend">${kinds.map((k) => `<span><i style="background:${COLORS[k]}"></i>${esc(k)}</span>`).join('')}</p>
<details><summary>Per-region numbers</summary>
${table('regions-table', ['region', 'kind', 'codec', 'dtype', 'size', 'raw bursts', 'DRAM read', 'DRAM written', 'of them metadata', 'DRAM ÷ raw', 'ratio held'], rows, 4)}
</details>
</section>`;
  return { html, charts: [layers, regions] };
}
