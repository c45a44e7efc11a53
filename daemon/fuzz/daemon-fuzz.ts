import { ShimpackClient } from '../../clients/ts/index.ts';
import { ERROR_CODE_LIST } from '../../protocol/types.ts';
import { decodeFrame, encodeFrame } from '../../protocol/wire.ts';
import { requestId } from '../pipeline/validate.ts';
import { frameMalformation } from '../../protocol/frame-check.ts';
import { fuzzFrame, type FuzzFrame } from './frame-gen.ts';
import { RawConnection, type WireResponse } from './raw-connection.ts';
import { Rng } from './rng.ts';

/**
 * Daemon fuzzing over real sockets. Each case sends one generated frame and
 * checks the answers against the protocol (section 2 and 5): one answer per
 * request in the frame, with its id (null when it has none), every error
 * code documented and never E_INTERNAL; a frame that is not msgpack gets
 * E_MALFORMED with id null and the connection is closed with 1007, nothing
 * else closes. Answers to writev/readv are checked element by element
 * (checkVectorAnswer). Meanwhile a separate client runs a write/read-back
 * loop on its own region, singles and vectors, which must see no error and
 * no wrong byte.
 */
export interface DaemonFuzzOptions {
  readonly url: string;
  readonly cases: number;
  readonly seed: number;
  /** Fuzzing connections run at once. */
  readonly connections?: number;
  readonly token?: string;
  /** Token (and space) of the verifying client, when it differs. */
  readonly verifyToken?: string;
  readonly maxFrameBytes?: number;
  onProgress?(done: number): void;
}

export interface DaemonFuzzSummary {
  cases: number;
  answers: number;
  errorAnswers: number;
  closes: number;
  reconnects: number;
  byClass: Record<string, number>;
  verifyOps: number;
  findings: string[];
}

const KNOWN = new Set<string>(ERROR_CODE_LIST);

/**
 * A binary frame as the daemon parses it: its requests, or 'close' when it cannot be
 * parsed. Kept per frame buffer, so expectedIds and vectorRequestsOf decode a frame once
 * and the (shared) deep-nesting frames are checked once per run.
 */
const parsed = new WeakMap<Uint8Array, unknown[] | 'close'>();
function requestsOf(data: Uint8Array): unknown[] | 'close' {
  let out = parsed.get(data);
  if (out !== undefined) return out;
  try {
    // The daemon's own rule for unparseable frames (0xc1, extension types, non-string keys, deep nesting).
    if (frameMalformation(data) !== undefined) out = 'close';
    else {
      const msg = decodeFrame(data);
      out = Array.isArray(msg) ? msg : [msg];
    }
  } catch {
    out = 'close';
  }
  parsed.set(data, out);
  return out;
}

/** The ids the protocol says the answers carry, or 'close' when the frame cannot be parsed. */
export function expectedIds(f: FuzzFrame, maxFrameBytes: number): (number | null)[] | 'close' {
  if (!f.binary) return [null];
  const items = requestsOf(f.data as Uint8Array);
  if (items === 'close') return 'close';
  if ((f.data as Uint8Array).length > maxFrameBytes * 2 + (1 << 20)) return 'close';
  return items.map(requestId);
}

/** The codes a failed element of a writev/readv may carry (protocol section 4.8): those of a single write or read. */
const ELEMENT_CODES = new Set(['E_OUT_OF_REGION', 'E_CROSS_REGION', 'E_WRONG_CHANNEL', 'E_MEMORY_FULL', 'E_BACKEND', 'E_LANE_FAILED']);

/** The writev/readv requests of a frame by id, to check their answers against (ids repeat only in mutants). */
export function vectorRequestsOf(f: FuzzFrame): Map<number, { op: 'writev' | 'readv'; lens: number[] }> {
  const out = new Map<number, { op: 'writev' | 'readv'; lens: number[] }>();
  if (!f.binary) return out;
  const items = requestsOf(f.data as Uint8Array);
  if (items === 'close') return out;
  for (const q of items as Record<string, unknown>[]) {
    if (q && typeof q === 'object' && (q.op === 'writev' || q.op === 'readv') && typeof q.id === 'number' && Array.isArray(q.lens)) {
      if (out.has(q.id)) out.delete(q.id);
      else out.set(q.id, { op: q.op, lens: q.lens as number[] });
    }
  }
  return out;
}

/**
 * An ok answer to a writev/readv: `failed` lists distinct element indexes in
 * ascending order, each with a single access's code and a message; a readv's
 * data holds exactly sum(lens) bytes, and zeros where an element failed.
 */
export function checkVectorAnswer(req: { op: 'writev' | 'readv'; lens: number[] }, r: WireResponse): string | undefined {
  const failed = (r as { failed?: unknown }).failed;
  if (!Array.isArray(failed)) return `${req.op} answer without a failed array`;
  let last = -1;
  for (const e of failed as { index?: unknown; code?: unknown; message?: unknown }[]) {
    if (!e || typeof e.index !== 'number' || !Number.isInteger(e.index) || e.index <= last || e.index >= req.lens.length) return `${req.op} failed entry with a bad index: ${JSON.stringify(e).slice(0, 100)}`;
    last = e.index;
    if (typeof e.code !== 'string' || !ELEMENT_CODES.has(e.code)) return `${req.op} element ${e.index} failed with ${String(e.code)}, not a single access's code`;
    if (typeof e.message !== 'string' || e.message === '') return `${req.op} element ${e.index} failed without a message`;
  }
  if (req.op === 'readv') {
    const total = req.lens.reduce((a, b) => a + b, 0);
    if (!(r.data instanceof Uint8Array) || r.data.length !== total) return `readv answered ${r.data instanceof Uint8Array ? r.data.length : 'no'} bytes for lens adding up to ${total}`;
    const offsets: number[] = [];
    for (let i = 0, off = 0; i < req.lens.length; off += req.lens[i], i++) offsets.push(off);
    for (const e of failed as { index: number }[]) {
      const from = offsets[e.index];
      for (let k = from; k < from + req.lens[e.index]; k++) if (r.data[k] !== 0) return `readv element ${e.index} failed but its bytes are not zero`;
    }
  }
  return undefined;
}

function check(f: FuzzFrame, want: (number | null)[], got: WireResponse[]): string | undefined {
  if (got.length !== want.length) return `${want.length} requests, ${got.length} answers`;
  const vectors = vectorRequestsOf(f);
  const pending = new Map<number | null, number>();
  for (const id of want) pending.set(id, (pending.get(id) ?? 0) + 1);
  for (const r of got) {
    const left = pending.get(r.id ?? null) ?? 0;
    if (left === 0) return `answer with unexpected id ${String(r.id)}`;
    pending.set(r.id ?? null, left - 1);
    if (typeof r.ok !== 'boolean') return 'answer without boolean ok';
    if (r.ok) {
      if (f.code) return `expected ${f.code}, got ok`;
      const v = typeof r.id === 'number' ? vectors.get(r.id) : undefined;
      const bad = v && checkVectorAnswer(v, r);
      if (bad) return bad;
      continue;
    }
    if (!r.code || !KNOWN.has(r.code)) return `undocumented code ${String(r.code)}`;
    if (r.code === 'E_INTERNAL') return `E_INTERNAL: ${r.message}`;
    if (typeof r.message !== 'string') return 'error without message';
    if (f.code && r.code !== f.code) return `expected ${f.code}, got ${r.code}: ${r.message}`;
  }
  return undefined;
}

/** Writes and reads back its own region until stopped; any mismatch or error is a finding. */
class VerifyLoop {
  ops = 0;
  private stopped = false;
  private done?: Promise<void>;
  constructor(private readonly findings: string[]) {}

  async start(url: string, token: string | undefined, seed: number): Promise<void> {
    const c = await ShimpackClient.connect(url, { token, client: 'fuzz-verify' });
    const size = 1 << 18;
    const base = 2 ** 47;
    const name = `verify-${seed}`;
    await c.region({ name, base, size, dtype: 'int8', kind: 'activation', codec: 'zvc', blockBytes: 1024 });
    const shadow = new Uint8Array(size);
    const rng = new Rng(seed);
    this.done = (async () => {
      try {
        while (!this.stopped) {
          if (rng.chance(0.5)) {
            if (!(await this.vectorRound(c, rng, base, size, shadow))) return;
            continue;
          }
          const at = rng.int(size - 5000);
          const data = rng.bytes(1 + rng.int(4096)).map((v) => (v < 128 ? 0 : v));
          const w = c.write(base + at, data);
          shadow.set(data, at);
          const r0 = rng.int(size - 8192);
          const back = await c.read(base + r0, 8192);
          await w;
          this.ops += 2;
          for (let i = 0; i < back.length; i++) {
            if (back[i] !== shadow[r0 + i]) {
              this.findings.push(`verify: byte ${r0 + i} reads ${back[i]}, wrote ${shadow[r0 + i]}`);
              return;
            }
          }
        }
        await c.free(name);
      } catch (e) {
        this.findings.push(`verify: ${(e as Error).message}`);
      } finally {
        await c.close();
      }
    })();
  }

  /**
   * A writev of bursts (overlapping at times: the later wins) and, pipelined
   * behind it, a readv over them and one element past the region's end, which
   * must fail alone with E_OUT_OF_REGION and read as zeros. False on a finding.
   */
  private async vectorRound(c: ShimpackClient, rng: Rng, base: number, size: number, shadow: Uint8Array): Promise<boolean> {
    const n = 1 + rng.int(48);
    const addrs: number[] = [];
    const lens: number[] = [];
    let at = rng.int(size - 64 * 1024);
    for (let i = 0; i < n; i++) {
      const len = rng.pick([64, 64, rng.int(300)]);
      addrs.push(at);
      lens.push(len);
      at += rng.chance(0.2) ? -rng.int(Math.min(at, 64)) : len + (rng.chance(0.2) ? rng.int(512) : 0);
    }
    const data = rng.bytes(lens.reduce((a, b) => a + b, 0)).map((v) => (v < 128 ? 0 : v));
    for (let i = 0, off = 0; i < n; off += lens[i], i++) shadow.set(data.subarray(off, off + lens[i]), addrs[i]);
    const w = c.writev(addrs.map((a) => base + a), lens, data);
    const rAddrs = [...addrs.map((a) => base + a), base + size + rng.int(4096)];
    const rLens = [...lens, 1 + rng.int(64)];
    const back = await c.readv(rAddrs, rLens);
    const wFailed = await w;
    this.ops += 2;
    if (wFailed.length > 0) {
      this.findings.push(`verify: writev inside the region failed: ${JSON.stringify(wFailed).slice(0, 200)}`);
      return false;
    }
    if (back.failed.length !== 1 || back.failed[0].index !== n || back.failed[0].code !== 'E_OUT_OF_REGION') {
      this.findings.push(`verify: readv failures ${JSON.stringify(back.failed).slice(0, 200)}, expected only element ${n} (past the region) with E_OUT_OF_REGION`);
      return false;
    }
    for (let i = 0, off = 0; i < rLens.length; off += rLens[i], i++) {
      for (let k = 0; k < rLens[i]; k++) {
        const want = i < n ? shadow[addrs[i] + k] : 0;
        if (back.data[off + k] !== want) {
          this.findings.push(`verify: readv element ${i} byte ${k} (address ${rAddrs[i] + k}) reads ${back.data[off + k]}, expected ${want}`);
          return false;
        }
      }
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function hello(conn: RawConnection, token: string | undefined): Promise<void> {
  const r = await conn.call({ op: 'hello', id: 0, version: 1, client: 'fuzz', token });
  if (!r.ok) throw new Error(`hello refused: ${r.code}`);
}

export async function runDaemonFuzz(opts: DaemonFuzzOptions): Promise<DaemonFuzzSummary> {
  const sum: DaemonFuzzSummary = { cases: 0, answers: 0, errorAnswers: 0, closes: 0, reconnects: 0, byClass: {}, verifyOps: 0, findings: [] };
  const maxFrame = opts.maxFrameBytes ?? 16 << 20;
  const regionsNow = async (): Promise<string[]> => {
    const conn = await RawConnection.open(opts.url);
    try {
      await hello(conn, opts.token);
      const r = await conn.call({ op: 'stats', id: 1 });
      return r.ok ? ((r as unknown as { regions: { name: string }[] }).regions ?? []).map((x) => x.name) : [];
    } finally {
      conn.close();
    }
  };
  const verify = new VerifyLoop(sum.findings);
  await verify.start(opts.url, opts.verifyToken ?? opts.token, opts.seed);
  // After the verify loop declared its region, which it frees itself.
  const before = new Set(await regionsNow());
  const k = opts.connections ?? 2;
  let next = 0;
  const connect = (): Promise<RawConnection> => {
    const c = RawConnection.open(opts.url).then(async (raw) => {
      await hello(raw, opts.token);
      return raw;
    });
    c.catch(() => {}); // a spare that fails is reported when it is awaited, not as an unhandled rejection
    return c;
  };
  const worker = async (w: number): Promise<void> => {
    let conn = await connect();
    // A connection opened ahead: about one frame in four is unparseable and closes the one in use.
    let spare = connect();
    let id = 1;
    while (next < opts.cases && sum.findings.length < 20) {
      const caseNo = next++;
      const rng = new Rng(opts.seed * 7919 + caseNo);
      const f = fuzzFrame(rng, w, () => id++);
      sum.byClass[f.klass] = (sum.byClass[f.klass] ?? 0) + 1;
      const want = expectedIds(f, maxFrame);
      let got: WireResponse[] | 'closed';
      try {
        got = await conn.exchange(f.data, f.binary);
      } catch (e) {
        sum.findings.push(`case ${caseNo} (${f.klass}, seed ${opts.seed}): ${(e as Error).message}`);
        break;
      }
      if (got === 'closed') {
        const before = conn.drainInbox();
        if (want !== 'close') sum.findings.push(`case ${caseNo} (${f.klass}): connection closed (${conn.closedWith}) for a parseable frame`);
        else if (conn.closedWith !== 1007 && conn.closedWith !== 1009) sum.findings.push(`case ${caseNo}: closed with ${conn.closedWith}, expected 1007/1009`);
        else if (conn.closedWith === 1007 && !(before.length === 1 && before[0].id === null && before[0].code === 'E_MALFORMED')) {
          sum.findings.push(`case ${caseNo}: unparseable frame answered ${JSON.stringify(before).slice(0, 200)}`);
        }
        sum.closes++;
        sum.reconnects++;
        conn = await spare;
        spare = connect();
      } else if (want === 'close') {
        sum.findings.push(`case ${caseNo} (${f.klass}): unparseable frame did not close the connection (answers: ${got.length})`);
      } else {
        const problem = check(f, want, got);
        if (problem) sum.findings.push(`case ${caseNo} (${f.klass}, seed ${opts.seed}): ${problem}`);
        sum.answers += got.length;
        for (const r of got) if (!r.ok) sum.errorAnswers++;
      }
      sum.cases++;
      if (sum.cases % 500 === 0) opts.onProgress?.(sum.cases);
    }
    // Leave nothing behind: free this connection's regions.
    for (let n = 0; n < 6 && conn.open; n++) await conn.exchange(encodeFrame({ op: 'free', id: id++, name: `fz${w}-${n}` }), true);
    conn.close();
    (await spare).close();
  };
  await Promise.all(Array.from({ length: k }, (_, w) => worker(w + opts.seed * 100)));
  // Mutated declarations may have made regions under other names (a byte changed in "fz0-1"): free
  // whatever this run added to the address space, so a fuzz run leaves the daemon as it found it.
  const added = (await regionsNow()).filter((n) => !before.has(n));
  if (added.length) {
    const conn = await RawConnection.open(opts.url);
    await hello(conn, opts.token);
    for (const [i, name] of added.entries()) await conn.call({ op: 'free', id: i + 1, name });
    conn.close();
  }
  await verify.stop();
  sum.verifyOps = verify.ops;
  return sum;
}
