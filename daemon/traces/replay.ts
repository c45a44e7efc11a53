import { ChannelClient } from '../../clients/ts/index.ts';
import { MAX_VECTOR_ELEMENTS, type RegionRequest, type StatsTotals, type WireCodec } from '../../protocol/types.ts';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { crc32Range } from './crc32-range.ts';
import { TraceError } from './errors.ts';
import { MAX_ADDRESS, type FenceOp, type FreeOp, type OpName, type ReadOp, type RegionRecord, type TraceRecord, type WriteOp } from './format.ts';
import { LatencyHistogram } from './latency.ts';
import { WriteOverlay } from './overlay.ts';
import { readTraceColumns } from './reader.ts';
import { ABSENT, COL_OTHER, COL_WRITE, TraceColumns } from './trace-columns.ts';
import { NO_CRC, ReplayWindow, ReplayWindowPool, SMALL_WRITE } from './replay-window.ts';
import { DEFAULT_VECTOR } from './replay-defaults.ts';

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
  /** Bursts (trace ops) in flight at most, over all connections (bounds memory). */
  readonly window: number;
  /** Bursts per writev/readv request (default 256); 0 sends one request per burst. */
  readonly vector?: number;
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
  /**
   * Called just before each window is sent, with the trace time of its first op and its op count (the DRAM
   * trace export, at --window 1, stamps the traffic each op causes with its time).
   */
  readonly onSend?: (t: number, ops: number) => void;
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
/** Most bytes one window carries: a vector's frame stays well below the daemon's limit and the lane batches. */
const MAX_WINDOW_BYTES = 1024 * 1024;
/** Room in a frame for the request fields beside the bytes. */
const FRAME_SLACK = 64 * 1024;
/** Paced replay (--speed 1x, Nx): ops due within this many ms of a window's first go in that window. */
const PACE_MS = 1;

/** Fetch the daemon's RSS and heap from its /metrics (prom-client default metric names). */
export async function daemonMemory(url: string): Promise<DaemonMemory | undefined> {
  try {
    const u = new URL(url);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = '/metrics';
    const text = await getText(u, 5000);
    if (text === undefined) return undefined;
    const metric = (name: string): number | undefined => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return { rssBytes: metric('process_resident_memory_bytes'), heapUsedBytes: metric('nodejs_heap_size_used_bytes') };
  } catch {
    return undefined;
  }
}

/**
 * GET a URL's body as text (undefined unless 200), through node:http(s), which the WebSocket client
 * has loaded already: global fetch loads undici, about 40 ms of a replay's start and end.
 */
function getText(u: URL, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = (u.protocol === 'https:' ? httpsGet : httpGet)(u, { timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(undefined);
        return;
      }
      res.setEncoding('utf8');
      let body = '';
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      // cut off part way (the daemon stopped): settled all the same (after 'end' this changes nothing)
      res.on('close', () => resolve(undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
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
  /** The trace's regions by name (one namespace for all its connections, as in the daemon): a free forgets its range in the shadows. */
  const regionRanges = new Map<string, { readonly base: number; readonly size: number }>();
  let keepShadow = o.verify;
  const declared: Map<string, { copy: number; conn: number; name: string }>[] = Array.from({ length: o.copies }, () => new Map());

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

  // Window geometry: at most `window` bursts in flight over all copies, as `inFlight` vectors of `perWindow`
  // bursts each; a window takes at most half of it, so at least two are in flight (one is answered while the next goes).
  const vectorOpt = o.vector ?? DEFAULT_VECTOR;
  if (!Number.isInteger(vectorOpt) || vectorOpt < 0 || vectorOpt > MAX_VECTOR_ELEMENTS) throw new TraceError('E_REPLAY', `the vector size must be a whole number in [0, ${MAX_VECTOR_ELEMENTS}], got ${vectorOpt}`);
  let useVectors = vectorOpt > 0;
  const perWindow = Math.max(1, Math.min(vectorOpt || DEFAULT_VECTOR, Math.floor(o.window / (2 * o.copies))));
  const inFlight = Math.max(1, Math.floor(o.window / (perWindow * o.copies)));
  let pool: ReplayWindowPool | undefined;
  let windowBytes = MAX_WINDOW_BYTES;

  let loopOffsetNs = 0;
  /** The trace failed part way (truncated, malformed): thrown once the daemon is cleaned up. */
  let broken: unknown;
  let records: AsyncIterator<TraceColumns> | undefined;
  /**
   * The slice of the trace being replayed (readTraceColumns) and its next
   * record: a window takes records from it without waiting, and a record that
   * belongs to the next window stays where it is (the cursor only moves past
   * records taken).
   */
  let cols = new TraceColumns(Buffer.alloc(0), 0);
  let cursor = 0;
  let lastT = 0;
  let ended = false;

  /** Whether the daemon serves vectors, until the first window (servesVectors). */
  let probe: Promise<boolean> | undefined;
  /** Region declarations sent and not yet awaited (declareRegion). */
  let declaring: Promise<void>[] = [];
  /** Wait for the regions declared so far; throws the first that failed to be sent (as declareRegion would have). */
  const declarations = async (): Promise<void> => {
    const all = declaring;
    declaring = [];
    for (const r of await Promise.allSettled(all)) if (r.status === 'rejected') throw r.reason;
  };

  /** A pass over the trace starts: its reader opens. */
  const openPass = (): AsyncIterator<TraceColumns> => {
    pass++;
    lastT = 0;
    return (records = readTraceColumns(o.trace));
  };
  /**
   * The first pass's first slice, asked for while the connection opens; nextBatch takes it. (Only nextBatch
   * moves `cols` and `cursor`: a slice that landed by itself would leave the window filling mid-slice.)
   */
  let early: Promise<IteratorResult<TraceColumns>> | undefined;
  /** The next slice into `cols` (passes chained for --loop); false at the end. */
  let traceDone = false;
  const nextBatch = async (): Promise<boolean> => {
    // Once done, stay done: a window that ends with the trace is followed by one more call.
    if (traceDone) return false;
    for (;;) {
      const reader = records ?? openPass();
      const next = early ?? reader.next();
      early = undefined;
      const r = await next;
      if (!r.done) {
        cols = r.value;
        cursor = 0;
        return true;
      }
      records = undefined;
      loops++;
      loopOffsetNs += lastT + 1;
      if (!o.loop || timeUp()) {
        traceDone = true;
        return false;
      }
    }
  };

  /**
   * Assemble the next window in trace order: declare the regions met on the
   * way, then gather consecutive ops of one kind and connection, up to
   * `perWindow` bursts and `windowBytes` bytes and, when paced, those due
   * within PACE_MS of the first. Waits until its first op is due. Resolves
   * null at the end of the replay (trace done, time up, a refused region, a
   * broken trace: the pipeline then drains what is in flight).
   */
  const nextWindow = async (): Promise<ReplayWindow | null> => {
    if (ended) return null;
    try {
      const w = await fillWindow();
      if (w) return w;
    } catch (e) {
      broken = e;
    }
    ended = true;
    return null;
  };

  const fillWindow = async (): Promise<ReplayWindow | null> => {
    let w: ReplayWindow | undefined;
    let firstDueMs = 0;
    for (;;) {
      if (!w && timeUp()) return null;
      if (cursor === cols.n && !(await nextBatch())) break;
      const c = cols;
      const at = cursor;
      const kind = c.kind[at];
      // Writes and reads come from the columns; any other record (and an op the column decoder left to msgpackr) as its object.
      const rec = kind === COL_OTHER ? (c.others.get(at) as TraceRecord) : undefined;
      let op: OpName;
      let t: number;
      let conn: number;
      let addr = 0;
      let len = 0;
      if (rec) {
        if (rec.type !== 'op') {
          if (w) break;
          cursor++;
          if (rec.type === 'header') {
            if (rec.readsCarryCrc === true) keepShadow = false;
          } else if (rec.type === 'region') {
            regionRanges.set(rec.name, rec);
            // Declared at once, answered before any op leaves: a run of regions costs one round trip, not one each.
            const p = declareRegion(rec);
            p.catch(() => undefined); // awaited (and thrown) in declarations(); never unhandled meanwhile
            declaring.push(p);
          }
          continue;
        }
        op = rec.op;
        t = rec.t;
        conn = rec.conn ?? 0;
        if (rec.op === 'write' || rec.op === 'read') {
          addr = rec.addr;
          len = rec.len;
        }
      } else {
        op = kind === COL_WRITE ? 'write' : 'read';
        t = c.t[at];
        conn = c.conn[at] === ABSENT ? 0 : c.conn[at];
        addr = c.addr[at];
        len = c.len[at];
      }
      if (!w && probe) {
        useVectors = await probe;
        probe = undefined;
      }
      if (!w && declaring.length > 0) {
        await declarations();
        if (refusedRegion) return null;
      }
      const dueMs = o.speed === 'max' ? 0 : (loopOffsetNs + t) / 1e6 / o.speed;
      if (w) {
        const fits = op === w.kind && conn === w.conn && w.n < perWindow && (op === 'fence' || op === 'free' || w.bytes + len <= windowBytes) && dueMs - firstDueMs < PACE_MS;
        if (!fits) break;
      } else {
        w = pool!.take();
        w.kind = op;
        w.conn = conn;
        firstDueMs = dueMs;
        for (let copy = 0; copy < o.copies; copy++) w.clients.push(await clientFor(copy, conn));
      }
      cursor++;
      if (t > lastT) lastT = t;
      if (op === 'fence' || op === 'free') {
        w.single = rec as FenceOp | FreeOp;
        w.n = 1;
        if (op === 'free' && keepShadow) {
          // A region declared again after its free starts empty (the daemon reads it as zeros): what the
          // trace wrote there before is no longer what a read must return.
          const r = regionRanges.get((rec as FreeOp).name);
          if (r) for (const s of shadows) s.clear(r.base, r.size);
        }
        break;
      }
      const i = w.n++;
      w.addrs[i] = addr;
      w.lens[i] = len;
      w.ts[i] = t;
      if (op === 'write') {
        w.ensureData(len);
        if (rec) w.data.set((rec as WriteOp).data, w.bytes);
        else if (len <= SMALL_WRITE) {
          // A burst: copied byte by byte, no view object per write of the trace.
          const src = c.src;
          const d = w.data;
          for (let k = 0, from = c.dataAt[at], to = w.bytes; k < len; k++) d[to + k] = src[from + k];
        } else w.data.set(new Uint8Array(c.src.buffer, c.src.byteOffset + c.dataAt[at], len), w.bytes);
        if (keepShadow) for (let copy = 0; copy < o.copies; copy++) shadows[copy].write(addr, w.data.subarray(w.bytes, w.bytes + len));
        w.bytes += len;
      } else {
        w.bytes += len;
        const crc = rec ? ((rec as ReadOp).crc ?? NO_CRC) : c.crc[at] === ABSENT ? NO_CRC : c.crc[at];
        w.crcs[i] = crc;
        if (o.verify && crc === NO_CRC && keepShadow) {
          w.expects ??= Array.from({ length: o.copies }, () => []);
          for (let copy = 0; copy < o.copies; copy++) w.expects[copy][i] = shadows[copy].snapshot(addr, len);
        }
      }
      if (!rec && !keepShadow) {
        // The rest of this run of column ops, by the same rule, in one small loop (ReplayWindow.gatherWrites, gatherReads).
        const speed = o.speed === 'max' ? 0 : o.speed;
        cursor = kind === COL_WRITE ? w.gatherWrites(c, cursor, perWindow, windowBytes, speed, loopOffsetNs, firstDueMs, PACE_MS) : w.gatherReads(c, cursor, perWindow, windowBytes, speed, loopOffsetNs, firstDueMs, PACE_MS);
        if (w.lastT > lastT) lastT = w.lastT;
      }
    }
    if (!w) {
      // The trace ended after regions no op used: they are declared (and freed at the end) all the same.
      if (declaring.length > 0) await declarations();
      return null;
    }
    if (o.speed !== 'max') {
      const wait = firstDueMs - (performance.now() - started);
      if (wait > 1) await sleep(wait);
    }
    ops += w.n * o.copies;
    if (w.kind === 'write') {
      writes += w.n * o.copies;
      bytesWritten += w.bytes * o.copies;
    } else if (w.kind === 'read') {
      reads += w.n * o.copies;
      bytesRead += w.bytes * o.copies;
    }
    report();
    return w;
  };

  try {
    // Connect (and learn the daemon's frame limit and whether it serves vectors) before the first window.
    // The trace's first slice is read (and inflated) while the connection opens.
    early = openPass().next();
    early.catch(() => undefined); // awaited (and thrown) in nextBatch; never unhandled meanwhile
    const first = await clientFor(0, 0);
    windowBytes = Math.max(1, Math.min(MAX_WINDOW_BYTES, Math.floor((first.hello.maxFrameBytes - FRAME_SLACK) / (inFlight * o.copies))));
    // The probe goes first and is answered before the first window leaves; the regions are declared meanwhile.
    if (useVectors) {
      probe = servesVectors(first);
      probe.catch(() => undefined); // awaited (and thrown) in fillWindow; never unhandled meanwhile
    }
    pool = new ReplayWindowPool(perWindow, Math.min(windowBytes, perWindow * 64));
    // Replay pacing: `inFlight` senders share one producer of windows. A window is made (in trace order,
    // paced) and handed to its connection within the producer's turn, so windows leave in trace order;
    // each sender waits for its window's answer, then takes the next one. That bounds what is in flight
    // and what is read ahead, with work per window, never per burst. Plain promises, not RxJS (the
    // daemon's pipeline): its CommonJS build loads over 200 modules into every replay process, about
    // 0.1 s of start and of background compiling beside the replay.
    let turn: Promise<unknown> = Promise.resolve();
    const take = (): Promise<{ readonly w: ReplayWindow; readonly sent: Promise<void> } | null> => {
      const next = turn.then(async () => {
        const w = await nextWindow();
        return w ? { w, sent: sendWindow(w) } : null;
      });
      turn = next;
      return next;
    };
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let next = await take(); next; next = await take()) {
          await next.sent;
          pool!.give(next.w);
        }
      }),
    );
  } catch (e) {
    broken ??= e;
  }
  // Declarations still out when the replay stopped: settled before the regions are counted and freed.
  await declarations().catch((e: unknown) => {
    broken ??= e;
  });
  // Stopped part way (duration, Ctrl-C, a lost connection): close the trace file, or its stream would stay open.
  await records?.return?.(undefined).catch(() => undefined);

  let stats: StatsTotals | undefined;
  const any = clients.values().next().value as ChannelClient | undefined;
  if (any && !fatal && !broken) {
    try {
      // Buffered blocks go to the backend first, so the totals count their write-backs.
      // Sent together (one round trip): the daemon answers stats after the flush, and stats itself writes the buffered blocks back first.
      const [, st] = await Promise.all([any.flush(), any.stats()]);
      stats = st.totals;
    } catch (e) {
      problem(`stats: ${(e as Error).message}`);
    }
  }
  if (!o.keepRegions && !fatal) {
    // All at once (each connection sends them in one frame): one round trip, not one per region.
    const frees: Promise<void>[] = [];
    for (const d of declared) {
      for (const r of d.values()) {
        frees.push(
          (async () => {
            try {
              await (await clientFor(r.copy, r.conn)).free(r.name);
            } catch (e) {
              errors++;
              problem(`free ${r.name}: ${(e as Error).message}`);
            }
          })(),
        );
      }
    }
    await Promise.all(frees);
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

  /** Describe burst i of a window, as the problem lines of single accesses do. */
  function where(w: ReplayWindow, i: number, copy: number): string {
    const a = `0x${w.addrs[i].toString(16)}+${w.lens[i]} (t ${w.ts[i]}${o.copies > 1 ? `, copy ${copy}` : ''})`;
    return `${w.kind} ${a}`;
  }

  function failed(w: ReplayWindow, i: number, copy: number, text: string): void {
    errors++;
    problem(`${where(w, i, copy)}: ${text}`);
  }

  /** A request of the window was refused as a whole (or its connection lost): every burst it carried failed. */
  function refused(w: ReplayWindow, copy: number, e: Error & { code?: string }, from = 0, to = w.n): void {
    for (let i = from; i < to; i++) failed(w, i, copy, e.message);
    if (e.code === 'E_CLOSED') fatal ??= new TraceError('E_REPLAY', `connection lost: ${e.message}`);
  }

  /** Check read i of a window (its bytes at got[off, off + gotLen)) against its CRC or the bytes the replay wrote. */
  function verifyRead(w: ReplayWindow, i: number, copy: number, got: Uint8Array, off: number, gotLen: number): void {
    if (!o.verify) return;
    const len = w.lens[i];
    if (gotLen !== len) {
      mismatches++;
      problem(`${where(w, i, copy)}: got ${gotLen} bytes`);
      return;
    }
    const crc = w.crcs[i];
    if (crc !== NO_CRC) {
      verifiedReads++;
      const have = crc32Range(got, off, len);
      if (have !== crc) {
        mismatches++;
        problem(`${where(w, i, copy)}: CRC-32 ${have.toString(16).padStart(8, '0')}, trace says ${crc.toString(16).padStart(8, '0')}`);
      }
      return;
    }
    if (!keepShadow) {
      // The header promised a CRC with every read, so the replay kept no copy of the written bytes to check this one against.
      errors++;
      problem(`${where(w, i, copy)}: no crc, though the trace's header says readsCarryCrc: not verified`);
      return;
    }
    const expect = w.expects?.[copy][i];
    if (!expect) return;
    verifiedReads++;
    for (let k = 0; k < len; k++) {
      if (expect.known[k] && expect.data[k] !== got[off + k]) {
        mismatches++;
        problem(`${where(w, i, copy)}: byte ${k} is 0x${got[off + k].toString(16)}, the trace wrote 0x${expect.data[k].toString(16)}`);
        break;
      }
    }
  }

  /** Send a window on every copy's connection and account for the answers; never rejects. */
  async function sendWindow(w: ReplayWindow): Promise<void> {
    if (o.copies === 1) return sendCopy(w, 0);
    await Promise.all(w.clients.map((_c, copy) => sendCopy(w, copy)));
  }

  async function sendCopy(w: ReplayWindow, copy: number): Promise<void> {
    const c = w.clients[copy];
    const shift = offset + copy * slice;
    o.onSend?.(w.single ? w.single.t : w.ts[0], w.n);
    const t0 = process.hrtime.bigint();
    const done = (): void => latency.add(Number(process.hrtime.bigint() - t0), w.n);
    if (w.single) {
      const rec = w.single;
      let p: Promise<void>;
      let what: string;
      if (rec.op === 'fence') {
        what = `fence (t ${rec.t})`;
        p = c.fence();
      } else {
        const name = regionName(rec.name, copy);
        declared[copy].delete(name);
        what = `free ${name} (t ${rec.t})`;
        p = c.free(name);
      }
      try {
        await p;
        done();
      } catch (e) {
        errors++;
        problem(`${what}: ${(e as Error).message}`);
        if ((e as { code?: string }).code === 'E_CLOSED') fatal ??= new TraceError('E_REPLAY', `connection lost: ${(e as Error).message}`);
      }
      return;
    }
    if (!useVectors) return sendSingles(w, copy, c, shift, done);
    const addrs = w.addrsFor(copy, shift);
    const lens = w.lens.subarray(0, w.n);
    try {
      if (w.kind === 'write') {
        const bad = await c.writev(addrs, lens, w.data.subarray(0, w.bytes));
        done();
        for (const f of bad) failed(w, f.index, copy, `${f.code}: ${f.message}`);
      } else {
        const { data, failed: bad } = await c.readv(addrs, lens);
        done();
        let next = 0;
        let off = 0;
        for (let i = 0; i < w.n; i++) {
          const len = w.lens[i];
          if (next < bad.length && bad[next].index === i) {
            failed(w, i, copy, `${bad[next].code}: ${bad[next].message}`);
            next++;
          } else verifyRead(w, i, copy, data, off, Math.max(0, Math.min(len, data.length - off))); // the range, not a view of it: no object per read (a short answer is a short read)
          off += len;
        }
      }
    } catch (e) {
      refused(w, copy, e as Error & { code?: string });
    }
  }

  /** A daemon without vectors (or --vector 0): the window's bursts as single requests, pipelined. */
  async function sendSingles(w: ReplayWindow, copy: number, c: ChannelClient, shift: number, done: () => void): Promise<void> {
    const calls: Promise<Uint8Array | void>[] = [];
    let off = 0;
    for (let i = 0; i < w.n; i++) {
      const len = w.lens[i];
      calls.push(w.kind === 'write' ? c.write(w.addrs[i] + shift, w.data.subarray(off, off + len)) : c.read(w.addrs[i] + shift, len));
      if (w.kind === 'write') off += len;
    }
    const answers = await Promise.allSettled(calls);
    done();
    for (let i = 0; i < w.n; i++) {
      const a = answers[i];
      if (a.status === 'rejected') refused(w, copy, a.reason as Error & { code?: string }, i, i + 1);
      else if (w.kind === 'read') {
        const got = a.value as Uint8Array;
        verifyRead(w, i, copy, got, 0, got.length);
      }
    }
  }
}

/**
 * Whether the daemon behind `c` answers burst vectors (protocol section 4.8):
 * a daemon that predates them refuses a `readv` (E_UNKNOWN_OP). The probe
 * reads zero bytes at address 0 on every channel, which changes nothing.
 * A lost connection is not a refusal: the replay stops as it would anyway.
 */
async function servesVectors(c: ChannelClient): Promise<boolean> {
  try {
    await Promise.all(c.channels.map((ch) => ch.readv([0], [0])));
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'E_CLOSED') throw new TraceError('E_REPLAY', `connection lost: ${(e as Error).message}`);
    return false;
  }
}
