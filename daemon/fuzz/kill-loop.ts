import { once } from 'node:events';
import { ShimpackClient } from '../../clients/ts/index.ts';
import { spawnDaemon, type SpawnedDaemon } from '../server/spawn-daemon.ts';
import { Rng } from './rng.ts';

/**
 * Crash-consistency loop for a persistent backend: start `shimpack serve
 * --backend file:DIR` (or `opts.backend`, e.g. Redis), write under load (whole and partial blocks, several
 * codecs, an APack region calibrated from its first write; a third of the
 * writes as writev vectors over several blocks), kill -9 the
 * daemon at a random moment, restart it on the same directory and check
 * every block: it must hold exactly what the acknowledged writes put there,
 * or additionally the one write to it that was in flight at the kill.
 */
export interface KillLoopOptions {
  readonly restarts: number;
  readonly dir: string;
  readonly seed: number;
  /** Default always: the mode whose acks are durable with the line buffers on (batch and none run with them off). */
  readonly sync?: 'always' | 'batch' | 'none';
  /** Another persistent --backend than file:DIR (e.g. redis://HOST:PORT): `dir` is then not used. */
  readonly backend?: string;
  /** Load time before each kill, ms (random in [min, max]). */
  readonly loadMs?: [number, number];
  /** Start no new cycle after this time (performance.now() ms); the result says how many ran. */
  readonly deadline?: number;
  /** Longest a start, a connect or a cycle's verification may take before it is a finding. Default 60 s. */
  readonly stepTimeoutMs?: number;
  onCycle?(cycle: number, ackedWrites: number): void;
  /** Each daemon's pid once it listens (tests use it to check nothing outlives the loop). */
  onStart?(pid: number): void;
}

export interface KillLoopResult {
  restarts: number;
  ackedWrites: number;
  /** Acknowledged writev requests (their elements are counted in ackedWrites). */
  ackedVectors: number;
  blocksVerified: number;
  findings: string[];
}

interface Slot {
  acked: Uint8Array;
  pending?: { offset: number; data: Uint8Array };
}

const REGIONS = [
  { name: 'k-zvc', base: 0, slots: 48, block: 4096, dtype: 'int8', kind: 'activation', codec: 'zvc' },
  { name: 'k-apack', base: 1 << 20, slots: 48, block: 1024, dtype: 'int8', kind: 'weight', codec: 'apack' },
  { name: 'k-ebpc', base: 2 << 20, slots: 32, block: 2048, dtype: 'int8', kind: 'activation', codec: 'ebpc' },
] as const;

function tensorBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.u32();
    out[i] = (r & 3) === 0 ? 0 : ((r >>> 8) % 15) - 7;
  }
  return out;
}

/** A step that does not settle in time is a finding (a wedged daemon must not hang the loop). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

function tail(text: string): string {
  const t = text.trim().split('\n').slice(-5).join(' | ');
  return t ? ` (daemon stderr: ${t.slice(-600)})` : '';
}

/**
 * Any failure of the loop itself (a daemon that does not start, exits on its
 * own, stops answering, or answers a valid write with an error) ends the run
 * as a finding with its reason; the daemon of the cycle is always killed and
 * waited for, so no daemon outlives the loop.
 */
export async function runKillLoop(opts: KillLoopOptions): Promise<KillLoopResult> {
  const res: KillLoopResult = { restarts: 0, ackedWrites: 0, ackedVectors: 0, blocksVerified: 0, findings: [] };
  const rng = new Rng(opts.seed);
  const slots = REGIONS.map((r) => Array.from({ length: r.slots }, (): Slot => ({ acked: new Uint8Array(r.block) })));
  const [lo, hi] = opts.loadMs ?? [150, 500];
  const stepMs = opts.stepTimeoutMs ?? 60_000;
  const sync = opts.sync ?? 'always';
  // Only --sync always makes a buffered write durable at its ack (written through); in the other modes the
  // line buffers may hold acknowledged bursts up to their idle interval, so the loop checks the store without them.
  const args = ['--port', '0', '--lanes', '2', '--backend', opts.backend ?? `file:${opts.dir}`, '--sync', sync, '--compact-bytes', String(256 * 1024), ...(sync === 'always' ? [] : ['--line-buffer-bytes', '0'])];
  for (let cycle = 0; cycle <= opts.restarts && res.findings.length === 0; cycle++) {
    if (opts.deadline !== undefined && performance.now() > opts.deadline) break;
    let d: SpawnedDaemon;
    try {
      d = await spawnDaemon(args, { timeoutMs: stepMs });
    } catch (e) {
      res.findings.push(`cycle ${cycle}: the daemon did not start: ${(e as Error).message}`);
      break;
    }
    const child = d.child;
    opts.onStart?.(child.pid as number);
    // Set before every kill of ours: an exit without it is the daemon dying by itself.
    let killing = false;
    let diedAlone: string | undefined;
    child.once('exit', (code, signal) => {
      if (!killing) diedAlone = `the daemon exited by itself (${code ?? signal})`;
    });
    let c: ShimpackClient | undefined;
    try {
      c = await within(ShimpackClient.connect(d.url), stepMs, 'connect');
      const client = c;
      if (cycle === 0) {
        for (const r of REGIONS) await within(client.region({ name: r.name, base: r.base, size: r.slots * r.block, dtype: r.dtype, kind: r.kind, codec: r.codec, blockBytes: r.block }), stepMs, `declare ${r.name}`);
      } else {
        // Verify every block against what was acknowledged (plus the write in flight at the kill).
        const st = await within(client.stats(), stepMs, 'stats after restart');
        if (st.regions.length !== REGIONS.length) res.findings.push(`cycle ${cycle}: ${st.regions.length} regions after restart`);
        for (let ri = 0; ri < REGIONS.length; ri++) {
          const r = REGIONS[ri];
          const all = await within(client.read(r.base, r.slots * r.block), stepMs, `read back ${r.name}`);
          for (let si = 0; si < r.slots; si++) {
            const s = slots[ri][si];
            const got = all.subarray(si * r.block, (si + 1) * r.block);
            const same = (x: Uint8Array): boolean => x.every((v, i) => v === got[i]);
            let ok = same(s.acked);
            if (!ok && s.pending) {
              const withPending = s.acked.slice();
              withPending.set(s.pending.data, s.pending.offset);
              ok = same(withPending);
            }
            if (!ok) res.findings.push(`cycle ${cycle}: ${r.name} block ${si} lost or corrupted an acknowledged write`);
            s.acked = got.slice();
            s.pending = undefined;
            res.blocksVerified++;
          }
        }
        res.restarts++;
      }
      // Load until the kill.
      const writers = Array.from({ length: 6 }, async () => {
        while (!killing) {
          // A third of the writes go as one writev of bursts to several blocks (protocol section 4.8):
          // each element is a write of its own, so each block keeps its acknowledged bytes, or those plus its element.
          const pieces: { ri: number; si: number; offset: number; data: Uint8Array }[] = [];
          const want = rng.chance(0.33) ? 2 + rng.int(5) : 1;
          for (let tries = 0; pieces.length < want && tries < 4 * want; tries++) {
            const ri = rng.int(REGIONS.length);
            const r = REGIONS[ri];
            const si = rng.int(r.slots);
            const s = slots[ri][si];
            if (s.pending) continue;
            const whole = rng.chance(0.6);
            const offset = whole ? 0 : rng.int(r.block - 1);
            const data = tensorBytes(rng, whole ? r.block : 1 + rng.int(r.block - offset - 1));
            s.pending = { offset, data };
            pieces.push({ ri, si, offset, data });
          }
          if (pieces.length === 0) {
            await new Promise((x) => setImmediate(x));
            continue;
          }
          const at = (p: (typeof pieces)[number]): number => REGIONS[p.ri].base + p.si * REGIONS[p.ri].block + p.offset;
          try {
            if (want === 1) await client.write(at(pieces[0]), pieces[0].data);
            else {
              const failed = await client.writev(
                pieces.map(at),
                pieces.map((p) => p.data.length),
                Buffer.concat(pieces.map((p) => p.data)),
              );
              if (failed.length > 0 && !killing) {
                res.findings.push(`cycle ${cycle}: writev elements failed before the kill: ${failed.map((f) => `${f.index} ${f.code}: ${f.message}`).join('; ')}`);
                return;
              }
            }
          } catch (e) {
            // After our kill: these writes stay pending (each may or may not have been stored).
            if (!killing) res.findings.push(`cycle ${cycle}: a write failed before the kill: ${(e as Error).message}${diedAlone ? `; ${diedAlone}` : ''}`);
            return;
          }
          if (want > 1) res.ackedVectors++;
          for (const p of pieces) {
            const s = slots[p.ri][p.si];
            s.acked.set(p.data, p.offset);
            s.pending = undefined;
            res.ackedWrites++;
          }
        }
      });
      await new Promise((x) => setTimeout(x, lo + rng.int(hi - lo + 1)));
      killing = true;
      child.kill('SIGKILL');
      await within(Promise.all(writers), stepMs, 'writers to see the kill');
      if (diedAlone) res.findings.push(`cycle ${cycle}: ${diedAlone}${tail(d.stderr())}`);
      opts.onCycle?.(cycle, res.ackedWrites);
    } catch (e) {
      // A lost connection is usually the daemon dying: give its exit a moment to be seen, to say so.
      if (child.exitCode === null && child.signalCode === null) await within(once(child, 'exit'), 1000, 'exit').catch(() => undefined);
      res.findings.push(`cycle ${cycle}: ${(e as Error).message}${diedAlone ? `; ${diedAlone}${tail(d.stderr())}` : ''}`);
    } finally {
      killing = true;
      await d.stop('SIGKILL');
      await c?.close().catch(() => undefined);
    }
  }
  return res;
}
