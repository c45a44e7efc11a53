import type { ChildProcess } from 'node:child_process';
import { ShimpackClient } from '../../clients/ts/index.ts';
import { spawnDaemon } from '../server/spawn-daemon.ts';
import { Rng } from './rng.ts';

/**
 * Crash-consistency loop for the file backend: start `shimpack serve
 * --backend file:DIR`, write under load (whole and partial blocks, several
 * codecs, an APack region calibrated from its first write), kill -9 the
 * daemon at a random moment, restart it on the same directory and check
 * every block: it must hold exactly what the acknowledged writes put there,
 * or additionally the one write to it that was in flight at the kill.
 */
export interface KillLoopOptions {
  readonly restarts: number;
  readonly dir: string;
  readonly seed: number;
  readonly sync?: 'always' | 'batch' | 'none';
  /** Load time before each kill, ms (random in [min, max]). */
  readonly loadMs?: [number, number];
  onCycle?(cycle: number, ackedWrites: number): void;
}

export interface KillLoopResult {
  restarts: number;
  ackedWrites: number;
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

async function startServe(dir: string, sync: string): Promise<{ child: ChildProcess; url: string }> {
  const d = await spawnDaemon(['--port', '0', '--lanes', '2', '--backend', `file:${dir}`, '--sync', sync, '--compact-bytes', String(256 * 1024)]);
  return { child: d.child, url: d.url };
}

function tensorBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.u32();
    out[i] = (r & 3) === 0 ? 0 : ((r >>> 8) % 15) - 7;
  }
  return out;
}

export async function runKillLoop(opts: KillLoopOptions): Promise<KillLoopResult> {
  const res: KillLoopResult = { restarts: 0, ackedWrites: 0, blocksVerified: 0, findings: [] };
  const rng = new Rng(opts.seed);
  const slots = REGIONS.map((r) => Array.from({ length: r.slots }, (): Slot => ({ acked: new Uint8Array(r.block) })));
  const [lo, hi] = opts.loadMs ?? [150, 500];
  for (let cycle = 0; cycle <= opts.restarts && res.findings.length === 0; cycle++) {
    const { child, url } = await startServe(opts.dir, opts.sync ?? 'batch');
    const exited = new Promise((r) => child.once('exit', r));
    const c = await ShimpackClient.connect(url);
    try {
      if (cycle === 0) {
        for (const r of REGIONS) await c.region({ name: r.name, base: r.base, size: r.slots * r.block, dtype: r.dtype, kind: r.kind, codec: r.codec, blockBytes: r.block });
      } else {
        // Verify every block against what was acknowledged (plus the write in flight at the kill).
        const st = await c.stats();
        if (st.regions.length !== REGIONS.length) res.findings.push(`cycle ${cycle}: ${st.regions.length} regions after restart`);
        for (let ri = 0; ri < REGIONS.length; ri++) {
          const r = REGIONS[ri];
          const all = await c.read(r.base, r.slots * r.block);
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
      let killed = false;
      const writers = Array.from({ length: 6 }, async () => {
        while (!killed) {
          const ri = rng.int(REGIONS.length);
          const r = REGIONS[ri];
          const si = rng.int(r.slots);
          const s = slots[ri][si];
          if (s.pending) {
            await new Promise((x) => setImmediate(x));
            continue;
          }
          const whole = rng.chance(0.6);
          const offset = whole ? 0 : rng.int(r.block - 1);
          const data = tensorBytes(rng, whole ? r.block : 1 + rng.int(r.block - offset - 1));
          s.pending = { offset, data };
          try {
            await c.write(r.base + si * r.block + offset, data);
          } catch {
            return; // the daemon died: this write stays pending
          }
          s.acked.set(data, offset);
          s.pending = undefined;
          res.ackedWrites++;
        }
      });
      await new Promise((x) => setTimeout(x, lo + rng.int(hi - lo + 1)));
      killed = true;
      child.kill('SIGKILL');
      await Promise.all(writers);
      await exited;
      opts.onCycle?.(cycle, res.ackedWrites);
    } catch (e) {
      res.findings.push(`cycle ${cycle}: ${(e as Error).message}`);
      child.kill('SIGKILL');
    } finally {
      await c.close().catch(() => {});
    }
  }
  return res;
}
