import { ChannelClient } from '../../clients/ts/index.ts';
import type { RegionRequest, StatsTotals, WireCodec } from '../../protocol/types.ts';
import { crc32 } from 'node:zlib';
import { TraceError } from './errors.ts';
import { MAX_ADDRESS, type OpRecord, type RegionRecord } from './format.ts';
import { LatencyHistogram } from './latency.ts';
import { WriteOverlay } from './overlay.ts';
import { readTrace } from './reader.ts';

export interface ReplayOptions {
  readonly trace: string;
  /** ws://host:port/ of a running daemon, or one URL per memory channel in channel order (protocol section 8). */
  readonly url: string | readonly string[];
  /** Time scale: 1 = the trace's own pace, N = N times faster, 'max' = no waiting. */
  readonly speed: number | 'max';
  /** Independent copies of the trace, each on its own connection(s) and address slice. */
  readonly copies: number;
  /** Start over at the end of the trace (with `durationS`, until it is up). */
  readonly loop: boolean;
  /** Stop after this many seconds. */
  readonly durationS?: number;
  /** Check every read (default true). */
  readonly verify: boolean;
  /** Requests in flight at most, over all connections (bounds memory). */
  readonly window: number;
  readonly token?: string;
  /** Address space to replay in (hello's `space`; protocol/README.md section 4.1): its regions are apart from every other space's. */
  readonly space?: string;
  /** Added to every address of the trace (region bases, reads, writes): places a copy beside one already in the daemon. */
  readonly addressOffset?: number;
  /** Put before every region name of the trace (with addressOffset, a second copy in the same address space). */
  readonly namePrefix?: string;
  /** Leave the replayed regions in the daemon (default: free them at the end). */
  readonly keepRegions?: boolean;
  /** Declare every region with this codec instead of the trace's (raw: the like-for-like DRAM baseline). */
  readonly codec?: WireCodec;
  /** Called just before each op is sent (the DRAM trace export stamps the traffic it causes with its time). */
  readonly onOp?: (rec: OpRecord) => void;
  /** Called about every 200 ms and once at the end. */
  readonly onProgress?: (p: ReplayProgress) => void;
  /** Abort (Ctrl-C): stop issuing, drain, summarise. */
  readonly signal?: AbortSignal;
}

export interface ReplayProgress {
  readonly ops: number;
  /** Passes completed. */
  readonly loops: number;
  /** The pass under way (1-based); at the end, the last one. */
  readonly pass: number;
  readonly seconds: number;
  readonly mismatches: number;
  readonly errors: number;
}

export interface DaemonMemory {
  readonly rssBytes?: number;
  readonly heapUsedBytes?: number;
}

export interface ReplaySummary {
  /** Requests issued (trace ops times copies). */
  readonly ops: number;
  readonly writes: number;
  readonly reads: number;
  readonly verifiedReads: number;
  readonly bytesWritten: number;
  readonly bytesRead: number;
  readonly seconds: number;
  /** (bytes written + read) / seconds, in MB/s (10^6). */
  readonly mbPerSecond: number;
  readonly loops: number;
  readonly copies: number;
  readonly connections: number;
  readonly mismatches: number;
  readonly errors: number;
  /** The first few mismatches and errors, described. */
  readonly problems: readonly string[];
  readonly latencyNs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** The daemon's totals after the replay (compression ratio and bursts), if stats answered. */
  readonly stats?: StatsTotals;
  readonly daemonStart?: DaemonMemory;
  readonly daemonEnd?: DaemonMemory;
}

const MAX_PROBLEMS = 10;

/** Fetch the daemon's RSS and heap from its /metrics (prom-client default metric names). */
export async function daemonMemory(url: string): Promise<DaemonMemory | undefined> {
  try {
    const u = new URL(url);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = '/metrics';
    const res = await fetch(u, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    const metric = (name: string): number | undefined => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return { rssBytes: metric('process_resident_memory_bytes'), heapUsedBytes: metric('nodejs_heap_size_used_bytes') };
  } catch {
    return undefined;
  }
}

/** Memory of all channel daemons, summed (undefined when one does not tell). */
async function daemonsMemory(urls: readonly string[]): Promise<DaemonMemory | undefined> {
  const all = await Promise.all(urls.map(daemonMemory));
  if (all.some((m) => m === undefined)) return undefined;
  const sum = (k: keyof DaemonMemory): number | undefined => (all.some((m) => m![k] === undefined) ? undefined : all.reduce((s, m) => s + m![k]!, 0));
  return { rssBytes: sum('rssBytes'), heapUsedBytes: sum('heapUsedBytes') };
}

/** Address slice of each copy: the largest power of two such that `copies` slices fit below 2^48. */
function sliceOf(copies: number): number {
  return copies === 1 ? MAX_ADDRESS : 2 ** Math.floor(Math.log2(MAX_ADDRESS / copies));
}

/**
 * Replay a trace against a daemon. Each copy of the trace gets its own
 * connection per trace connection, its own address slice (copy k adds
 * k * slice to every address) and its own region names (`name#k` when there
 * are several copies), so copies never disturb one another and every read
 * stays verifiable. Within a connection ops are sent in trace order and
 * pipelined up to `window` in flight; the daemon applies them in order.
 * A read is checked against its CRC-32, or, without one, against the bytes
 * this replay wrote there (kept only when the trace has reads without CRC).
 */
export async function replayTrace(o: ReplayOptions): Promise<ReplaySummary> {
  if (!Number.isInteger(o.copies) || o.copies < 1) throw new TraceError('E_REPLAY', 'connections must be a whole number >= 1');
  const slice = sliceOf(o.copies);
  const offset = o.addressOffset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= MAX_ADDRESS) throw new TraceError('E_REPLAY', `the address offset must be a whole number of bytes in [0, 2^48), got ${offset}`);
  const urls = typeof o.url === 'string' ? [o.url] : o.url;
  if (urls.length === 0) throw new TraceError('E_REPLAY', 'no daemon URL given');
  const daemonStart = await daemonsMemory(urls);
  // One client per trace connection, each over all channels (a single daemon is channel 0 of 1).
  const clients = new Map<string, ChannelClient>();
  const connecting = new Map<string, Promise<ChannelClient>>();
  const clientFor = async (copy: number, conn: number): Promise<ChannelClient> => {
    const key = `${copy}:${conn}`;
    const c = clients.get(key);
    if (c) return c;
    let p = connecting.get(key);
    if (!p) {
      p = ChannelClient.connect(urls, { client: `shimpack replay copy ${copy} conn ${conn}`, token: o.token, space: o.space }).catch((e: Error & { code?: string }) => {
        // the client's E_CONNECT and E_CHANNELS messages already name the URL
        throw new TraceError('E_REPLAY', e.code === 'E_CONNECT' || e.code === 'E_CHANNELS' ? e.message.replace(/^E_[A-Z]+: /, '') : `cannot connect to ${urls.join(' ')}: ${e.message}`);
      });
      connecting.set(key, p);
    }
    const made = await p;
    clients.set(key, made);
    return made;
  };
  const latency = new LatencyHistogram();
  const problems: string[] = [];
  let ops = 0;
  let writes = 0;
  let reads = 0;
  let verifiedReads = 0;
  let bytesWritten = 0;
  let bytesRead = 0;
  let mismatches = 0;
  let errors = 0;
  let loops = 0;
  let pass = 0;
  let fatal: Error | undefined;
  /** A region the daemon refused: every later op would fail, so the replay stops (and throws after cleaning up). */
  let refusedRegion: Error | undefined;
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  const shadows: WriteOverlay[] = Array.from({ length: o.copies }, () => new WriteOverlay());
  let keepShadow = o.verify;
  const declared: Map<string, { copy: number; conn: number; name: string }>[] = Array.from({ length: o.copies }, () => new Map());

  // in-flight window
  let inflight = 0;
  let wake: (() => void) | undefined;
  const release = (): void => {
    inflight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const slot = async (): Promise<void> => {
    while (inflight >= o.window) await new Promise<void>((r) => (wake = r));
    inflight++;
  };
  const drain = async (): Promise<void> => {
    while (inflight > 0) await new Promise<void>((r) => (wake = r));
  };
  const track = (p: Promise<unknown>, what: () => string, onDone?: (v: unknown) => void): void => {
    const t0 = process.hrtime.bigint();
    p.then(
      (v) => {
        latency.add(Number(process.hrtime.bigint() - t0));
        onDone?.(v);
        release();
      },
      (e: Error & { code?: string }) => {
        errors++;
        problem(`${what()}: ${e.message}`);
        if (e.code === 'E_CLOSED') fatal ??= new TraceError('E_REPLAY', `connection lost: ${e.message}`);
        release();
      },
    );
  };

  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const timeUp = (): boolean => (o.durationS !== undefined && elapsed() >= o.durationS) || (o.signal?.aborted ?? false) || fatal !== undefined || refusedRegion !== undefined;
  let lastReport = 0;
  const report = (force = false): void => {
    const now = performance.now();
    if (!o.onProgress || (!force && now - lastReport < 200)) return;
    lastReport = now;
    o.onProgress({ ops, loops, pass: Math.max(pass, 1), seconds: elapsed(), mismatches, errors });
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  let loopOffsetNs = 0;
  let stop = false;
  /** The trace failed part way (truncated, malformed): thrown once the daemon is cleaned up. */
  let broken: unknown;
  try {
    do {
      pass++;
      let lastT = 0;
      for await (const rec of readTrace(o.trace)) {
        if (timeUp()) {
          stop = true;
          break;
        }
        if (rec.type === 'header') {
          if (rec.readsCarryCrc === true) keepShadow = false;
          continue;
        }
        if (rec.type === 'end') continue;
        if (rec.type === 'region') {
          await declareRegion(rec);
          if (refusedRegion) {
            stop = true;
            break;
          }
          continue;
        }
        if (rec.t > lastT) lastT = rec.t;
        if (o.speed !== 'max') {
          const dueMs = (loopOffsetNs + rec.t) / 1e6 / o.speed;
          const wait = dueMs - (performance.now() - started);
          if (wait > 1) await sleep(wait);
        }
        for (let copy = 0; copy < o.copies; copy++) {
          await slot();
          o.onOp?.(rec);
          issue(rec, copy, await clientFor(copy, rec.conn ?? 0));
          ops++;
        }
        report();
      }
      loops++;
      loopOffsetNs += lastT + 1;
      if (!o.loop) break;
    } while (!stop && !timeUp());
  } catch (e) {
    broken = e;
  }
  await drain();

  let stats: StatsTotals | undefined;
  const any = clients.values().next().value as ChannelClient | undefined;
  if (any && !fatal && !broken) {
    try {
      // Buffered blocks go to the backend first, so the totals count their write-backs.
      await any.flush();
      stats = (await any.stats()).totals;
    } catch (e) {
      problem(`stats: ${(e as Error).message}`);
    }
  }
  if (!o.keepRegions && !fatal) {
    for (const d of declared) {
      for (const r of d.values()) {
        try {
          await (await clientFor(r.copy, r.conn)).free(r.name);
        } catch (e) {
          errors++;
          problem(`free ${r.name}: ${(e as Error).message}`);
        }
      }
    }
  }
  // Closed whatever happened: an open connection would keep the process alive.
  await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)));
  const seconds = elapsed();
  report(true);
  if (broken) throw broken;
  if (fatal && ops === 0) throw fatal;
  if (refusedRegion) throw refusedRegion;
  if (fatal) problem(fatal.message);
  return {
    ops,
    writes,
    reads,
    verifiedReads,
    bytesWritten,
    bytesRead,
    seconds,
    mbPerSecond: seconds > 0 ? (bytesWritten + bytesRead) / 1e6 / seconds : 0,
    loops,
    copies: o.copies,
    connections: clients.size,
    mismatches,
    errors: errors + (fatal ? 1 : 0),
    problems,
    latencyNs: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max },
    stats,
    daemonStart,
    daemonEnd: await daemonsMemory(urls),
  };

  /** A trace region's name in the daemon: the prefix, and `#k` for copy k when there are several. */
  function regionName(name: string, copy: number): string {
    return `${o.namePrefix ?? ''}${name}${o.copies > 1 ? `#${copy}` : ''}`;
  }

  async function declareRegion(rec: RegionRecord): Promise<void> {
    const { type: _t, conn, origin: _o, ...spec } = rec;
    if (o.copies > 1 && rec.base + rec.size > slice) {
      throw new TraceError('E_REPLAY', `region ${rec.name} ends at 0x${(rec.base + rec.size).toString(16)}, beyond the 0x${slice.toString(16)}-byte slice of each of ${o.copies} copies`);
    }
    for (let copy = 0; copy < o.copies; copy++) {
      const name = regionName(rec.name, copy);
      if (declared[copy].has(name)) continue; // a later loop: the region is still there
      const c = await clientFor(copy, conn ?? 0);
      const base = rec.base + offset + copy * slice;
      if (base + rec.size > MAX_ADDRESS) throw new TraceError('E_REPLAY', `region ${name} moved by the address offset 0x${offset.toString(16)} would end at 0x${(base + rec.size).toString(16)}, beyond 2^48`);
      const req = { ...spec, name, base, ...(o.codec ? { codec: o.codec } : {}) } as Omit<RegionRequest, 'id' | 'op'>;
      try {
        await c.region(req);
        declared[copy].set(name, { copy, conn: conn ?? 0, name });
      } catch (e) {
        errors++;
        problem(`region ${name}: ${(e as Error).message}`);
        if ((e as { code?: string }).code === 'E_CLOSED') fatal ??= new TraceError('E_REPLAY', `connection lost: ${(e as Error).message}`);
        else refusedRegion ??= new TraceError('E_REPLAY', `the daemon refused region ${name}, replay stopped: ${(e as Error).message}`);
        return;
      }
    }
  }

  function issue(rec: OpRecord, copy: number, c: ChannelClient): void {
    const shift = offset + copy * slice;
    switch (rec.op) {
      case 'write': {
        writes++;
        bytesWritten += rec.len;
        if (keepShadow) shadows[copy].write(rec.addr, rec.data);
        track(c.write(rec.addr + shift, rec.data), () => `write 0x${rec.addr.toString(16)}+${rec.len} (t ${rec.t})`);
        return;
      }
      case 'read': {
        reads++;
        bytesRead += rec.len;
        const crc = rec.crc;
        const expect = o.verify && crc === undefined && keepShadow ? shadows[copy].snapshot(rec.addr, rec.len) : undefined;
        const where = (): string => `read 0x${rec.addr.toString(16)}+${rec.len} (t ${rec.t}${o.copies > 1 ? `, copy ${copy}` : ''})`;
        track(c.read(rec.addr + shift, rec.len), where, (v) => {
          if (!o.verify) return;
          const got = v as Uint8Array;
          if (got.length !== rec.len) {
            mismatches++;
            problem(`${where()}: got ${got.length} bytes`);
            return;
          }
          if (crc !== undefined) {
            verifiedReads++;
            const have = crc32(got);
            if (have !== crc) {
              mismatches++;
              problem(`${where()}: CRC-32 ${have.toString(16).padStart(8, '0')}, trace says ${crc.toString(16).padStart(8, '0')}`);
            }
          } else if (expect) {
            verifiedReads++;
            for (let i = 0; i < got.length; i++) {
              if (expect.known[i] && expect.data[i] !== got[i]) {
                mismatches++;
                problem(`${where()}: byte ${i} is 0x${got[i].toString(16)}, the trace wrote 0x${expect.data[i].toString(16)}`);
                break;
              }
            }
          }
        });
        return;
      }
      case 'fence':
        track(c.fence(), () => `fence (t ${rec.t})`);
        return;
      case 'free': {
        const name = regionName(rec.name, copy);
        declared[copy].delete(name);
        track(c.free(name), () => `free ${name} (t ${rec.t})`);
        return;
      }
    }
  }
}
