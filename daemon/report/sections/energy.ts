import { COLORS, absentSection, chartSlot, esc, pct, si, table, type ChartSpec, type SectionOutput } from '../html.ts';
import type { ReportData } from '../types.ts';

const TITLE = 'DRAM energy and transfer time per memory type';

/** Energy and time of the raw and the shimmed traffic on each chosen memory type. */
export function energySection(d: ReportData): SectionOutput {
  if (d.energy.state === 'absent') return absentSection('energy', TITLE, d.energy.why);
  const { rows, codecTimeS, codecClockMhz } = d.energy.data;
  const labels = rows.map((r) => r.memory);
  const energy: ChartSpec = {
    id: 'energy',
    type: 'bar',
    labels,
    datasets: [
      { label: 'raw', data: rows.map((r) => r.raw.energyJ), color: COLORS.raw },
      { label: 'behind the shim', data: rows.map((r) => r.dram.energyJ), color: COLORS.read },
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
    saved(r.raw.energyJ, r.dram.energyJ),
    si(r.raw.timeS, 's'),
    si(r.dram.timeS, 's'),
    saved(r.raw.timeS, r.dram.timeS),
    r.estimate ? 'estimate' : 'cited',
  ]);
  const sources = rows.map((r) => `<li><b>${esc(r.memory)}</b>: ${esc(r.source ?? 'no source given')}</li>`).join('');
  const html = `<section class="card" id="energy">
<h2>${esc(TITLE)}</h2>
<p class="lead">A first-order model (docs/energy.md): bits moved times energy per bit, and bytes moved over peak bandwidth, for the raw bursts and for the bursts behind the shim.
Activation, refresh and background energy are not in it (the DRAMsim3 section has them, when run).
The codec engines worked ${esc(si(codecTimeS, 's'))} (engine-seconds, one engine per lane at ${esc(codecClockMhz)} MHz); their energy is not modelled.</p>
<div class="pair">${chartSlot(energy, 'Energy of the replayed traffic')}${chartSlot(time, 'Transfer time of the replayed traffic')}</div>
${table('energy-table', ['memory', 'energy/bit', 'bandwidth', 'raw energy', 'shim energy', 'energy saved', 'raw time', 'shim time', 'time saved', 'figures'], body, 1)}
<details><summary>Where the figures come from</summary><ul class="sources">${sources}</ul></details>
</section>`;
  return { html, charts: [energy, time] };
}
