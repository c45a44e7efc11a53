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
  ], { w: 6 });
  l.stat('Storage compression ratio', 'Raw / stored bytes of the blocks the region holds now (its stats ratio), whatever the access sizes.', 'suffix:×', [
    { expr: `sum(shimpack_region_raw_bytes{${SEL}}) / sum(shimpack_region_stored_bytes{${SEL}})` },
  ], { w: 3, decimals: 2 });
  l.stat('Write traffic ratio', 'Raw / stored bytes moved by the writes; below 1 when writes smaller than a block rewrite whole stored blocks.', 'suffix:×', [
    { expr: `sum(${rate('shimpack_raw_bytes_total', ',op="write"')}) / sum(${rate('shimpack_stored_bytes_total', ',op="write"')})` },
  ], { w: 3, decimals: 2 });
  l.stat('Read traffic ratio', 'Raw / stored bytes moved by the reads; below 1 when reads smaller than a block fetch whole stored blocks.', 'suffix:×', [
    { expr: `sum(${rate('shimpack_raw_bytes_total', ',op="read"')}) / sum(${rate('shimpack_stored_bytes_total', ',op="read"')})` },
  ], { w: 3, decimals: 2 });
  l.stat('DRAM bursts saved', '1 - stored/raw bursts of this region.', 'percentunit', [
    { expr: `1 - sum(${rate('shimpack_stored_bursts_total')}) / sum(${rate('shimpack_raw_bursts_total')})` },
  ], { w: 3 });
  l.stat('Block writes stored raw', 'Share of the block writes kept raw because coding did not shrink them.', 'percentunit', [
    { expr: `sum(${rate('shimpack_raw_fallback_blocks_total')}) / sum(${rate('shimpack_block_writes_total')})` },
  ], { w: 3 });
  l.stat('Bytes held', 'Stored bytes the region takes now.', 'bytes', [{ expr: `sum(shimpack_region_stored_bytes{${SEL}})` }], { w: 3 });

  l.timeseries('Raw vs stored bandwidth by op', 'Uncompressed bytes the clients moved against the coded bytes the backend moved.', 'Bps', [
    { expr: `sum by (op) (${rate('shimpack_raw_bytes_total')})`, legend: 'raw {{op}}' },
    { expr: `sum by (op) (${rate('shimpack_stored_bytes_total')})`, legend: 'stored {{op}}' },
  ], { min: 0 });
  l.timeseries('Compression ratio: storage and traffic', 'Storage: raw / stored bytes the region holds. Traffic, per op: raw / stored bytes moved, equal to the storage ratio for whole-block accesses and below it (even below 1) for accesses smaller than a block, which move whole stored blocks.', 'suffix:×', [
    { expr: `sum(shimpack_region_raw_bytes{${SEL}}) / sum(shimpack_region_stored_bytes{${SEL}})`, legend: 'storage' },
    { expr: `sum by (op) (${rate('shimpack_raw_bytes_total')}) / sum by (op) (${rate('shimpack_stored_bytes_total')})`, legend: 'traffic {{op}}' },
  ]);
  l.timeseries('DRAM bursts, raw vs stored', 'Bursts per second the accesses would take uncompressed and the bursts they take on stored blocks.', 'cps', [
    { expr: `sum by (op) (${rate('shimpack_raw_bursts_total')})`, legend: 'raw {{op}}' },
    { expr: `sum by (op) (${rate('shimpack_stored_bursts_total')})`, legend: 'stored {{op}}' },
  ], { min: 0 });
  l.timeseries('Bytes saved per second', 'Raw minus stored bytes per second: backend bandwidth the codec saves.', 'Bps', [
    { expr: `sum by (op) (${rate('shimpack_raw_bytes_total')}) - sum by (op) (${rate('shimpack_stored_bytes_total')})`, legend: '{{op}}' },
  ]);

  l.timeseries('DRAM power, raw vs stored', 'Joules per second (watts) of this region\'s DRAM traffic under the memory model (--memory): raw bursts against the bursts the shim moves.', 'watt', [
    { expr: `sum by (traffic) (${rate('shimpack_dram_energy_joules_total')})`, legend: '{{traffic}}' },
  ], { min: 0 });
  l.timeseries('DRAM energy saved', 'Joules saved so far: raw minus stored DRAM energy of this region (negative when compression costs traffic).', 'joule', [
    { expr: `sum(shimpack_dram_energy_joules_total{${SEL},traffic="raw"}) - sum(shimpack_dram_energy_joules_total{${SEL},traffic="stored"})`, legend: 'saved' },
  ]);
  l.timeseries('DRAM transfer time, raw vs stored', 'Transfer seconds so far at the memory model\'s peak bandwidth, raw against stored traffic.', 's', [
    { expr: `sum by (traffic) (shimpack_dram_transfer_seconds_total{${SEL}})`, legend: '{{traffic}}' },
  ], { min: 0 });
  l.bargauge('Shadow codecs: what each would store', 'With --shadow: the region\'s held bytes as each shadow codec would store them (estimated from its sampled blocks), beside what the region\'s codec stores.', 'bytes', [
    { expr: `sum by (shadow) (shimpack_shadow_estimated_stored_bytes{${SEL}})`, legend: '{{shadow}}' },
    { expr: `sum(shimpack_region_stored_bytes{${SEL}})`, legend: 'stored (own codec)' },
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
