import type { Metric, Registry } from 'prom-client';

/**
 * What the status page polls once a second: cumulative counters straight
 * from the daemon's Prometheus registry (the page turns successive snapshots
 * into rates), so the page and /metrics can never disagree.
 */
export interface StatusSnapshot {
  /** Wall-clock milliseconds when the snapshot was taken. */
  readonly time: number;
  readonly regions: RegionTotals[];
  /** Request latency histogram: finite upper bounds in seconds, cumulative counts per op (last entry is +Inf). */
  readonly latency: { readonly le: number[]; readonly ops: Record<string, number[]> };
  readonly inflight: number;
  readonly connections: number;
}

export interface RegionTotals {
  readonly region: string;
  readonly kind: string;
  readonly codec: string;
  /** Uncompressed bytes moved, by op (write, read). */
  readonly raw: Record<string, number>;
  /** Stored (coded) bytes moved, by op. */
  readonly stored: Record<string, number>;
}

type Values = { labels: Record<string, string | number | undefined>; value: number; metricName?: string }[];

async function valuesOf(registry: Registry, name: string): Promise<Values> {
  const m = registry.getSingleMetric(name) as Metric<string> | undefined;
  if (!m) return [];
  return (await m.get()).values as Values;
}

/** Ops whose latency the page plots. */
const LATENCY_OPS = ['write', 'read'];

export async function takeSnapshot(registry: Registry): Promise<StatusSnapshot> {
  const [raw, stored, buckets, inflight, connections] = await Promise.all([
    valuesOf(registry, 'shimpack_raw_bytes_total'),
    valuesOf(registry, 'shimpack_stored_bytes_total'),
    valuesOf(registry, 'shimpack_request_duration_seconds'),
    valuesOf(registry, 'shimpack_inflight_requests'),
    valuesOf(registry, 'shimpack_connections'),
  ]);

  const regions = new Map<string, { region: string; kind: string; codec: string; raw: Record<string, number>; stored: Record<string, number> }>();
  const add = (vals: Values, field: 'raw' | 'stored'): void => {
    for (const v of vals) {
      const region = String(v.labels.region);
      let r = regions.get(region);
      if (!r) {
        r = { region, kind: String(v.labels.kind), codec: String(v.labels.codec), raw: {}, stored: {} };
        regions.set(region, r);
      }
      const op = String(v.labels.op);
      r[field][op] = (r[field][op] ?? 0) + v.value;
    }
  };
  add(raw, 'raw');
  add(stored, 'stored');

  const le: number[] = [];
  const ops: Record<string, number[]> = {};
  for (const op of LATENCY_OPS) ops[op] = [];
  for (const v of buckets) {
    if (v.metricName !== 'shimpack_request_duration_seconds_bucket') continue;
    const op = String(v.labels.op);
    const series = ops[op];
    if (!series) continue;
    // prom-client lists each op's buckets in ascending order, ending with +Inf.
    if (op === LATENCY_OPS[0] && v.labels.le !== '+Inf') le.push(Number(v.labels.le));
    series.push(v.value);
  }

  return {
    time: Date.now(),
    regions: [...regions.values()].sort((a, b) => a.region.localeCompare(b.region)),
    latency: { le, ops },
    inflight: inflight.reduce((a, v) => a + v.value, 0),
    connections: connections.reduce((a, v) => a + v.value, 0),
  };
}
