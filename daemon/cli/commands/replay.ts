import type { Command } from 'commander';
import { readTrace } from '../../traces/reader.ts';
import type { DaemonMemory, ReplaySummary } from '../../traces/replay.ts';
import { DEFAULT_VECTOR, DEFAULT_WINDOW } from '../../traces/replay-defaults.ts';
import { WIRE_CODECS, type WireCodec } from '../../../protocol/types.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE, choiceOption, intOption } from '../io.ts';
import { createProgress } from '../progress.ts';
import { asCli } from './trace.ts';
import { DRAM_FORMATS, type DramFormat } from '../../traces/dram-export.ts';
import { replayWithDramTrace } from './replay-dram.ts';

/**
 * `shimpack replay TRACE`: play a trace against a running daemon, verify
 * every read, and summarise throughput, latency, compression and, for soaks,
 * the daemon's memory at the start and the end.
 */

interface ReplayCliOptions {
  url: string[];
  speed: number | 'max';
  connections: number;
  loop?: boolean;
  duration?: number;
  verify: boolean;
  window: number;
  vector: number;
  token?: string;
  space?: string;
  addressOffset?: number;
  namePrefix?: string;
  keepRegions?: boolean;
  codec?: WireCodec;
  json?: boolean;
  quiet?: boolean;
  dramTrace?: string;
  dramFormat: DramFormat;
  dramClockMhz?: number;
}

function parseSpeed(v: string): number | 'max' {
  const s = v.trim().toLowerCase();
  if (s === 'max') return 'max';
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(s);
  if (!m || !(Number(m[1]) > 0)) throw new CliError(`--speed must be 1x, Nx (e.g. 10x, 0.5x) or max, got "${v}"`, EXIT_USAGE);
  return Number(m[1]);
}

/** --url repeats: one per memory channel, in channel order. */
function collectWsUrl(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), parseWsUrl(v)];
}

export function parseWsUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new CliError(`--url must be a ws:// or wss:// URL, got "${v}"`, EXIT_USAGE);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new CliError(`--url must be a ws:// or wss:// URL (the daemon's WebSocket), got "${v}"`, EXIT_USAGE);
  }
  return v;
}

function parseAddressOffset(v: string): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n >= 2 ** 48) throw new CliError(`--address-offset must be a whole number of bytes below 2^48 (decimal or 0x hex), got "${v}"`, EXIT_USAGE);
  return n;
}

function parseDuration(v: string): number {
  const n = Number(v.replace(/s$/, ''));
  if (!(n > 0) || !Number.isFinite(n)) throw new CliError(`--duration must be seconds > 0, got "${v}"`, EXIT_USAGE);
  return n;
}

const us = (ns: number): string => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} us`);
const mb = (b: number | undefined): string => (b === undefined ? 'n/a' : `${(b / 1048576).toFixed(1)} MiB`);
const memory = (m: DaemonMemory | undefined): string => (m ? `RSS ${mb(m.rssBytes)}, heap ${mb(m.heapUsedBytes)}` : 'n/a (no /metrics)');

export function formatReplaySummary(trace: string, s: ReplaySummary): string {
  const t = s.stats;
  const ratio = t ? `${t.ratio.toFixed(3)} (${t.rawBytesStored} raw bytes held in ${t.storedBytes})` : 'n/a';
  const n = (v: number): string => v.toLocaleString('en-US');
  const dram = t
    ? `raw ${n(t.burstsRaw)} bursts -> ${n(t.burstsStored)} bursts (${t.burstsRaw > 0 ? (t.burstsStored / t.burstsRaw).toFixed(3) : '1.000'}x): ${n(t.dramReadBursts)} read, ${n(t.dramWriteBursts)} written, ${n(t.metadataBursts)} of them metadata`
    : 'n/a';
  return [
    `replay ${trace}: ${s.ops} ops (${s.writes} writes, ${s.reads} reads) in ${s.seconds.toFixed(2)} s, ${s.loops} pass(es), ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'} on ${s.connections} connection(s)`,
    `  bytes: ${mb(s.bytesWritten)} written, ${mb(s.bytesRead)} read, ${s.mbPerSecond.toFixed(1)} MB/s`,
    `  latency: p50 ${us(s.latencyNs.p50)}, p99 ${us(s.latencyNs.p99)}, max ${us(s.latencyNs.max)}`,
    `  compression ratio: ${ratio}`,
    `  DRAM traffic: ${dram}`,
    ...(t && t.bufferHits + t.bufferMisses > 0
      ? [`  line buffers: ${n(t.bufferHits)} hits, ${n(t.bufferMisses)} misses, ${n(t.fills)} fills, ${n(t.writeBacks)} write-backs, ${n(t.evictions)} evictions; metadata ${n(t.metadataAccesses)} lookups, ${n(t.metadataMisses)} misses`]
      : []),
    ...(t && t.burstsStored > t.burstsRaw
      ? ['  (DRAM bursts exceed raw bursts when accesses scatter over many compressed blocks: each fetches a whole block; see docs/daemon.md, "Line buffers")']
      : []),
    `  verified reads: ${s.verifiedReads} of ${s.reads}; mismatches: ${s.mismatches}; errors: ${s.errors}`,
    `  daemon memory: start ${memory(s.daemonStart)}, end ${memory(s.daemonEnd)}`,
    ...s.problems.map((p) => `  problem: ${p}`),
  ].join('\n');
}

async function countOps(trace: string): Promise<number> {
  let n = 0;
  for await (const r of readTrace(trace)) {
    if (r.type === 'end') return r.ops;
    if (r.type === 'op') n++;
  }
  return n;
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('replay a trace against a running daemon, verify every read and summarise')
    .argument('<trace>', 'a shimpack trace (protocol/trace.md), plain or gzip')
    .option('--url <ws-url>', 'the daemon (ws:// or wss://); memory channels: once per channel daemon, in channel order (default ws://127.0.0.1:7420/)', collectWsUrl)
    .option('--speed <s>', 'pace: 1x (the trace\'s own times), Nx (N times faster) or max', parseSpeed, 'max' as const)
    .option('--connections <n>', 'independent copies of the trace, each on its own connection and address slice', intOption('--connections', 1, 64), 1)
    .option('--loop', 'start over at the end (until --duration, or Ctrl-C)')
    .option('--duration <s>', 'stop after this many seconds', parseDuration)
    .option('--verify', 'check every read against its CRC-32 or the bytes the trace wrote', true)
    .option('--no-verify', 'do not check reads')
    .option('--window <n>', 'bursts in flight at most, over all connections (16384 bursts of 64 B: 1 MiB, eight vectors)', intOption('--window', 1, 65536), DEFAULT_WINDOW)
    .option('--vector <n>', 'bursts per writev/readv request: a pacing window of consecutive writes (or reads) goes as one vector; 0 sends one request per burst (daemons without vectors get that by themselves)', intOption('--vector', 0, 65536), DEFAULT_VECTOR)
    .option('--token <token>', 'token for hello, if the daemon wants one')
    .option('--space <name>', 'replay in this address space: its regions never meet those of other spaces (protocol/README.md section 4.1)')
    .option('--address-offset <bytes>', 'add this to every address of the trace (decimal, or hex with 0x), to place it beside regions already there', parseAddressOffset)
    .option('--name-prefix <prefix>', 'put this before every region name of the trace (with --address-offset: a second copy in the same space)')
    .option('--keep-regions', 'leave the regions in the daemon afterwards (see them with shimpack regions, drop them with shimpack free)')
    .option('--codec <codec>', `declare every region with this codec instead of the trace's (${WIRE_CODECS.join(', ')}): e.g. raw, to compare DRAM bursts like for like`, choiceOption('--codec', WIRE_CODECS))
    .option('--dram-trace <file>', 'also write the request stream that reaches DRAM behind the shim (fills, write-backs, metadata; docs/dram.md); runs an embedded daemon, so no --url')
    .option('--dram-format <format>', `format of --dram-trace: ${DRAM_FORMATS.join(', ')}`, choiceOption('--dram-format', DRAM_FORMATS), 'dramsim3' as const)
    .option('--dram-clock-mhz <mhz>', '--dram-trace cycles per microsecond (default: the trace\'s clockMhz if imported, else 1000: cycle = ns)', (v: string) => {
      const n = Number(v);
      if (!(n > 0) || !Number.isFinite(n)) throw new CliError(`--dram-clock-mhz must be a number > 0, got "${v}"`, EXIT_USAGE);
      return n;
    })
    .option('--json', 'print the summary as JSON')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExit status: 0 when every read verified and nothing failed, 1 on any mismatch or error\n' +
        '(or a trace or daemon that cannot be used), 2 usage error, 70 internal error.\n' +
        'Examples:\n' +
        '  shimpack replay tiny.trace.gz --url ws://127.0.0.1:7420/\n' +
        '  shimpack replay tiny.trace.gz --loop --duration 3600 --connections 4   # an hour-long soak\n' +
        '  shimpack replay tiny.trace.gz --keep-regions --space second          # a second copy in its own address space\n' +
        '  shimpack replay tiny.trace.gz --address-offset 0x100000000 --name-prefix b/   # or beside the first, 4 GiB up\n' +
        '  shimpack replay tiny.trace.gz --url ws://host-a:7420/ --url ws://host-b:7420/   # 2 channels (docs/scaling.md)\n' +
        '  shimpack replay tiny.trace.gz --dram-trace tiny.dram.trace            # the DRAM-side stream, for DRAMsim3 (docs/dram.md)\n' +
        '\n--dram-trace starts a daemon inside this command (default settings, 2 lanes, no idle flush) and\n' +
        'replays one request at a time, so the stream is reproducible; --window and --url do not apply.',
    )
    .action(async (trace: string, o: ReplayCliOptions) =>
      asCli(async () => {
        if (o.dramTrace !== undefined) {
          await replayWithDramTrace(trace, { ...o, dramTrace: o.dramTrace }, () => countOps(trace));
          return;
        }
        const abort = new AbortController();
        const onSigint = (): void => abort.abort();
        process.once('SIGINT', onSigint);
        const showBar = !o.quiet && !o.json;
        const total = showBar && !o.loop && o.duration === undefined ? (await countOps(trace)) * o.connections : 0;
        const bar = showBar ? createProgress(total, 'replay', true) : undefined;
        let s: ReplaySummary;
        try {
          // Loaded when replay runs: the client stack (ws, msgpackr) is not every CLI start's cost.
          const { replayTrace } = await import('../../traces/replay.ts');
          s = await replayTrace({
            trace,
            url: o.url ?? ['ws://127.0.0.1:7420/'],
            speed: o.speed,
            copies: o.connections,
            loop: o.loop ?? false,
            durationS: o.duration,
            verify: o.verify,
            window: o.window,
            vector: o.vector,
            token: o.token,
            space: o.space,
            addressOffset: o.addressOffset,
            namePrefix: o.namePrefix,
            keepRegions: o.keepRegions,
            codec: o.codec,
            signal: abort.signal,
            onProgress: (p) => bar?.update(p.ops, `${p.seconds.toFixed(0)} s, pass ${p.pass}, ${p.mismatches} mismatches, ${p.errors} errors`),
          });
        } finally {
          bar?.stop();
          process.off('SIGINT', onSigint);
        }
        process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatReplaySummary(trace, s)}\n`);
        if (s.mismatches > 0 || s.errors > 0) {
          throw new CliError(`replay failed: ${s.mismatches} mismatches, ${s.errors} errors`, EXIT_BAD_INPUT);
        }
      }),
    );
}
