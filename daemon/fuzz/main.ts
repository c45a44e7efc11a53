import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCodecFuzz } from './codec-fuzz-run.ts';
import { runDaemonFuzz } from './daemon-fuzz.ts';
import { runMisuse } from './misuse.ts';
import { runKillLoop } from './kill-loop.ts';
import { spawnDaemon } from '../server/spawn-daemon.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run fuzz`: the long run. Codec decoder fuzzing (default 1,000,000
 * cases) in a watchdogged worker, then daemon fuzzing (default 100,000
 * frames) against a real `shimpack serve` process, with misuse scenarios
 * every round and the daemon's RSS sampled. Prints progress and final counts;
 * exits 1 on any finding.
 *
 * With --kill-restarts N, then the file backend's kill -9 loop (kill-loop.ts).
 *
 *   npm run fuzz -- [--codec-cases N] [--daemon-cases N] [--seed S] [--kill-restarts N]
 */
const { values } = parseArgs({
  options: {
    'codec-cases': { type: 'string', default: '1000000' },
    'daemon-cases': { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'kill-restarts': { type: 'string', default: '0' },
  },
});
const codecCases = Number(values['codec-cases']);
const daemonCases = Number(values['daemon-cases']);
const seed = Number(values.seed);
const log = (s: string): void => void process.stderr.write(s + '\n');
let failed = false;

log(`fuzz: seed ${seed}; ${codecCases} codec cases, ${daemonCases} daemon cases`);
const t0 = performance.now();
let lastShown = 0;
const codec = await runCodecFuzz({
  firstSeed: seed * 10_000_000,
  cases: codecCases,
  onProgress: (done) => {
    if (done - lastShown >= 50_000 || done === codecCases) {
      lastShown = done;
      log(`codec: ${done}/${codecCases} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  },
});
log(`codec: ${codec.cases} cases, ${codec.decoded} decoded, ${codec.codecErrors} CodecError, ${codec.findings.length} findings, ${codec.seconds.toFixed(1)} s`);
for (const f of codec.findings.slice(0, 20)) log(`  FINDING seed ${f.seed} ${f.target} [${f.how}]: ${f.problem}`);
if (codec.findings.length) failed = true;

// The daemon as its own process, so a crash shows as an exit, not as ours.
const maxFrameBytes = 1 << 20;
const daemon = await spawnDaemon(['--port', '0', '--lanes', '2', '--max-frame-bytes', String(maxFrameBytes)]);
const { child, url } = daemon;
let exited: number | null | undefined;
child.on('exit', (code) => (exited = code));
const rssMiB = (): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const round = 5000;
let daemonDone = 0;
const totals = { answers: 0, errorAnswers: 0, closes: 0, verifyOps: 0, misuseRounds: 0 };
const rss: number[] = [];
const t1 = performance.now();
for (let r = 0; daemonDone < daemonCases && exited === undefined; r++) {
  const n = Math.min(round, daemonCases - daemonDone);
  const s = await runDaemonFuzz({ url, cases: n, seed: seed * 1000 + r, connections: 3, maxFrameBytes });
  const mis = await runMisuse(url, undefined, r);
  totals.misuseRounds++;
  daemonDone += s.cases;
  totals.answers += s.answers;
  totals.errorAnswers += s.errorAnswers;
  totals.closes += s.closes;
  totals.verifyOps += s.verifyOps;
  rss.push(rssMiB());
  log(`daemon: ${daemonDone}/${daemonCases}, rss ${rss[rss.length - 1].toFixed(0)} MiB (${((performance.now() - t1) / 1000).toFixed(0)} s)`);
  for (const f of [...s.findings, ...mis]) {
    log(`  FINDING ${f}`);
    failed = true;
  }
  if (s.findings.length || mis.length) break;
}
if (exited !== undefined) {
  log(`daemon DIED (exit ${exited}): ${daemon.stderr().slice(-2000)}`);
  failed = true;
}
child.kill('SIGTERM');
const rssFirst = rss[0] ?? NaN;
const rssMax = Math.max(...rss);
log(
  `daemon: ${daemonDone} frames, ${totals.answers} answers (${totals.errorAnswers} errors), ${totals.closes} closes of unparseable frames, ` +
    `${totals.misuseRounds} misuse rounds, ${totals.verifyOps} verify ops; rss first ${rssFirst.toFixed(0)} MiB, max ${rssMax.toFixed(0)} MiB`,
);
if (rss.length >= 4 && rssMax > rssFirst + 150) {
  log('daemon: RSS grew by more than 150 MiB: unbounded memory');
  failed = true;
}
const restarts = Number(values['kill-restarts']);
if (restarts > 0) {
  const dir = mkdtempSync(join(tmpdir(), 'shimpack-kill9-'));
  const k = await runKillLoop({ restarts, dir, seed, onCycle: (c, a) => c % 10 === 0 && log(`kill -9: restart ${c}/${restarts}, ${a} acknowledged writes`) });
  rmSync(dir, { recursive: true, force: true });
  log(`kill -9: ${k.restarts} restarts, ${k.ackedWrites} acknowledged writes, ${k.blocksVerified} block checks, ${k.findings.length} findings`);
  for (const f of k.findings.slice(0, 20)) log(`  FINDING ${f}`);
  if (k.findings.length) failed = true;
}
log(`fuzz: ${codec.cases + daemonDone} cases in total, ${failed ? 'FINDINGS' : 'clean'} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
process.exit(failed ? 1 : 0);
