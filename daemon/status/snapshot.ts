import type { Metric, Registry } from 'prom-client';

/**
 * What the status page polls once a second, read straight from the daemon's
 * Prometheus registry so the page and /metrics can never disagree: what the
 * live regions hold, the daemon's totals since it started, cumulative
 * traffic counters (the page turns successive snapshots into rates),
 * latency and the lanes.
 */
export interface StatusSnapshot {
  /** Wall-clock milliseconds when the snapshot was taken. */
  readonly time: number;
  /** Live regions only (a freed region is gone from here, as from `stats`). */
  readonly regions: RegionTotals[];
  /** Regions declared and not freed, over every address space. */
  readonly regionCount: number;
  readonly totals: Totals;
  /** Request latency histogram: finite upper bounds in seconds, cumulative counts per op (last entry is +Inf). */
  readonly latency: { readonly le: number[]; readonly ops: Record<string, number[]> };
  readonly lanes: LaneTotals[];
  readonly inflight: number;
  readonly connections: number;
  /** The energy and time model (--memory): name, pJ per bit, GB/s; absent before the engine set it. */
  readonly memory?: { readonly name: string; readonly pjPerBit: number; readonly gbps: number };
  /** With --shadow: per shadow codec, the sampled blocks' raw and stored bytes over the live regions, and its estimate of what they would take. */
  readonly shadow: ShadowTotals[];
}

export interface ShadowTotals {
  readonly codec: string;
  readonly sampledRaw: number;
  readonly sampledStored: number;
  readonly estimatedStored: number;
}

export interface RegionTotals {
  /** The region's metric label (SPACE/NAME in a named address space; "other" past --metrics-region-labels). */
  readonly region: string;
  readonly kind: string;
  readonly codec: string;
  /** Raw size of the blocks held, and their stored size (stats' rawBytesStored and storedBytes). */
  readonly heldRaw: number;
  readonly heldStored: number;
  /** Uncompressed bytes moved since start, by op (write, read). */
  readonly raw: Record<string, number>;
  /** Stored (coded) bytes moved since start, by op. */
  readonly stored: Record<string, number>;
}

export interface Totals {
  /** Bytes the live regions hold, raw and stored: their ratio is what `stats` reports as totals.ratio. */
  readonly heldRaw: number;
  readonly heldStored: number;
  /** Since the daemon started, freed regions included: bytes moved and DRAM bursts, uncompressed and as stored. */
  readonly rawBytes: number;
  readonly storedBytes: number;
  readonly rawBursts: number;
  /** DRAM bursts behind the shim (fills, write-backs, metadata), and those split by direction. */
  readonly storedBursts: number;
  readonly dramReadBursts: number;
  readonly dramWriteBursts: number;
  /** Since start: first-order DRAM energy (J) and transfer time (s) of the raw and of the stored bursts under the memory model. */
  readonly rawJoules: number;
  readonly storedJoules: number;
  readonly rawTransferSeconds: number;
  readonly storedTransferSeconds: number;
}

export interface LaneTotals {
  readonly lane: number;
  /** Block jobs queued or in flight now. */
  readonly depth: number;
  /** Worker seconds spent on batches since start (the page turns it into a busy share). */
  readonly busySeconds: number;
  readonly restarts: number;
}

type Values = { labels: Record<string, string | number | undefined>; value: number; metricName?: string }[];

async function valuesOf(registry: Registry, name: string): Promise<Values> {
  const m = registry.getSingleMetric(name) as Metric<string> | undefined;
  if (!m) return [];
  return (await m.get()).values as Values;
}

/** Ops whose latency the page plots. */
const LATENCY_OPS = ['write', 'read'];

const total = (vals: Values): number => vals.reduce((a, v) => a + v.value, 0);

export async function takeSnapshot(registry: Registry): Promise<StatusSnapshot> {
  const [raw, stored, rawBursts, storedBursts, heldRaw, heldStored, count, buckets, depth, batchTime, restarts, inflight, connections, joules, transfer, memoryInfo, shRaw, shStored, shEst] = await Promise.all([
    valuesOf(registry, 'shimpack_raw_bytes_total'),
    valuesOf(registry, 'shimpack_stored_bytes_total'),
    valuesOf(registry, 'shimpack_raw_bursts_total'),
    valuesOf(registry, 'shimpack_stored_bursts_total'),
    valuesOf(registry, 'shimpack_region_raw_bytes'),
    valuesOf(registry, 'shimpack_region_stored_bytes'),
    valuesOf(registry, 'shimpack_regions'),
    valuesOf(registry, 'shimpack_request_duration_seconds'),
    valuesOf(registry, 'shimpack_lane_queue_depth'),
    valuesOf(registry, 'shimpack_lane_batch_duration_seconds'),
    valuesOf(registry, 'shimpack_lane_restarts_total'),
    valuesOf(registry, 'shimpack_inflight_requests'),
    valuesOf(registry, 'shimpack_connections'),
    valuesOf(registry, 'shimpack_dram_energy_joules_total'),
    valuesOf(registry, 'shimpack_dram_transfer_seconds_total'),
    valuesOf(registry, 'shimpack_memory_model_info'),
    valuesOf(registry, 'shimpack_shadow_sampled_raw_bytes'),
    valuesOf(registry, 'shimpack_shadow_sampled_stored_bytes'),
    valuesOf(registry, 'shimpack_shadow_estimated_stored_bytes'),
  ]);
  const traffic = (vals: Values, t: string): number => total(vals.filter((v) => v.labels.traffic === t));
  const shadow = new Map<string, { codec: string; sampledRaw: number; sampledStored: number; estimatedStored: number }>();
  const addShadow = (vals: Values, field: 'sampledRaw' | 'sampledStored' | 'estimatedStored'): void => {
    for (const v of vals) {
      const codec = String(v.labels.shadow);
      let e = shadow.get(codec);
      if (!e) shadow.set(codec, (e = { codec, sampledRaw: 0, sampledStored: 0, estimatedStored: 0 }));
      e[field] += v.value;
    }
  };
  addShadow(shRaw, 'sampledRaw');
  addShadow(shStored, 'sampledStored');
  addShadow(shEst, 'estimatedStored');
  const mem = memoryInfo.find((v) => v.value === 1);

  // The held gauges list exactly the live regions' label sets; traffic counters outlive a free, so they only add to those.
  type Row = { region: string; kind: string; codec: string; heldRaw: number; heldStored: number; raw: Record<string, number>; stored: Record<string, number> };
  const regions = new Map<string, Row>();
  const key = (v: Values[number]): string => `${v.labels.region}\u0000${v.labels.kind}\u0000${v.labels.codec}`;
  const held = (vals: Values, field: 'heldRaw' | 'heldStored'): void => {
    for (const v of vals) {
      let r = regions.get(key(v));
      if (!r) {
        r = { region: String(v.labels.region), kind: String(v.labels.kind), codec: String(v.labels.codec), heldRaw: 0, heldStored: 0, raw: {}, stored: {} };
        regions.set(key(v), r);
      }
      r[field] += v.value;
    }
  };
  held(heldRaw, 'heldRaw');
  held(heldStored, 'heldStored');
  const moved = (vals: Values, field: 'raw' | 'stored'): void => {
    for (const v of vals) {
      const r = regions.get(key(v));
      if (!r) continue;
      const op = String(v.labels.op);
      r[field][op] = (r[field][op] ?? 0) + v.value;
    }
  };
  moved(raw, 'raw');
  moved(stored, 'stored');

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

  const lanes = new Map<number, { lane: number; depth: number; busySeconds: number; restarts: number }>();
  const lane = (v: Values[number]) => {
    const n = Number(v.labels.lane);
    let l = lanes.get(n);
    if (!l) lanes.set(n, (l = { lane: n, depth: 0, busySeconds: 0, restarts: 0 }));
    return l;
  };
  for (const v of depth) lane(v).depth = v.value;
  for (const v of batchTime) if (v.metricName === 'shimpack_lane_batch_duration_seconds_sum') lane(v).busySeconds = v.value;
  for (const v of restarts) lane(v).restarts = v.value;

  const list = [...regions.values()].sort((a, b) => a.region.localeCompare(b.region));
  return {
    time: Date.now(),
    regions: list,
    regionCount: total(count),
    totals: {
      heldRaw: list.reduce((a, r) => a + r.heldRaw, 0),
      heldStored: list.reduce((a, r) => a + r.heldStored, 0),
      rawBytes: total(raw),
      storedBytes: total(stored),
      rawBursts: total(rawBursts),
      storedBursts: total(storedBursts),
      dramReadBursts: total(storedBursts.filter((v) => v.labels.op === 'read')),
      dramWriteBursts: total(storedBursts.filter((v) => v.labels.op === 'write')),
      rawJoules: traffic(joules, 'raw'),
      storedJoules: traffic(joules, 'stored'),
      rawTransferSeconds: traffic(transfer, 'raw'),
      storedTransferSeconds: traffic(transfer, 'stored'),
    },
    latency: { le, ops },
    lanes: [...lanes.values()].sort((a, b) => a.lane - b.lane),
    inflight: total(inflight),
    connections: total(connections),
    ...(mem ? { memory: { name: String(mem.labels.memory), pjPerBit: Number(mem.labels.pj_per_bit), gbps: Number(mem.labels.gbps) } } : {}),
    shadow: [...shadow.values()].sort((a, b) => a.codec.localeCompare(b.codec)),
  };
}
