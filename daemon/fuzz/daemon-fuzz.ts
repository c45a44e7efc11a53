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
 * else closes. Meanwhile a separate client runs a write/read-back loop on its
 * own region, which must see no error and no wrong byte.
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

/** The ids the protocol says the answers carry, or 'close' when the frame cannot be parsed. */
export function expectedIds(f: FuzzFrame, maxFrameBytes: number): (number | null)[] | 'close' {
  if (!f.binary) return [null];
  let msg: unknown;
  try {
    // The daemon's own rule for unparseable frames (0xc1, extension types, non-string keys, deep nesting).
    if (frameMalformation(f.data as Uint8Array) !== undefined) return 'close';
    msg = decodeFrame(f.data as Uint8Array);
  } catch {
    return 'close';
  }
  if ((f.data as Uint8Array).length > maxFrameBytes * 2 + (1 << 20)) return 'close';
  const items = Array.isArray(msg) ? msg : [msg];
  return items.map(requestId);
}

function check(f: FuzzFrame, want: (number | null)[], got: WireResponse[]): string | undefined {
  if (got.length !== want.length) return `${want.length} requests, ${got.length} answers`;
  const pending = new Map<number | null, number>();
  for (const id of want) pending.set(id, (pending.get(id) ?? 0) + 1);
  for (const r of got) {
    const left = pending.get(r.id ?? null) ?? 0;
    if (left === 0) return `answer with unexpected id ${String(r.id)}`;
    pending.set(r.id ?? null, left - 1);
    if (typeof r.ok !== 'boolean') return 'answer without boolean ok';
    if (r.ok) {
      if (f.code) return `expected ${f.code}, got ok`;
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
  const verify = new VerifyLoop(sum.findings);
  await verify.start(opts.url, opts.verifyToken ?? opts.token, opts.seed);
  const k = opts.connections ?? 2;
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    let conn = await RawConnection.open(opts.url);
    await hello(conn, opts.token);
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
        conn = await RawConnection.open(opts.url);
        await hello(conn, opts.token);
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
  };
  await Promise.all(Array.from({ length: k }, (_, w) => worker(w + opts.seed * 100)));
  await verify.stop();
  sum.verifyOps = verify.ops;
  return sum;
}
