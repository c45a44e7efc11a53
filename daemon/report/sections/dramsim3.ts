import { COLORS, absentSection, chartSlot, esc, int, pct, si, table, type ChartSpec, type SectionOutput } from '../html.ts';
import type { ReportData } from '../types.ts';

const TITLE = 'DRAMsim3: the raw and the compressed request streams';
const PARTS = ['read', 'write', 'activate', 'refresh', 'background'] as const;

/** Energy by component for both streams on each configuration, with bandwidth and the fixed share in a table. */
export function dramsimSection(d: ReportData): SectionOutput {
  if (d.dramsim3.state === 'absent') return absentSection('dramsim3', TITLE, d.dramsim3.why);
  const { configs, rawBursts, compressedBursts } = d.dramsim3.data;
  const labels = configs.flatMap((r) => [`${r.config} raw`, `${r.config} compressed`]);
  const energy: ChartSpec = {
    id: 'dramsim3-energy',
    type: 'bar',
    labels,
    datasets: PARTS.map((p, i) => ({
      label: p,
      data: configs.flatMap((r) => [r.raw.energyPj[p] * 1e-12, r.compressed.energyPj[p] * 1e-12]),
      color: [COLORS.read, COLORS.write, COLORS.activation, COLORS.weight, COLORS.raw][i],
      stack: 'energy',
    })),
    valueFormat: 'joule',
    valueTitle: 'DRAMsim3 energy',
    height: 320,
  };
  const less = (raw: number, c: number): string => (raw > 0 ? pct(1 - c / raw) : '–');
  const body = configs.flatMap((r) =>
    (['raw', 'compressed'] as const).map((which) => {
      const x = r[which];
      const rw = x.energyPj.read + x.energyPj.write;
      const rawRw = r.raw.energyPj.read + r.raw.energyPj.write;
      return [
        esc(r.config),
        which,
        int(x.cycles),
        esc(`${x.bandwidthGBps.toFixed(2)} GB/s`),
        ...PARTS.map((p) => si(x.energyPj[p] * 1e-12, 'J')),
        si(x.energyPj.total * 1e-12, 'J'),
        pct(x.fixedEnergyShare),
        which === 'raw' ? '' : less(rawRw, rw),
        which === 'raw' ? '' : less(r.raw.energyPj.total, x.energyPj.total),
      ];
    }),
  );
  const html = `<section class="card" id="dramsim3">
<h2>${esc(TITLE)}</h2>
<p class="lead">The request stream that reaches DRAM without compression (codec raw: ${esc(int(rawBursts))} bursts) and behind the shim (${esc(int(compressedBursts))} bursts,
${esc(rawBursts > 0 ? pct(compressedBursts / rawBursts) : '–')} of raw), simulated in DRAMsim3 until each stream was served (cycles).
Refresh and background energy are paid per cycle whatever the traffic: the fixed share says how much of the total they are.</p>
${chartSlot(energy, 'DRAMsim3 energy by component, raw and compressed, per configuration')}
${table('dramsim3-table', ['config', 'stream', 'cycles', 'bandwidth', 'read', 'write', 'activate', 'refresh', 'background', 'total', 'fixed share', 'read+write saved', 'total saved'], body, 2)}
</section>`;
  return { html, charts: [energy] };
}
