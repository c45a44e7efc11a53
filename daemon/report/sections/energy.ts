import { COLORS, absentSection, chartSlot, esc, pct, si, table, type ChartSpec, type SectionOutput } from '../html.ts';
import type { ReportData } from '../types.ts';

const TITLE = 'DRAM energy and transfer time per memory type';

/** Energy and time of the raw and the shimmed traffic on each chosen memory type. */
export function energySection(d: ReportData): SectionOutput {
  if (d.energy.state === 'absent') return absentSection('energy', TITLE, d.energy.why);
  const rows = d.energy.data;
  const labels = rows.map((r) => r.memory);
  const energy: ChartSpec = {
    id: 'energy',
    type: 'bar',
    labels,
    datasets: [
      { label: 'raw', data: rows.map((r) => r.raw.energyJ), color: COLORS.raw },
      { label: 'behind the shim', data: rows.map((r) => r.dram.energyJ), color: COLORS.read },
      ...(rows.some((r) => r.codecEnergyJ !== undefined) ? [{ label: 'codec hardware', data: rows.map((r) => r.codecEnergyJ ?? null), color: COLORS.write }] : []),
    ],
    valueFormat: 'joule',
    valueTitle: 'DRAM interface energy',
    height: 280,
  };
  const time: ChartSpec = {
    id: 'time',
    type: 'bar',
    labels,
    datasets: [
      { label: 'raw', data: rows.map((r) => r.raw.timeS), color: COLORS.raw },
      { label: 'behind the shim', data: rows.map((r) => r.dram.timeS), color: COLORS.read },
    ],
    valueFormat: 'second',
    valueTitle: 'transfer time at peak bandwidth',
    height: 280,
  };
  const saved = (raw: number, shim: number): string => (raw > 0 ? pct(1 - shim / raw) : '–');
  const body = rows.map((r) => [
    esc(r.memory),
    esc(`${r.pjPerBit} pJ/bit`),
    esc(`${r.gbPerSecond} GB/s`),
    si(r.raw.energyJ, 'J'),
    si(r.dram.energyJ, 'J'),
    r.codecEnergyJ === undefined ? '–' : si(r.codecEnergyJ, 'J'),
    saved(r.raw.energyJ, r.dram.energyJ + (r.codecEnergyJ ?? 0)),
    si(r.raw.timeS, 's'),
    si(r.dram.timeS, 's'),
    saved(r.raw.timeS, r.dram.timeS),
    esc(r.source ?? ''),
  ]);
  const html = `<section class="card" id="energy">
<h2>${esc(TITLE)}</h2>
<p class="lead">A first-order model: bits moved times energy per bit, and bytes moved over peak bandwidth, for the raw traffic and for the traffic behind the shim (docs/report.md).</p>
<div class="pair">${chartSlot(energy, 'Energy of the replayed traffic')}${chartSlot(time, 'Transfer time of the replayed traffic')}</div>
${table('energy-table', ['memory', 'energy/bit', 'bandwidth', 'raw energy', 'shim energy', 'codec energy', 'energy saved', 'raw time', 'shim time', 'time saved', 'source'], body, 1)}
</section>`;
  return { html, charts: [energy, time] };
}
