import { availableParallelism } from 'node:os';
import { ChannelClient, ShimpackClient } from '../../clients/ts/index.ts';
import { strideFromShape } from '../codecs/stride.ts';
import type { Dataset } from '../dataset/manifest.ts';
import { readTensor } from '../dataset/manifest.ts';
import { spawnDaemon } from '../server/spawn-daemon.ts';

export interface DaemonBenchOptions {
  readonly codecs: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  /**
   * Untimed closed-loop writes before each row's timed phases, so figures
   * are of a warm daemon (JIT-compiled hot paths, settled heap) rather than
   * of its first seconds. Default 0.
   */
  readonly warmupSeconds?: number;
  readonly writeBytes: number;
  /**
   * Bursts per request, one row each (default [1]): 1 sends single write and
   * read requests; N > 1 sends writev/readv of N bursts of `writeBytes`
   * (protocol 4.8), taken from one span of N bursts in a shuffled order. Row
   * `ops` count bursts, not requests; latencies are per request.
   */
  readonly vectors?: readonly number[];
  /** Requests each connection keeps in flight. */
  readonly depth: number;
  readonly laneCounts: readonly number[];
  readonly dataset: Dataset;
  readonly dataBytes: number;
  /**
   * Also measure write latency at a fixed offered rate (open loop, writes/s
   * over all connections): a number, or 'half' for half the write peak just
   * measured in the same row.
   */
  readonly rate?: number | 'half';
  /** Use this running daemon (ws://...) instead of starting one per lane count. */
  readonly url?: string;
  /** --backend of the daemons started (default memory), e.g. redis://HOST:PORT. */
  readonly backend?: string;
  /** Start this many channel daemons (--channel i/N), driven through the channel client. Default 1. */
  readonly channels?: number;
}

/** One daemon or all channels of a channelled memory: the same calls. */
type BenchClient = ShimpackClient | ChannelClient;

export interface PhaseResult {
  readonly ops: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly p50us: number;
  readonly p99us: number;
}

export interface DaemonBenchRow {
  readonly codec: string;
  readonly lanes: number;
  /** Bursts per request (1: single writes and reads). */
  readonly vector: number;
  readonly write: PhaseResult;
  readonly read: PhaseResult;
  /** Writes at a fixed offered rate, latency from each write's due time. */
  readonly paced?: PhaseResult & { readonly offeredPerSecond: number };
  readonly ratio: number;
  readonly verified: boolean;
}

/** A Buffer over the same bytes (Buffer.from(uint8array) would copy them). */
function view(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

/**
 * Real int8 weight tensors from the data set, concatenated up to `bytes`.
 * Only tensors of one stride (the stride with the most bytes) are used, so
 * a context codec (scc) gets data whose stride is what the region declares.
 */
export function benchData(ds: Dataset, bytes: number): { readonly data: Uint8Array; readonly stride: number } {
  const weights = ds.tensors.filter((t) => t.kind === 'weight' && t.dtype === 'int8');
  const strideOf = new Map(weights.map((t) => [t, strideFromShape(t.shape, t.layout)]));
  const bytesByStride = new Map<number, number>();
  for (const [t, s] of strideOf) bytesByStride.set(s, (bytesByStride.get(s) ?? 0) + t.bytes);
  let stride = 1;
  let best = -1;
  for (const [s, b] of bytesByStride) if (b > best || (b === best && s < stride)) [stride, best] = [s, b];
  const out = new Uint8Array(bytes);
  let p = 0;
  for (const t of weights) {
    if (strideOf.get(t) !== stride) continue;
    const b = readTensor(ds, t);
    const n = Math.min(b.length, bytes - p);
    out.set(b.subarray(0, n), p);
    p += n;
    if (p === bytes) break;
  }
  return { data: out.subarray(0, p), stride };
}

/**
 * The data in vector order: window w of `n` bursts holds, at position j, the
 * burst of slot w*n + perm[j] (perm a seeded shuffle), so a vector is a
 * scattered set of bursts, not one contiguous write in disguise.
 */
interface VectorLayout {
  readonly n: number;
  readonly perm: Int32Array;
  readonly data: Uint8Array;
  readonly windows: number;
}

function vectorLayout(data: Uint8Array, writeBytes: number, n: number): VectorLayout {
  const perm = new Int32Array(n);
  for (let j = 0; j < n; j++) perm[j] = j;
  let s = 0x9e3779b9 | 0;
  for (let j = n - 1; j > 0; j--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const k = (s >>> 0) % (j + 1);
    [perm[j], perm[k]] = [perm[k], perm[j]];
  }
  const windows = Math.floor(Math.floor(data.length / writeBytes) / n);
  const out = new Uint8Array(windows * n * writeBytes);
  for (let w = 0; w < windows; w++) {
    for (let j = 0; j < n; j++) {
      const slot = w * n + perm[j];
      out.set(data.subarray(slot * writeBytes, (slot + 1) * writeBytes), (w * n + j) * writeBytes);
    }
  }
  return { n, perm, data: out, windows };
}

/** Closed loop with writev/readv of `v.n` bursts; ops count bursts. */
async function vectorPhase(clients: BenchClient[], v: VectorLayout, o: DaemonBenchOptions, kind: 'write' | 'read'): Promise<PhaseResult & { verified: boolean }> {
  if (v.windows === 0) throw new Error(`--vector ${v.n} bursts of ${o.writeBytes} B do not fit in --data-bytes`);
  const lat: number[] = [];
  let ops = 0;
  let verified = true;
  const span = v.n * o.writeBytes;
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  const lens = new Array<number>(v.n).fill(o.writeBytes);
  await Promise.all(
    clients.map(async (c, ci) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        const addrs = new Array<number>(v.n);
        while (performance.now() < end) {
          const w = next++ % v.windows;
          for (let j = 0; j < v.n; j++) addrs[j] = ci * 2 ** 32 + (w * v.n + v.perm[j]) * o.writeBytes;
          const want = v.data.subarray(w * span, (w + 1) * span);
          const s = performance.now();
          if (kind === 'write') {
            if ((await c.writev(addrs, lens, want)).length) verified = false;
          } else {
            const got = await c.readv(addrs, lens);
            if (got.failed.length || Buffer.compare(view(got.data), view(want)) !== 0) verified = false;
          }
          lat.push(performance.now() - s);
          ops += v.n;
        }
      };
      await Promise.all(Array.from({ length: o.depth }, worker));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(lat).sort();
  return { ops, bytes: ops * o.writeBytes, seconds, p50us: quantile(sorted, 0.5) * 1000, p99us: quantile(sorted, 0.99) * 1000, verified };
}

/**
 * Drive `connections` clients, each keeping `depth` requests of `writeBytes`
 * in flight over its own region for `seconds`, then read everything back and
 * compare (also timed).
 */
async function phase(clients: BenchClient[], data: Uint8Array, o: DaemonBenchOptions, kind: 'write' | 'read'): Promise<PhaseResult & { verified: boolean }> {
  const lat: number[] = [];
  let ops = 0;
  let verified = true;
  const per = Math.floor(data.length / o.writeBytes);
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  await Promise.all(
    clients.map(async (c, ci) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (performance.now() < end) {
          const k = next++ % per;
          const addr = ci * 2 ** 32 + k * o.writeBytes;
          const s = performance.now();
          if (kind === 'write') await c.write(addr, data.subarray(k * o.writeBytes, (k + 1) * o.writeBytes));
          else {
            const got = await c.read(addr, o.writeBytes);
            if (Buffer.compare(view(got), view(data.subarray(k * o.writeBytes, (k + 1) * o.writeBytes))) !== 0) verified = false;
          }
          lat.push(performance.now() - s);
          ops++;
        }
      };
      await Promise.all(Array.from({ length: o.depth }, worker));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(lat).sort();
  return { ops, bytes: ops * o.writeBytes, seconds, p50us: quantile(sorted, 0.5) * 1000, p99us: quantile(sorted, 0.99) * 1000, verified };
}

/**
 * Open loop: write i is due at t0 + i / rate (spread over the connections)
 * and is sent at the first timer tick at or after that (ticks about every
 * millisecond: a setImmediate loop would spin a core the daemon needs),
 * whatever is still in flight, so a daemon that falls behind shows it as
 * latency instead of slowing the offered load down. Latency counts from the
 * send.
 */
async function pacedWrites(clients: BenchClient[], data: Uint8Array, o: DaemonBenchOptions, rate: number): Promise<PhaseResult> {
  const per = Math.floor(data.length / o.writeBytes);
  const total = Math.max(1, Math.floor(rate * o.seconds));
  const lat = new Float64Array(total);
  let sent = 0;
  let done = 0;
  const t0 = performance.now();
  const all: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const i = sent;
        const ci = i % clients.length;
        const k = Math.floor(i / clients.length) % per;
        const sentAt = performance.now();
        all.push(
          clients[ci].write(ci * 2 ** 32 + k * o.writeBytes, data.subarray(k * o.writeBytes, (k + 1) * o.writeBytes)).then(() => {
            lat[i] = performance.now() - sentAt;
            done++;
          }),
        );
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, t0 + (sent / rate) * 1000 - performance.now()));
    };
    tick();
  });
  await Promise.all(all);
  const seconds = (performance.now() - t0) / 1000;
  const sorted = lat.subarray(0, done).sort();
  return { ops: done, bytes: done * o.writeBytes, seconds, p50us: quantile(sorted, 0.5) * 1000, p99us: quantile(sorted, 0.99) * 1000 };
}

export async function runDaemonBench(o: DaemonBenchOptions, log: (line: string) => void = () => {}): Promise<DaemonBenchRow[]> {
  const { data, stride } = benchData(o.dataset, o.dataBytes);
  const rows: DaemonBenchRow[] = [];
  const laneCounts = o.url ? [0] : o.laneCounts;
  for (const laneCount of laneCounts) {
    // The real daemon in its own process (as `npm start` runs it), so clients and daemon do not share a thread.
    const n = o.channels ?? 1;
    const backend = o.backend ? ['--backend', o.backend] : [];
    const daemons = o.url ? [] : await Promise.all(Array.from({ length: n }, (_, i) => spawnDaemon(['--port', '0', '--lanes', String(laneCount), ...backend, ...(n > 1 ? ['--channel', `${i}/${n}`] : [])])));
    const urls = o.url ? [o.url] : daemons.map((d) => d.url);
    try {
      for (const codec of o.codecs) {
        const clients: BenchClient[] = await Promise.all(Array.from({ length: o.connections }, () => (urls.length > 1 ? ChannelClient.connect(urls, { client: 'bench' }) : ShimpackClient.connect(urls[0], { client: 'bench' }))));
        const lanes = clients[0].hello.lanes;
        const names = clients.map((_, i) => `bench-${codec}-${lanes}-${i}`);
        // fpack codes float dtypes only: it gets the same bytes as fp8 e4m3 bit patterns (every byte is one).
        const dtype = codec === 'fpack' ? 'float8_e4m3' : 'int8';
        await Promise.all(clients.map((c, i) => c.region({ name: names[i], base: i * 2 ** 32, size: data.length, dtype, kind: 'weight', codec: codec as 'raw', stride })));
        // Fill the whole region once, untimed: APack fits its table on this first write and
        // every later read has known bytes to verify against.
        const chunk = 1 << 20;
        await Promise.all(
          clients.map(async (c, i) => {
            for (let p = 0; p < data.length; p += chunk) await c.write(i * 2 ** 32 + p, data.subarray(p, Math.min(data.length, p + chunk)));
          }),
        );
        for (const vector of o.vectors ?? [1]) {
          // Vector rows use the same bytes at the same addresses, so the read-back verifies either way.
          const layout = vector > 1 ? vectorLayout(data, o.writeBytes, vector) : undefined;
          const run = (opts: DaemonBenchOptions, kind: 'write' | 'read'): Promise<PhaseResult & { verified: boolean }> => (layout ? vectorPhase(clients, layout, opts, kind) : phase(clients, data, opts, kind));
          if (o.warmupSeconds) await run({ ...o, seconds: o.warmupSeconds }, 'write');
          const write = await run(o, 'write');
          const read = await run(o, 'read');
          let paced: DaemonBenchRow['paced'];
          // The paced phase sends single writes: it belongs to the rows of single requests.
          if (o.rate !== undefined && vector === 1) {
            const offered = o.rate === 'half' ? write.ops / write.seconds / 2 : o.rate;
            paced = { ...(await pacedWrites(clients, data, o, offered)), offeredPerSecond: offered };
          }
          // Paced writes rewrote the same bytes: the read-back above still holds.
          const st = await clients[0].stats(names[0]);
          rows.push({ codec, lanes, vector, write, read, paced, ratio: st.regions[0].ratio, verified: write.verified && read.verified });
          log(
            `${codec} lanes=${lanes}${vector > 1 ? ` vector=${vector}` : ''}: write ${(write.bytes / write.seconds / 1e6).toFixed(1)} MB/s (${(write.ops / write.seconds).toFixed(0)} bursts/s), read ${(read.bytes / read.seconds / 1e6).toFixed(1)} MB/s` +
              (paced ? `, writes at ${paced.offeredPerSecond.toFixed(0)}/s: p50 ${paced.p50us.toFixed(0)} us, p99 ${paced.p99us.toFixed(0)} us` : ''),
          );
        }
        await Promise.all(clients.map((c, i) => c.free(names[i])));
        await Promise.all(clients.map((c) => c.close()));
      }
    } finally {
      await Promise.all(daemons.map((d) => d.stop()));
    }
  }
  return rows;
}

export function defaultLaneCounts(): number[] {
  const n = availableParallelism();
  return n > 1 ? [1, n] : [1];
}
