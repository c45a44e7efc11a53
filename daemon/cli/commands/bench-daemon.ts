import { availableParallelism, loadavg } from 'node:os';
import type { Command } from 'commander';
import type { DaemonBenchRow } from '../../bench-daemon/run.ts';
import { DEFAULT_DATA_DIR, DatasetError, loadDataset } from '../../dataset/manifest.ts';
import { CliError, EXIT_USAGE, intOption } from '../io.ts';
import { ConfigError, parseShadowList } from '../../config.ts';
import { tuneHeapGrowth } from '../../server/heap-tuning.ts';
import { MAX_VECTOR_ELEMENTS } from '../../../protocol/types.ts';

function parseRate(v: string): number | 'half' {
  if (v === 'half') return 'half';
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new CliError(`--rate must be writes per second > 0 or "half", got "${v}"`, EXIT_USAGE);
  return n;
}

function parseVectors(v: string): number[] {
  return v.split(',').map((x) => intOption('--vector', 1, MAX_VECTOR_ELEMENTS)(x));
}

function formatRows(rows: DaemonBenchRow[]): string {
  const paced = rows.some((r) => r.paced);
  const variants = rows.some((r) => r.variant);
  const header = ['codec', ...(variants ? ['daemon'] : []), 'lanes', 'vector', 'write MB/s', 'write ops/s', 'w p50 us', 'w p99 us', 'read MB/s', 'read ops/s', 'r p50 us', 'r p99 us', ...(paced ? ['paced w/s', 'pw p50 us', 'pw p99 us', 'floor p99 us', 'p99/floor'] : []), 'ratio', 'verified'];
  const body = rows.map((r) => [
    r.codec,
    ...(variants ? [r.variant] : []),
    String(r.lanes),
    String(r.vector),
    (r.write.bytes / r.write.seconds / 1e6).toFixed(1),
    (r.write.ops / r.write.seconds).toFixed(0),
    r.write.p50us.toFixed(0),
    r.write.p99us.toFixed(0),
    (r.read.bytes / r.read.seconds / 1e6).toFixed(1),
    (r.read.ops / r.read.seconds).toFixed(0),
    r.read.p50us.toFixed(0),
    r.read.p99us.toFixed(0),
    ...(paced ? (r.paced ? [r.paced.offeredPerSecond.toFixed(0), r.paced.p50us.toFixed(0), r.paced.p99us.toFixed(0), r.floor?.p99us.toFixed(0) ?? '', r.p99OverFloor?.toFixed(2) ?? ''] : ['', '', '', '', '']) : []),
    r.ratio.toFixed(2),
    r.verified ? 'yes' : 'NO',
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** Per codec and lane count: write and read throughput with shadow coding against without (same run). */
function shadowCost(rows: DaemonBenchRow[]): string[] {
  const out: string[] = [];
  for (const s of rows.filter((r) => r.variant.startsWith('shadow'))) {
    const base = rows.find((r) => r.variant === 'plain' && r.codec === s.codec && r.lanes === s.lanes);
    if (!base) continue;
    const mbs = (p: DaemonBenchRow['write']): number => p.bytes / p.seconds;
    // Cost: the throughput lost with shadow coding (negative: the shadow run was the faster one, i.e. noise).
    const cost = (plain: number, shadow: number): string => `${(((plain - shadow) / plain) * 100).toFixed(1)} %`;
    out.push(`shadow cost (throughput lost; negative: within noise), ${s.codec} lanes=${s.lanes}: write ${cost(mbs(base.write), mbs(s.write))}, read ${cost(mbs(base.read), mbs(s.read))}`);
  }
  return out;
}

/** `shimpack bench daemon`: the real daemon over loopback with the real client. */
export function registerBenchDaemonCommand(bench: Command): void {
  bench
    .command('daemon')
    .description('start the daemon, drive it over loopback with the TS client (write, then read back and verify), with 1 lane and all lanes')
    .option('--codec <list>', 'comma-separated codecs (default: every registered codec)')
    .option('--connections <n>', 'client connections', intOption('--connections', 1, 256), 2)
    .option('--duration <s>', 'seconds per phase (write, read) per codec and lane count', intOption('--duration', 1, 600), 2)
    .option('--warmup <s>', 'untimed seconds of writes before each codec and lane count is measured (0: none)', intOption('--warmup', 0, 600), 1)
    .option('--write-bytes <n>', 'bytes per write/read request', intOption('--write-bytes', 1, 1 << 24), 4096)
    .option('--vector <list>', 'bursts per request, comma-separated, one row each: 1 sends single write/read requests, N > 1 sends writev/readv of N bursts of --write-bytes (scattered over a span of N bursts); ops and ops/s (and write.ops, read.ops in --json) count bursts, not requests; p50/p99 are per request; --rate applies to rows of 1', parseVectors, [1])
    .option('--depth <n>', 'requests in flight per connection', intOption('--depth', 1, 4096), 32)
    .option('--lanes <list>', 'comma-separated lane counts (default: 1 and the CPU count)')
    .option('--data <dir>', 'data set directory', DEFAULT_DATA_DIR)
    .option('--data-bytes <n>', 'bytes of real weight tensors to cycle through per connection', intOption('--data-bytes', 4096, 1 << 30), 8 << 20)
    .option(
      '--rate <r>',
      'then write at this fixed offered rate (writes/s, open loop) and report its latency, beside the latency floor: the same paced writes against a bare ws echo through one worker-thread hop, and p99/floor; "half": half the write peak just measured',
      parseRate,
    )
    .option('--url <ws-url>', 'bench this running daemon instead of starting one per lane count')
    .option('--backend <spec>', 'backend of the daemons started: memory, file:DIR, redis://HOST:PORT or redis-cluster://HOST:PORT,... (as serve --backend)', 'memory')
    .option('--channels <n>', 'start N channel daemons (serve --channel i/N) on that backend and drive them through the channel client', intOption('--channels', 1, 64), 1)
    .option('--shadow <list>', 'also run every lane count with serve --shadow LIST (after a run without), and print the throughput cost')
    .option('--shadow-sample <n>', 'with --shadow: serve --shadow-sample N (default: the daemon\'s, 32)', intOption('--shadow-sample', 1, 1_000_000))
    .option('--json', 'print JSON instead of a table')
    .action(async (o: { codec?: string; connections: number; duration: number; warmup: number; writeBytes: number; depth: number; lanes?: string; data: string; dataBytes: number; rate?: number | 'half'; url?: string; backend: string; channels: number; vector: number[]; shadow?: string; shadowSample?: number; json?: boolean }) => {
      const { CODECS } = await import('../../codecs/index.ts');
      const known = CODECS.map((c) => c.name as string);
      const codecs = o.codec ? o.codec.split(',') : known;
      for (const c of codecs) if (!known.includes(c)) throw new CliError(`--codec: "${c}" is not registered (have: ${known.join(', ')})`, EXIT_USAGE);
      // Loaded on use: the client and its WebSocket stack cost every other command's start.
      const { defaultLaneCounts, runDaemonBench } = await import('../../bench-daemon/run.ts');
      let variants: { label: string; args: string[] }[] | undefined;
      if (o.shadowSample !== undefined && o.shadow === undefined) throw new CliError('--shadow-sample goes with --shadow', EXIT_USAGE);
      if (o.shadow !== undefined) {
        if (o.url) throw new CliError('--shadow starts its own daemons: not with --url', EXIT_USAGE);
        try {
          if (parseShadowList(o.shadow).length === 0) throw new ConfigError('--shadow needs at least one codec');
        } catch (e) {
          if (e instanceof ConfigError) throw new CliError(e.message, EXIT_USAGE);
          throw e;
        }
        const sample = o.shadowSample === undefined ? [] : ['--shadow-sample', String(o.shadowSample)];
        variants = [
          { label: 'plain', args: [] },
          { label: `shadow 1/${o.shadowSample ?? 32}`, args: ['--shadow', o.shadow, ...sample] },
        ];
      }
      const laneCounts = o.lanes ? o.lanes.split(',').map((x) => intOption('--lanes', 1, 64)(x)) : defaultLaneCounts();
      let dataset;
      try {
        dataset = loadDataset(o.data);
      } catch (e) {
        if (e instanceof DatasetError) throw new CliError(e.message);
        throw e;
      }
      // The client's own full collections would count as daemon latency (heap-tuning.ts).
      tuneHeapGrowth();
      // Other work on the machine takes cores from the daemon and the client: say so next to the figures.
      const loadBefore = loadavg()[0];
      const rows = await runDaemonBench(
        { codecs, connections: o.connections, seconds: o.duration, warmupSeconds: o.warmup, writeBytes: o.writeBytes, depth: o.depth, laneCounts, dataset, dataBytes: o.dataBytes, vectors: o.vector, rate: o.rate, url: o.url, backend: o.backend, channels: o.channels, variants },
        (l) => process.stderr.write(`${l}\n`),
      );
      const machine = { cpus: availableParallelism(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] };
      if (o.json) process.stdout.write(`${JSON.stringify({ options: { ...o, codecs, laneCounts }, machine, rows }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${o.connections} connections x ${o.depth} in flight, ${o.writeBytes}-byte ${o.vector.some((n) => n > 1) ? 'bursts (vector N: N per request, ops count bursts)' : 'requests'} on real int8 weights, ${o.duration} s per phase after ${o.warmup} s of warm-up writes` +
            `${o.url ? '' : `; backend ${o.backend.replace(/\/\/[^@/]*@/, '//')}${o.channels > 1 ? `, ${o.channels} channel daemons` : ''}`}` +
            `${o.rate !== undefined ? `; paced: open-loop writes at ${o.rate === 'half' ? 'half the write peak' : `${o.rate}/s`}, latency from each write's send; floor: the same paced writes against a bare ws echo through one worker-thread hop` : ''}\n`,
        );
        process.stdout.write(`${formatRows(rows)}\n`);
        for (const l of shadowCost(rows)) process.stdout.write(`${l}\n`);
        // The figure after the run counts this run's own daemon and client too; only the one before tells of other work.
        process.stdout.write(
          `machine: ${machine.cpus} CPUs, 1-min load average ${machine.loadAverageBefore.toFixed(2)} before the run (${machine.loadAverageAfter.toFixed(2)} after, this run included)` +
            (machine.loadAverageBefore > machine.cpus / 2 ? '; other work was running: the figures are low and noisy' : '') +
            '\n',
        );
      }
      if (rows.some((r) => !r.verified)) process.exitCode = 1;
    });
}
