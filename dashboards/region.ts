import { Layout, dashboard, labelValuesVariable, type Dashboard } from './grafana-model.ts';

const SEL = 'region="$region"';
const RATE = '[$__rate_interval]';

function rate(metric: string, extra = ''): string {
  return `rate(${metric}{${SEL}${extra}}${RATE})`;
}

/** One region in detail: what it stores, how well, in which direction. */
export function regionDashboard(): Dashboard {
  const l = new Layout();

  l.row('Region $region');
  l.stat('Raw bytes moved', 'Uncompressed bytes written and read since the daemon started, with the region\'s codec and kind.', 'bytes', [
    { expr: `sum by (codec, kind, op) (shimpack_raw_bytes_total{${SEL}})`, legend: '{{codec}} · {{kind}} · {{op}}' },
  ], { w: 8 });
  l.stat('Write compression ratio', 'Raw / stored bytes of the writes (newly coded data).', 'suffix:×', [
    { expr: `sum(${rate('shimpack_raw_bytes_total', ',op="write"')}) / sum(${rate('shimpack_stored_bytes_total', ',op="write"')})` },
  ], { w: 4, decimals: 2 });
  l.stat('Read compression ratio', 'Raw / stored bytes of the reads.', 'suffix:×', [
    { expr: `sum(${rate('shimpack_raw_bytes_total', ',op="read"')}) / sum(${rate('shimpack_stored_bytes_total', ',op="read"')})` },
  ], { w: 4, decimals: 2 });
  l.stat('DRAM bursts saved', '1 - stored/raw bursts of this region.', 'percentunit', [
    { expr: `1 - sum(${rate('shimpack_stored_bursts_total')}) / sum(${rate('shimpack_raw_bursts_total')})` },
  ], { w: 4 });
  l.stat('Block writes stored raw', 'Block writes per second kept raw because coding did not shrink them.', 'cps', [
    // No series until a block falls back; show 0 rather than "No data".
    { expr: `sum(${rate('shimpack_raw_fallback_blocks_total')}) or vector(0)` },
  ], { w: 4 });

  l.timeseries('Raw vs stored bandwidth by op', 'Uncompressed bytes the clients moved against the coded bytes the backend moved.', 'Bps', [
    { expr: `sum by (op) (${rate('shimpack_raw_bytes_total')})`, legend: 'raw {{op}}' },
    { expr: `sum by (op) (${rate('shimpack_stored_bytes_total')})`, legend: 'stored {{op}}' },
  ], { min: 0 });
  l.timeseries('Compression ratio by op', 'Raw / stored bytes over time.', 'suffix:×', [
    { expr: `sum by (op) (${rate('shimpack_raw_bytes_total')}) / sum by (op) (${rate('shimpack_stored_bytes_total')})`, legend: '{{op}}' },
  ]);
  l.timeseries('DRAM bursts, raw vs stored', 'Bursts per second the accesses would take uncompressed and the bursts they take on stored blocks.', 'cps', [
    { expr: `sum by (op) (${rate('shimpack_raw_bursts_total')})`, legend: 'raw {{op}}' },
    { expr: `sum by (op) (${rate('shimpack_stored_bursts_total')})`, legend: 'stored {{op}}' },
  ], { min: 0 });
  l.timeseries('Bytes saved per second', 'Raw minus stored bytes per second: backend bandwidth the codec saves.', 'Bps', [
    { expr: `sum by (op) (${rate('shimpack_raw_bytes_total')}) - sum by (op) (${rate('shimpack_stored_bytes_total')})`, legend: '{{op}}' },
  ]);

  return dashboard({
    uid: 'shimpack-region',
    title: 'shimpack region drill-down',
    description: 'One shimpack region: its ratio per direction, bandwidth, DRAM bursts and raw-stored blocks.',
    variables: [labelValuesVariable('region', 'Region', 'shimpack_raw_bytes_total', { multi: false })],
    panels: l.panels,
    links: [{ title: 'shimpack dashboards', type: 'dashboards', tags: ['shimpack'], asDropdown: true, includeVars: false, keepTime: true, icon: 'external link', targetBlank: false }],
  });
}
