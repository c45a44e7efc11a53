/**
 * `npm run soak [-- --duration 3600 --model M --connections N --lanes L --burst-bytes B]`
 *
 * A soak test of the daemon: starts `shimpack serve` as its own process on a
 * free loopback port, generates an inference trace of a small model from
 * ../shared/data, replays it in a loop for --duration seconds (default 120)
 * verifying every read, and prints the replay summary with the daemon's RSS
 * and heap at the start and the end. Exit status 1 on any mismatch or error.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReplaySummary } from '../daemon/cli/commands/replay.ts';
import { DEFAULT_DATA_DIR } from '../daemon/dataset/manifest.ts';
import { spawnDaemon } from '../daemon/server/spawn-daemon.ts';
import { generateModelTrace } from '../daemon/traces/model-gen.ts';
import { replayTrace } from '../daemon/traces/replay.ts';


const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    model: { type: 'string', default: 'faceapi-tiny-face-detector' },
    data: { type: 'string', default: DEFAULT_DATA_DIR },
    connections: { type: 'string', default: '1' },
    lanes: { type: 'string', default: '2' },
    'burst-bytes': { type: 'string', default: '64' },
  },
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    process.stderr.write(`soak: --${name} must be a number > 0, got "${v}"\n`);
    process.exit(2);
  }
  return n;
}

const durationS = positive('duration', args.duration);
const copies = Math.floor(positive('connections', args.connections));
const burstBytes = Math.floor(positive('burst-bytes', args['burst-bytes']));

/** Start `shimpack serve --port 0`; what it says after its listening line goes to our stderr. */
async function startDaemon(): Promise<{ proc: ChildProcess; url: string }> {
  const d = await spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--lanes', String(args.lanes)], { stdout: 'inherit' });
  d.child.stderr?.on('data', (x: Buffer) => process.stderr.write(x));
  return { proc: d.child, url: d.url };
}

const dir = mkdtempSync(join(tmpdir(), 'shimpack-soak-'));
let daemon: { proc: ChildProcess; url: string } | undefined;
let status = 0;
try {
  const trace = join(dir, `${args.model}.trace.gz`);
  const g = await generateModelTrace({ dataDir: args.data, model: String(args.model), out: trace, burstBytes, weights: 'int8', bandwidth: 16 });
  process.stderr.write(`soak: trace of ${args.model}: ${g.ops} ops, ${g.regions} regions, ${burstBytes}-byte bursts\n`);
  daemon = await startDaemon();
  process.stderr.write(`soak: daemon ${daemon.url} (lanes ${args.lanes}), replaying for ${durationS} s on ${copies} connection(s)\n`);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  let lastLine = 0;
  const s = await replayTrace({
    trace,
    url: daemon.url,
    speed: 'max',
    copies,
    loop: true,
    durationS,
    verify: true,
    window: 256,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.seconds - lastLine < 10) return;
      lastLine = p.seconds;
      process.stderr.write(`soak: ${p.seconds.toFixed(0)} s, ${p.ops} ops, pass ${p.loops + 1}, ${p.mismatches} mismatches, ${p.errors} errors\n`);
    },
  });
  process.stdout.write(`${formatReplaySummary(trace, s)}\n`);
  const start = s.daemonStart;
  const end = s.daemonEnd;
  if (start?.rssBytes && end?.rssBytes) {
    process.stdout.write(`  daemon RSS growth: ${((end.rssBytes - start.rssBytes) / 1048576).toFixed(1)} MiB over ${s.seconds.toFixed(0)} s\n`);
  }
  if (s.mismatches > 0 || s.errors > 0) status = 1;
} catch (e) {
  process.stderr.write(`soak: ${(e as Error).message}\n`);
  status = 1;
} finally {
  if (daemon && daemon.proc.exitCode === null) {
    const exited = new Promise((r) => daemon?.proc.once('exit', r));
    daemon.proc.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
