import { Layout, dashboard, labelValuesVariable, type Dashboard } from './grafana-model.ts';

/** Series chosen by the dashboard's region and codec variables. */
const SEL = 'region=~"$region",codec=~"$codec"';
const RATE = '[$__rate_interval]';

function rate(metric: string, selector = SEL): string {
  return `rate(${metric}{${selector}}${RATE})`;
}

/** Traffic ratio: raw/stored bytes moved, grouped by `by` (the ratio is computed here, never averaged). */
function ratio(by: string, selector = SEL): string {
  const g = by ? `sum by (${by}) ` : 'sum ';
  return `${g}(${rate('shimpack_raw_bytes_total', selector)}) / ${g}(${rate('shimpack_stored_bytes_total', selector)})`;
}

/** Storage ratio: raw/stored bytes the live regions hold now (stats' ratio), grouped by `by`. */
function storageRatio(by: string, selector = SEL): string {
  const g = by ? `sum by (${by}) ` : 'sum ';
  return `${g}(shimpack_region_raw_bytes{${selector}}) / ${g}(shimpack_region_stored_bytes{${selector}})`;
}

const TRAFFIC_RATIO_MEANING =
  'Traffic ratio: raw bytes the clients moved / stored bytes the backend moved. Equal to the compression ratio for whole-block accesses; an access smaller than a block still moves (and a write rewrites) the whole stored block, so burst-sized traffic falls below 1 (that is the bandwidth the shim really costs there).';

/** The overview: bandwidth, ratio, bursts, latency, lanes, errors and memory of every daemon Prometheus scrapes. */
export function overviewDashboard(): Dashboard {
  const l = new Layout();

  l.row('Summary');
  l.stat('Compression ratio (storage)', 'Raw bytes of the blocks the selected live regions hold / the stored bytes they take: the storage compression ratio (stats ratio), whatever the access sizes.', 'suffix:×', [{ expr: storageRatio('') }], { w: 5, decimals: 2 });
  l.stat('Traffic ratio', TRAFFIC_RATIO_MEANING, 'suffix:×', [{ expr: ratio('') }], { w: 5, decimals: 2 });
  l.stat('Raw bandwidth', 'Uncompressed bytes per second the clients wrote and read.', 'Bps', [{ expr: `sum(${rate('shimpack_raw_bytes_total')})` }], { w: 5 });
  l.stat('Stored bandwidth', 'Coded block bytes per second moved to and from the backend.', 'Bps', [{ expr: `sum(${rate('shimpack_stored_bytes_total')})` }], { w: 5 });
  l.stat('DRAM bursts saved', 'Share of the bursts the clients moved that the DRAM behind the shim does not have to move (1 - DRAM/raw bursts; fills, write-backs and metadata included).', 'percentunit', [
    { expr: `1 - sum(${rate('shimpack_stored_bursts_total')}) / sum(${rate('shimpack_raw_bursts_total')})` },
  ], { w: 4 });

  l.row('DRAM traffic');
  l.timeseries('Raw vs DRAM bursts', 'Bursts per second the clients moved (raw) against the bursts the DRAM behind the shim moves: fills and raw-held bursts read, write-backs written, metadata lines (docs/daemon.md, "Line buffers").', 'cps', [
    { expr: `sum(${rate('shimpack_raw_bursts_total')})`, legend: 'raw (client)' },
    { expr: `sum by (op) (${rate('shimpack_stored_bursts_total')})`, legend: 'DRAM {{op}}' },
  ], { w: 12, min: 0 });
  l.timeseries('DRAM / raw bursts by region', 'DRAM bursts over the bursts the clients moved, per region: below 1 compression saves traffic, above 1 it costs traffic (scattered accesses each fetch a whole compressed block).', 'suffix:×', [
    { expr: `sum by (region) (${rate('shimpack_stored_bursts_total')}) / sum by (region) (${rate('shimpack_raw_bursts_total')})`, legend: '{{region}}' },
  ], { w: 12, min: 0 });
  l.timeseries('Line buffer events', 'Per second: block accesses that hit or missed a buffered block, fills of compressed blocks, write-backs, evictions, metadata lookups and metadata cache misses.', 'cps', [
    { expr: `sum by (event) (${rate('shimpack_line_buffer_events_total')})`, legend: '{{event}}' },
  ], { w: 12, min: 0 });
  l.timeseries('Line buffer hit rate', 'Share of block accesses that found their block in a line buffer.', 'percentunit', [
    { expr: `sum(${rate('shimpack_line_buffer_events_total', `${SEL},event="hit"`)}) / sum(${rate('shimpack_line_buffer_events_total', `${SEL},event=~"hit|miss"`)})`, legend: 'hit rate' },
  ], { w: 12, min: 0 });

  l.row('DRAM energy and time (first-order model, --memory)');
  l.stat('DRAM energy saved', 'Share of the traffic-proportional DRAM energy the compressed stream saves: 1 - stored/raw energy under the memory model (shimpack_memory_model_info).', 'percentunit', [
    { expr: `1 - sum(${rate('shimpack_dram_energy_joules_total', `${SEL},traffic="stored"`)}) / sum(${rate('shimpack_dram_energy_joules_total', `${SEL},traffic="raw"`)})` },
  ], { w: 6, h: 8 });
  l.timeseries('DRAM power, raw vs stored', 'Joules per second (watts) of DRAM traffic under the memory model: the raw bursts the clients moved, against the bursts the shim moves (fills, write-backs, metadata). Background and refresh power are not modelled.', 'watt', [
    { expr: `sum by (traffic) (${rate('shimpack_dram_energy_joules_total')})`, legend: '{{traffic}}' },
  ], { w: 9, min: 0 });
  l.timeseries('DRAM power saved by region', 'Raw minus stored DRAM power per region (negative: compression costs traffic there, e.g. scattered accesses to compressed blocks).', 'watt', [
    { expr: `sum by (region) (${rate('shimpack_dram_energy_joules_total', `${SEL},traffic="raw"`)}) - sum by (region) (${rate('shimpack_dram_energy_joules_total', `${SEL},traffic="stored"`)})`, legend: '{{region}}' },
  ], { w: 9 });
  l.timeseries('DRAM busy share, raw vs stored', 'Transfer seconds per second at the memory model\'s peak bandwidth: the share of time the DRAM interface would be busy with the raw and with the compressed traffic.', 'percentunit', [
    { expr: `sum by (traffic) (${rate('shimpack_dram_transfer_seconds_total')})`, legend: '{{traffic}}' },
  ], { w: 12, min: 0 });
  l.timeseries('Shadow codecs: storage ratio by codec', 'With --shadow: raw / stored bytes each shadow codec would take for the sampled blocks of the selected live regions (one block in --shadow-sample), beside the regions\' own codecs.', 'suffix:×', [
    { expr: `sum by (shadow) (shimpack_shadow_sampled_raw_bytes{${SEL}}) / sum by (shadow) (shimpack_shadow_sampled_stored_bytes{${SEL}})`, legend: '{{shadow}}' },
  ], { w: 12, min: 0 });

  l.row('Bandwidth and compression');
  l.timeseries('Raw vs stored bandwidth by region and kind', 'Uncompressed bytes the clients moved against the coded bytes the backend moved.', 'Bps', [
    { expr: `sum by (region, kind) (${rate('shimpack_raw_bytes_total')})`, legend: '{{region}} ({{kind}}) raw' },
    { expr: `sum by (region, kind) (${rate('shimpack_stored_bytes_total')})`, legend: '{{region}} ({{kind}}) stored' },
  ], { min: 0 });
  l.timeseries('Traffic ratio by region and op', `${TRAFFIC_RATIO_MEANING} Per region, for writes (newly coded data) and reads (data coming back).`, 'suffix:×', [
    { expr: ratio('region, op'), legend: '{{region}} {{op}}' },
  ]);
  l.timeseries('Storage compression ratio by region', 'Raw / stored bytes each live region holds now (its stats ratio). Freed regions disappear.', 'suffix:×', [
    { expr: storageRatio('region'), legend: '{{region}}' },
  ]);
  l.timeseries('Storage compression ratio by codec', 'Raw / stored bytes held by all live regions using each codec.', 'suffix:×', [{ expr: storageRatio('codec'), legend: '{{codec}}' }]);
  l.bargauge('Storage compression ratio now, by codec', 'Raw / stored bytes held right now by the regions of each codec.', 'suffix:×', [{ expr: storageRatio('codec'), legend: '{{codec}}' }]);
  l.timeseries('Bytes held, raw vs stored, by region', 'Uncompressed bytes of the blocks each live region holds against the stored bytes they take.', 'bytes', [
    { expr: `sum by (region) (shimpack_region_raw_bytes{${SEL}})`, legend: '{{region}} raw' },
    { expr: `sum by (region) (shimpack_region_stored_bytes{${SEL}})`, legend: '{{region}} stored' },
  ], { min: 0 });
  l.timeseries('DRAM bursts saved by region', 'Bursts per second the clients moved minus the bursts the DRAM behind the shim moves (fills, write-backs, metadata).', 'cps', [
    { expr: `sum by (region) (${rate('shimpack_raw_bursts_total')}) - sum by (region) (${rate('shimpack_stored_bursts_total')})`, legend: '{{region}}' },
  ]);
  l.timeseries('Share of block writes stored raw', 'Block writes stored raw because coding did not make them smaller, over all block writes (always 100% for the raw codec).', 'percentunit', [
    { expr: `sum by (region, codec) (${rate('shimpack_raw_fallback_blocks_total')}) / sum by (region, codec) (${rate('shimpack_block_writes_total')})`, legend: '{{region}} ({{codec}})' },
  ], { min: 0 });

  l.row('Latency');
  l.timeseries('Request latency p50 / p99 by op', 'From reading a request to having its response ready.', 's', [
    { expr: `histogram_quantile(0.5, sum by (le, op) (rate(shimpack_request_duration_seconds_bucket${RATE})))`, legend: 'p50 {{op}}' },
    { expr: `histogram_quantile(0.99, sum by (le, op) (rate(shimpack_request_duration_seconds_bucket${RATE})))`, legend: 'p99 {{op}}' },
  ]);
  l.heatmap('Read and write latency', 'Requests per latency bucket in each interval.', 's', {
    expr: `sum by (le) (increase(shimpack_request_duration_seconds_bucket{op=~"read|write"}${RATE}))`,
  });
  l.timeseries('Codec time by codec and op', 'Seconds of encoding (write) and decoding (read) per second; 100% is one busy core.', 'percentunit', [
    { expr: `sum by (codec, op) (rate(shimpack_codec_seconds_total{codec=~"$codec"}${RATE}))`, legend: '{{codec}} {{op}}' },
  ], { min: 0 });
  l.timeseries('Event loop lag p99', 'Main-thread event loop delay; requests wait behind it.', 's', [{ expr: 'max by (instance) (nodejs_eventloop_lag_p99_seconds)', legend: '{{instance}}' }], { min: 0 });

  l.row('Lanes and queues');
  l.timeseries('Lane utilisation', 'Share of time each worker lane spends on batches.', 'percentunit', [
    { expr: `sum by (lane) (rate(shimpack_lane_batch_duration_seconds_sum${RATE}))`, legend: 'lane {{lane}}' },
  ], { w: 8, min: 0 });
  l.timeseries('Lane queue depth', 'Block jobs queued or in flight per lane.', 'short', [{ expr: 'sum by (lane) (shimpack_lane_queue_depth)', legend: 'lane {{lane}}' }], { w: 8, min: 0 });
  l.timeseries('Lane batch size p50', 'Median raw bytes per batch message sent to a lane.', 'bytes', [
    { expr: `histogram_quantile(0.5, sum by (le, lane) (rate(shimpack_lane_batch_bytes_bucket${RATE})))`, legend: 'lane {{lane}}' },
  ], { w: 8, min: 0 });
  l.timeseries('In-flight requests and connections', 'Requests read and not yet answered; open WebSocket connections.', 'short', [
    { expr: 'sum(shimpack_inflight_requests)', legend: 'in-flight requests' },
    { expr: 'sum(shimpack_connections)', legend: 'connections' },
  ], { w: 8, min: 0 });
  l.timeseries('Unsent response bytes', 'Response bytes queued on sockets (slow readers).', 'bytes', [{ expr: 'sum(shimpack_send_buffer_bytes)', legend: 'send buffer' }], { w: 8, min: 0 });
  l.timeseries('Socket pauses by reason', 'Times per second a socket stopped being read for backpressure.', 'cps', [
    { expr: `sum by (reason) (rate(shimpack_socket_pauses_total${RATE}))`, legend: '{{reason}}' },
  ], { w: 8, min: 0 });

  l.row('Memory channels');
  // shimpack_channel_info (1 per daemon) carries the channel: joined on instance, any series groups by it.
  const byChannel = (expr: string): string => `sum by (channel) (${expr} * on (instance) group_left (channel) shimpack_channel_info)`;
  l.timeseries('Raw and stored bandwidth by channel', 'Each channel daemon (serve --channel I/N) serves the addresses that interleave to it; an even spread means the routing granule suits the traffic. One daemon without --channel is channel 0.', 'Bps', [
    { expr: byChannel(`sum by (instance) (${rate('shimpack_raw_bytes_total')})`), legend: 'channel {{channel}} raw' },
    { expr: byChannel(`sum by (instance) (${rate('shimpack_stored_bytes_total')})`), legend: 'channel {{channel}} stored' },
  ], { w: 8, min: 0 });
  l.timeseries('Backend bytes held by channel', 'Coded bytes each channel holds in its backend (with Redis: its share of the shared store).', 'bytes', [
    { expr: byChannel('sum by (instance) (shimpack_backend_bytes)'), legend: 'channel {{channel}}' },
  ], { w: 8, min: 0 });
  l.timeseries('Errors by channel and code', 'Error responses per second per channel: E_BACKEND when its backend fails, E_WRONG_CHANNEL when a client routes by another layout than the daemons run.', 'reqps', [
    { expr: `sum by (channel, code) (sum by (instance, code) (rate(shimpack_errors_total${RATE})) * on (instance) group_left (channel) shimpack_channel_info) > 0`, legend: 'channel {{channel}} {{code}}' },
  ], { w: 8, min: 0 });

  l.row('Errors, storage and memory');
  l.timeseries('Errors by code', 'Error responses per second, by stable error code (codes with none are hidden).', 'reqps', [
    { expr: `sum by (code) (rate(shimpack_errors_total${RATE})) > 0`, legend: '{{code}}' },
  ], { w: 8, min: 0 });
  l.stat('Error share of requests', 'Error responses / requests answered.', 'percentunit', [
    { expr: `sum(rate(shimpack_errors_total${RATE})) / sum(rate(shimpack_request_duration_seconds_count${RATE}))` },
  ], { w: 4, h: 8 });
  l.stat('Blocks held', 'Blocks the memory backend holds.', 'short', [{ expr: 'sum(shimpack_backend_blocks)' }], { w: 4, h: 8 });
  l.timeseries('Backend stored bytes', 'Coded bytes the memory backend holds, and the memory it allocated for them (slabs: slot rounding, spare and half-drained slabs).', 'bytes', [
    { expr: 'sum by (instance) (shimpack_backend_bytes)', legend: 'stored {{instance}}' },
    { expr: 'sum by (instance) (shimpack_backend_allocated_bytes)', legend: 'allocated {{instance}}' },
  ], { w: 8, min: 0 });
  l.timeseries('Process memory', 'Resident set, V8 heap in use and external (Buffer) memory of the daemon process.', 'bytes', [
    { expr: 'sum by (instance) (process_resident_memory_bytes)', legend: 'resident {{instance}}' },
    { expr: 'sum by (instance) (nodejs_heap_size_used_bytes)', legend: 'heap used {{instance}}' },
    { expr: 'sum by (instance) (nodejs_external_memory_bytes)', legend: 'external {{instance}}' },
  ], { w: 24, min: 0 });

  return dashboard({
    uid: 'shimpack-overview',
    title: 'shimpack overview',
    description: 'Bandwidth, compression ratio, DRAM bursts, latency, lanes, errors and memory of the shimpack daemons Prometheus scrapes (summed over instances), and per memory channel.',
    variables: [
      labelValuesVariable('region', 'Region', 'shimpack_raw_bytes_total', { multi: true }),
      labelValuesVariable('codec', 'Codec', 'shimpack_raw_bytes_total{region=~"$region"}', { multi: true }),
    ],
    panels: l.panels,
    links: [{ title: 'shimpack dashboards', type: 'dashboards', tags: ['shimpack'], asDropdown: true, includeVars: false, keepTime: true, icon: 'external link', targetBlank: false }],
  });
}
