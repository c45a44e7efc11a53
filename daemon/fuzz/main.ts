import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCodecFuzz } from './codec-fuzz-run.ts';
import { runDaemonFuzz } from './daemon-fuzz.ts';
import { runKillLoop } from './kill-loop.ts';
import { runMisuse } from './misuse.ts';
import { spawnDaemon, type SpawnedDaemon } from '../server/spawn-daemon.ts';

/**
 * `npm run fuzz`: the long run. Codec decoder fuzzing (default 1,000,000
 * cases) in a watchdogged worker, then daemon fuzzing (default 100,000
 * frames) against a real `shimpack serve` process, with misuse scenarios
 * every round and the daemon's RSS sampled; with --kill-restarts N, then the
 * file backend's kill -9 loop (kill-loop.ts). Prints progress and final
 * counts.
 *
 * Options and exit status: HELP below (`npm run fuzz -- --help`).
 */
const HELP = `Usage: npm run fuzz -- [options]     (node dist/daemon/fuzz/main.js [options])

Fuzzes the codec decoders (JS and WebAssembly, in a watchdogged worker), then a
real \`shimpack serve\` process over raw WebSockets (frames of every class,
writev/readv vectors valid and mutated, misuse rounds, a write/read-back loop
on another connection), then optionally the file backend's kill -9 loop.
Progress goes to stderr (codec: every 50,000 cases; daemon: every round of
5,000 frames, with the rate and the daemon's RSS), then one summary line per phase.

Options:
  --codec-cases N         codec cases (default 1000000; 0 skips the phase)
  --daemon-cases N        daemon frames (default 100000; 0 skips the phase)
  --daemon-connections N  fuzzing connections at once (default 3)
  --kill-restarts N       kill -9 restarts of serve under write load (default 0: skipped)
  --daemon-seconds S      stop the daemon phase after the round under way once S s have passed
  --kill-seconds S        the same for the kill -9 loop
  --seed S                first seed (default: from the clock; printed, every case replays from it)
  -h, --help              this text

The 1,000,000-frame daemon run (docs/hardening.md):
  npm run fuzz -- --codec-cases 0 --daemon-cases 1000000 --seed S

Exit status: 0 clean, 1 findings or the run itself failed (a daemon that does
not start, dies, or stops answering; the reason is printed), 2 usage,
130/143 interrupted (SIGINT/SIGTERM). Every daemon it started is killed on exit.
`;
const log = (s: string): void => void process.stderr.write(s + '\n');

function count(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) {
    log(`fuzz: --${name} must be a whole number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return Number(raw);
}

let values: Record<string, string | undefined>;
try {
  values = parseArgs({
    options: {
      'codec-cases': { type: 'string' },
      'daemon-cases': { type: 'string' },
      seed: { type: 'string' },
      'kill-restarts': { type: 'string' },
      'daemon-seconds': { type: 'string' },
      'kill-seconds': { type: 'string' },
      'daemon-connections': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values as Record<string, string | undefined>;
} catch (e) {
  log(`fuzz: ${(e as Error).message} (--help lists the options)`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const codecCases = count('codec-cases', values['codec-cases'], 1_000_000);
const daemonCases = count('daemon-cases', values['daemon-cases'], 100_000);
const seed = count('seed', values.seed, Date.now() % 1_000_000);
const restarts = count('kill-restarts', values['kill-restarts'], 0);
const daemonSeconds = count('daemon-seconds', values['daemon-seconds'], Infinity);
const killSeconds = count('kill-seconds', values['kill-seconds'], Infinity);
const connections = count('daemon-connections', values['daemon-connections'], 3);
if (connections < 1) {
  log('fuzz: --daemon-connections must be at least 1');
  process.exit(2);
}

// An interrupted run still kills its daemons (spawn-daemon's exit hook runs on process.exit).
for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    log(`fuzz: ${signal}: stopping, daemons killed`);
    process.exit(status);
  });
}

const t0 = performance.now();
const seconds = (since: number): string => ((performance.now() - since) / 1000).toFixed(0);
const rate = (n: number, since: number): string => ((n * 1000) / (performance.now() - since)).toFixed(0);
let failed = false;
let totalCases = 0;

async function codecPhase(): Promise<void> {
  if (codecCases === 0) return;
  let lastShown = 0;
  const codec = await runCodecFuzz({
    firstSeed: seed * 10_000_000,
    cases: codecCases,
    onProgress: (done) => {
      if (done - lastShown >= 50_000 || done === codecCases) {
        lastShown = done;
        log(`codec: ${done}/${codecCases} (${seconds(t0)} s, ${rate(done, t0)} cases/s)`);
      }
    },
  });
  totalCases += codec.cases;
  log(`codec: ${codec.cases} cases, ${codec.decoded} decoded, ${codec.codecErrors} CodecError, ${codec.findings.length} findings, ${codec.seconds.toFixed(1)} s, ${(codec.cases / codec.seconds).toFixed(0)} cases/s`);
  for (const f of codec.findings.slice(0, 20)) log(`  FINDING seed ${f.seed} ${f.target} [${f.how}]: ${f.problem}`);
  if (codec.findings.length) failed = true;
}

async function daemonPhase(): Promise<void> {
  if (daemonCases === 0) return;
  // The daemon as its own process, so a crash shows as an exit, not as ours.
  const maxFrameBytes = 1 << 20;
  let daemon: SpawnedDaemon;
  try {
    daemon = await spawnDaemon(['--port', '0', '--lanes', '2', '--max-frame-bytes', String(maxFrameBytes)]);
  } catch (e) {
    log(`daemon: FAILED to start: ${(e as Error).message}`);
    failed = true;
    return;
  }
  const { child, url } = daemon;
  let exited: number | string | undefined;
  child.on('exit', (code, signal) => (exited = code ?? signal ?? 'unknown'));
  const rssMiB = (): number => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    } catch {
      return NaN; // gone, or not Linux
    }
  };
  const round = 5000;
  let done = 0;
  const totals = { answers: 0, errorAnswers: 0, closes: 0, verifyOps: 0, misuseRounds: 0 };
  const byClass: Record<string, number> = {};
  const rss: number[] = [];
  const t1 = performance.now();
  const until = t1 + daemonSeconds * 1000;
  try {
    for (let r = 0; done < daemonCases && exited === undefined; r++) {
      if (performance.now() > until) {
        log(`daemon: --daemon-seconds ${daemonSeconds} reached after ${done} frames`);
        break;
      }
      const n = Math.min(round, daemonCases - done);
      let findings: string[];
      try {
        const s = await runDaemonFuzz({ url, cases: n, seed: seed * 1000 + r, connections, maxFrameBytes });
        const mis = await runMisuse(url, undefined, r);
        totals.misuseRounds++;
        done += s.cases;
        totals.answers += s.answers;
        totals.errorAnswers += s.errorAnswers;
        totals.closes += s.closes;
        totals.verifyOps += s.verifyOps;
        for (const [k, v] of Object.entries(s.byClass)) byClass[k] = (byClass[k] ?? 0) + v;
        findings = [...s.findings, ...mis];
      } catch (e) {
        // A round that cannot even talk to the daemon (refused, reset) is a finding, not a crash of the runner.
        findings = [`round ${r}: ${(e as Error).message}`];
      }
      rss.push(rssMiB());
      log(`daemon: ${done}/${daemonCases}, rss ${rss[rss.length - 1].toFixed(0)} MiB (${seconds(t1)} s, ${rate(done, t1)} frames/s)`);
      for (const f of findings) log(`  FINDING ${f}`);
      if (findings.length) {
        failed = true;
        break;
      }
    }
  } finally {
    if (exited !== undefined) {
      log(`daemon DIED (exit ${exited}): ${daemon.stderr().slice(-2000)}`);
      failed = true;
    }
    await daemon.stop('SIGTERM');
  }
  totalCases += done;
  const rssFirst = rss[0] ?? NaN;
  const rssMax = Math.max(...rss);
  log(
    `daemon: ${done} frames, ${totals.answers} answers (${totals.errorAnswers} errors), ${totals.closes} closes of unparseable frames, ` +
      `${totals.misuseRounds} misuse rounds, ${totals.verifyOps} verify ops; rss first ${rssFirst.toFixed(0)} MiB, max ${rssMax.toFixed(0)} MiB; ${seconds(t1)} s, ${rate(done, t1)} frames/s`,
  );
  log(`daemon: frames by class: ${Object.entries(byClass).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (rss.length >= 4 && rssMax > rssFirst + 150) {
    log('daemon: RSS grew by more than 150 MiB: unbounded memory');
    failed = true;
  }
}

async function killPhase(): Promise<void> {
  if (restarts === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'shimpack-kill9-'));
  const t2 = performance.now();
  try {
    const k = await runKillLoop({
      restarts,
      dir,
      seed,
      deadline: t2 + killSeconds * 1000,
      onCycle: (c, a) => c % 10 === 0 && log(`kill -9: restart ${c}/${restarts}, ${a} acknowledged writes (${seconds(t2)} s)`),
    });
    if (k.restarts < restarts && k.findings.length === 0) log(`kill -9: --kill-seconds ${killSeconds} reached after ${k.restarts} restarts`);
    log(`kill -9: ${k.restarts} restarts, ${k.ackedWrites} acknowledged writes (${k.ackedVectors} writev), ${k.blocksVerified} block checks, ${k.findings.length} findings; ${seconds(t2)} s`);
    for (const f of k.findings.slice(0, 20)) log(`  FINDING ${f}`);
    if (k.findings.length) failed = true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

log(`fuzz: seed ${seed}; ${codecCases} codec cases, ${daemonCases} daemon cases, ${restarts} kill -9 restarts`);
try {
  await codecPhase();
  await daemonPhase();
  await killPhase();
} catch (e) {
  log(`fuzz: FAILED, the run itself broke: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
}
log(`fuzz: ${totalCases} cases in total, ${failed ? 'FINDINGS' : 'clean'} (${seconds(t0)} s)`);
process.exit(failed ? 1 : 0);
