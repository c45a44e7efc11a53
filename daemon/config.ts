import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { MAX_CHANNELS, parseChannel } from '../protocol/channel.ts';
import { isRedisUrl, parseRedisUrl } from './backend/redis-url.ts';
import { CODEC_NAMES } from './codecs/codec.ts';
import { DEFAULT_CODEC_CLOCK_MHZ, MAX_GBPS, MAX_PJ_PER_BIT, MEMORY_NAMES, memoryModel } from './energy/index.ts';

/**
 * Daemon settings. Each comes from, in decreasing precedence: a command-line
 * flag, an environment variable, the JSON config file (`--config FILE` or
 * SHIMPACK_CONFIG), the built-in default. The table below is the single
 * source for all four and for docs/daemon.md.
 */
export interface DaemonConfig {
  readonly host: string;
  readonly port: number;
  readonly lanes: number;
  readonly blockSize: number;
  readonly burstBytes: number;
  readonly lineBufferBytes: number;
  readonly metadataCacheBytes: number;
  readonly lineBufferIdleMs: number;
  readonly maxFrameBytes: number;
  readonly batchBytes: number;
  readonly laneBatchesInFlight: number;
  readonly laneQueueBytes: number;
  readonly connInflightRequests: number;
  readonly connInflightBytes: number;
  readonly sendBufferBytes: number;
  readonly token: string;
  readonly tokenFile: string;
  readonly backend: string;
  readonly sync: string;
  readonly compactBytes: number;
  readonly backendTimeoutMs: number;
  readonly laneTimeoutMs: number;
  readonly maxMemory: number;
  readonly maxRegions: number;
  readonly maxOutstanding: number;
  readonly idleTimeoutMs: number;
  readonly metricsRegionLabels: number;
  readonly shutdownTimeoutMs: number;
  /** Trace file recording every accepted request ('' = off). */
  readonly record: string;
  /** "I/N": this daemon serves memory channel I of N (protocol/channel.ts). */
  readonly channel: string;
  readonly channelGranule: number;
  /** DRAM type of the energy and time model (energy/memory.ts). */
  readonly memory: string;
  /** Energy per bit and bandwidth given directly (0: the --memory preset's). */
  readonly memoryPjPerBit: number;
  readonly memoryGbps: number;
  /** Clock of the codec engines, one per lane (energy/codec-cost.ts). */
  readonly codecClockMhz: number;
  /** Codecs the lanes also code sampled blocks with, comma-separated ('' = off). */
  readonly shadow: string;
  /** Shadow-code one block in this many (by block index). */
  readonly shadowSample: number;
}

type Kind = 'int' | 'string' | 'number';
export interface SettingSpec {
  readonly key: keyof DaemonConfig;
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
  readonly defaultValue: () => number | string;
}

/** Codecs `--shadow` takes: every coding codec (raw would only repeat the raw size). */
export const SHADOW_CODECS = CODEC_NAMES.filter((c) => c !== 'raw');

/** The `--shadow` list, checked: known coding codecs, each once ([] when off). */
export function parseShadowList(v: string): string[] {
  if (v.trim() === '') return [];
  const list = v.split(',').map((x) => x.trim());
  for (const c of list) {
    if (c === '') throw new ConfigError(`shadow must be codec names separated by commas (${SHADOW_CODECS.join(',')}), got ${JSON.stringify(v)}`);
    if (!(SHADOW_CODECS as readonly string[]).includes(c)) {
      throw new ConfigError(`shadow: unknown codec "${c}"${c === 'raw' ? ' (raw codes nothing: its figure is the raw size)' : ''}; shadow codecs: ${SHADOW_CODECS.join(', ')}`);
    }
  }
  const dup = list.find((c, i) => list.indexOf(c) !== i);
  if (dup) throw new ConfigError(`shadow names codec "${dup}" twice`);
  return list;
}

const KiB = 1024;
const MiB = 1024 * 1024;

export const SETTINGS: readonly SettingSpec[] = [
  { key: 'host', flag: '--host', env: 'SHIMPACK_HOST', kind: 'string', help: 'address to listen on', defaultValue: () => '127.0.0.1' },
  { key: 'port', flag: '--port', env: 'SHIMPACK_PORT', kind: 'int', min: 0, max: 65535, help: 'TCP port for WebSocket, /metrics and /healthz (0: any free port)', defaultValue: () => 7420 },
  { key: 'lanes', flag: '--lanes', env: 'SHIMPACK_LANES', kind: 'int', min: 1, max: 64, help: 'parallel codec lanes (worker threads)', defaultValue: () => availableParallelism() },
  { key: 'blockSize', flag: '--block-size', env: 'SHIMPACK_BLOCK_SIZE', kind: 'int', min: 64, max: 1 * MiB, help: 'default bytes per coded block (regions may override)', defaultValue: () => 4 * KiB },
  { key: 'burstBytes', flag: '--burst-bytes', env: 'SHIMPACK_BURST_BYTES', kind: 'int', min: 1, max: 4096, help: 'DRAM burst size for burst accounting', defaultValue: () => 64 },
  {
    key: 'lineBufferBytes',
    flag: '--line-buffer-bytes',
    env: 'SHIMPACK_LINE_BUFFER_BYTES',
    kind: 'int',
    min: 0,
    max: 1024 * MiB,
    help: 'on-chip buffer per lane where bursts gather into blocks (0: every access is a read-modify-write of its block, as before)',
    defaultValue: () => 64 * KiB,
  },
  { key: 'metadataCacheBytes', flag: '--metadata-cache-bytes', env: 'SHIMPACK_METADATA_CACHE_BYTES', kind: 'int', min: 0, max: 1024 * MiB, help: 'cache of block metadata lines (2 B per block); a miss costs a DRAM burst (0: every lookup does)', defaultValue: () => 4 * KiB },
  { key: 'lineBufferIdleMs', flag: '--line-buffer-idle-ms', env: 'SHIMPACK_LINE_BUFFER_IDLE_MS', kind: 'int', min: 0, max: 3_600_000, help: 'write buffered blocks back after this long without any access (0: only on completion, eviction, fence, flush, stats, free and shutdown)', defaultValue: () => 1000 },
  { key: 'maxFrameBytes', flag: '--max-frame-bytes', env: 'SHIMPACK_MAX_FRAME_BYTES', kind: 'int', min: 4 * KiB, max: 256 * MiB, help: 'largest request/response frame', defaultValue: () => 16 * MiB },
  { key: 'batchBytes', flag: '--batch-bytes', env: 'SHIMPACK_BATCH_BYTES', kind: 'int', min: 1, max: 64 * MiB, help: 'target raw bytes per message to a lane worker', defaultValue: () => 64 * KiB },
  { key: 'laneBatchesInFlight', flag: '--lane-batches', env: 'SHIMPACK_LANE_BATCHES', kind: 'int', min: 1, max: 16, help: 'batches a lane worker may hold at once', defaultValue: () => 2 },
  { key: 'laneQueueBytes', flag: '--lane-queue-bytes', env: 'SHIMPACK_LANE_QUEUE_BYTES', kind: 'int', min: 4 * KiB, max: 1024 * MiB, help: 'queued raw bytes per lane above which sockets stop being read', defaultValue: () => 4 * MiB },
  { key: 'connInflightRequests', flag: '--conn-inflight', env: 'SHIMPACK_CONN_INFLIGHT', kind: 'int', min: 1, max: 1_000_000, help: 'unanswered requests per connection above which its socket stops being read', defaultValue: () => 1024 },
  { key: 'connInflightBytes', flag: '--conn-inflight-bytes', env: 'SHIMPACK_CONN_INFLIGHT_BYTES', kind: 'int', min: 4 * KiB, max: 4096 * MiB, help: 'unanswered request bytes (write data + read lengths) per connection before pausing it', defaultValue: () => 32 * MiB },
  { key: 'sendBufferBytes', flag: '--send-buffer-bytes', env: 'SHIMPACK_SEND_BUFFER_BYTES', kind: 'int', min: 4 * KiB, max: 4096 * MiB, help: 'unsent response bytes per connection before pausing it', defaultValue: () => 8 * MiB },
  { key: 'token', flag: '--token', env: 'SHIMPACK_TOKEN', kind: 'string', help: 'if set, hello must carry this token', defaultValue: () => '' },
  { key: 'tokenFile', flag: '--token-file', env: 'SHIMPACK_TOKEN_FILE', kind: 'string', help: 'file of tokens, one per line: TOKEN SPACE [spaces] (docs/hardening.md)', defaultValue: () => '' },
  { key: 'backend', flag: '--backend', env: 'SHIMPACK_BACKEND', kind: 'string', help: 'where blocks live: memory, file:DIR (persistent log), redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT,HOST:PORT,... (options ?prefix=P&wait=N; docs/scaling.md)', defaultValue: () => 'memory' },
  { key: 'sync', flag: '--sync', env: 'SHIMPACK_SYNC', kind: 'string', help: 'file and Redis backends: when a write is acknowledged: always|batch|none (docs/hardening.md)', defaultValue: () => 'batch' },
  { key: 'channel', flag: '--channel', env: 'SHIMPACK_CHANNEL', kind: 'string', help: 'I/N: serve memory channel I of N, the addresses protocol/channel.ts maps to I (docs/scaling.md)', defaultValue: () => '0/1' },
  { key: 'channelGranule', flag: '--channel-granule', env: 'SHIMPACK_CHANNEL_GRANULE', kind: 'int', min: 64, max: 2 ** 30, help: 'bytes of consecutive addresses on one channel before the next; a multiple of every block size in use', defaultValue: () => 4 * KiB },
  { key: 'compactBytes', flag: '--compact-bytes', env: 'SHIMPACK_COMPACT_BYTES', kind: 'int', min: 4 * KiB, max: 2 ** 50, help: 'file backend: compact the log once it exceeds this and twice its live data', defaultValue: () => 64 * MiB },
  { key: 'laneTimeoutMs', flag: '--lane-timeout-ms', env: 'SHIMPACK_LANE_TIMEOUT_MS', kind: 'int', min: 100, max: 3_600_000, help: 'a lane worker that has not answered its current batch for this long is stopped and replaced (its requests get E_LANE_FAILED)', defaultValue: () => 30_000 },
  { key: 'backendTimeoutMs', flag: '--backend-timeout-ms', env: 'SHIMPACK_BACKEND_TIMEOUT_MS', kind: 'int', min: 1, max: 600_000, help: 'a backend call not answered by then fails its requests with E_BACKEND', defaultValue: () => 10_000 },
  { key: 'maxMemory', flag: '--max-memory', env: 'SHIMPACK_MAX_MEMORY', kind: 'int', min: 4 * KiB, max: 2 ** 50, help: 'stored bytes (all spaces) above which writes get E_MEMORY_FULL', defaultValue: () => Math.floor(totalmem() / 2) },
  { key: 'maxRegions', flag: '--max-regions', env: 'SHIMPACK_MAX_REGIONS', kind: 'int', min: 1, max: 10_000_000, help: 'regions per address space (E_TOO_MANY_REGIONS beyond)', defaultValue: () => 65536 },
  { key: 'maxOutstanding', flag: '--max-outstanding', env: 'SHIMPACK_MAX_OUTSTANDING', kind: 'int', min: 1, max: 10_000_000, help: 'unanswered requests per connection above which new ones get E_BUSY (a batch frame can exceed --conn-inflight)', defaultValue: () => 65536 },
  { key: 'idleTimeoutMs', flag: '--idle-timeout-ms', env: 'SHIMPACK_IDLE_TIMEOUT_MS', kind: 'int', min: 0, max: 2 ** 31 - 1, help: 'close connections with nothing in flight and no frame for this long (0: never)', defaultValue: () => 3_600_000 },
  { key: 'metricsRegionLabels', flag: '--metrics-region-labels', env: 'SHIMPACK_METRICS_REGION_LABELS', kind: 'int', min: 0, max: 10_000, help: 'distinct region names used as metric labels (SPACE/NAME in a named address space); later regions share region="other"', defaultValue: () => 64 },
  { key: 'record', flag: '--record', env: 'SHIMPACK_RECORD', kind: 'string', help: 'record every request as a trace to this file (gzip when it ends in .gz)', defaultValue: () => '' },
  { key: 'memory', flag: '--memory', env: 'SHIMPACK_MEMORY', kind: 'string', help: `DRAM type of the energy and time model: ${MEMORY_NAMES.join('|')} (docs/energy.md cites each figure)`, defaultValue: () => 'hbm2' },
  { key: 'memoryPjPerBit', flag: '--memory-pj-per-bit', env: 'SHIMPACK_MEMORY_PJ_PER_BIT', kind: 'number', min: 0, max: MAX_PJ_PER_BIT, help: 'DRAM energy per bit moved, pJ (overrides the --memory preset; 0: the preset\'s)', defaultValue: () => 0 },
  { key: 'memoryGbps', flag: '--memory-gbps', env: 'SHIMPACK_MEMORY_GBPS', kind: 'number', min: 0, max: MAX_GBPS, help: 'DRAM peak bandwidth, GB/s (overrides the --memory preset; 0: the preset\'s)', defaultValue: () => 0 },
  { key: 'codecClockMhz', flag: '--codec-clock-mhz', env: 'SHIMPACK_CODEC_CLOCK_MHZ', kind: 'int', min: 1, max: 100_000, help: 'clock of the codec engines (one per lane) for the codec time in stats', defaultValue: () => DEFAULT_CODEC_CLOCK_MHZ },
  { key: 'shadow', flag: '--shadow', env: 'SHIMPACK_SHADOW', kind: 'string', help: `also code sampled blocks with these codecs, comma-separated (${SHADOW_CODECS.join(',')}), changing nothing stored; stats report what each would have stored ('' = off)`, defaultValue: () => '' },
  { key: 'shadowSample', flag: '--shadow-sample', env: 'SHIMPACK_SHADOW_SAMPLE', kind: 'int', min: 1, max: 1_000_000, help: 'shadow-code one block in N (blocks whose index is a multiple of N)', defaultValue: () => 32 },
  { key: 'shutdownTimeoutMs', flag: '--shutdown-timeout-ms', env: 'SHIMPACK_SHUTDOWN_TIMEOUT_MS', kind: 'int', min: 0, max: 600_000, help: 'how long SIGTERM waits for in-flight requests', defaultValue: () => 10_000 },
];

export class ConfigError extends Error {
  readonly code = 'E_CONFIG';
  constructor(
    message: string,
    /** The config file could not be read (missing, no permission): the environment, not a usage error. */
    readonly unreadable = false,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function parseValue(spec: SettingSpec, raw: unknown, source: string): number | string {
  if (spec.kind === 'string') {
    if (typeof raw !== 'string') throw new ConfigError(`${source}: ${spec.key} must be a string`);
    return raw;
  }
  if (spec.kind === 'number') {
    const x = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(x)) throw new ConfigError(`${source}: ${spec.key} must be a number, got ${JSON.stringify(raw)}`);
    if ((spec.min !== undefined && x < spec.min) || (spec.max !== undefined && x > spec.max)) {
      throw new ConfigError(`${source}: ${spec.key} must be between ${spec.min} and ${spec.max}, got ${x}`);
    }
    return x;
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${source}: ${spec.key} must be a whole number, got ${JSON.stringify(raw)}`);
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new ConfigError(`${source}: ${spec.key} must be between ${spec.min} and ${spec.max}, got ${n}`);
  }
  return n;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, true);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  const known = new Set(SETTINGS.map((s) => s.key as string));
  for (const k of Object.keys(json)) if (!known.has(k)) throw new ConfigError(`config file ${path}: unknown setting "${k}"`);
  return json as Record<string, unknown>;
}

/**
 * Resolve the configuration. `flags` holds values given on the command line
 * (already typed or as strings), keyed like DaemonConfig.
 */
export function resolveConfig(
  flags: Partial<Record<keyof DaemonConfig, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
  configPath?: string,
): DaemonConfig {
  const path = configPath ?? env.SHIMPACK_CONFIG;
  const file = path ? readConfigFile(path) : {};
  const out: Record<string, number | string> = {};
  for (const s of SETTINGS) {
    if (flags[s.key] !== undefined) out[s.key] = parseValue(s, flags[s.key], `flag ${s.flag}`);
    else if (env[s.env] !== undefined && env[s.env] !== '') out[s.key] = parseValue(s, env[s.env], `environment ${s.env}`);
    else if (file[s.key] !== undefined) out[s.key] = parseValue(s, file[s.key], `config file ${path}`);
    else out[s.key] = s.defaultValue();
  }
  const cfg = out as unknown as DaemonConfig;
  if (isRedisUrl(cfg.backend)) {
    try {
      parseRedisUrl(cfg.backend);
    } catch (e) {
      throw new ConfigError(`backend: ${(e as Error).message}`);
    }
  } else if (cfg.backend !== 'memory' && !/^file:.+/.test(cfg.backend)) {
    throw new ConfigError(`backend must be "memory", "file:DIR", "redis://HOST:PORT[/DB]" or "redis-cluster://HOST:PORT,...", got ${JSON.stringify(cfg.backend)}`);
  }
  const ch = parseChannel(cfg.channel);
  if (!ch) throw new ConfigError(`channel must be I/N with 0 <= I < N <= ${MAX_CHANNELS}, got ${JSON.stringify(cfg.channel)}`);
  if (ch.channels > 1 && cfg.channelGranule % cfg.blockSize !== 0) {
    throw new ConfigError(`channelGranule (${cfg.channelGranule}) must be a multiple of blockSize (${cfg.blockSize}): a block must not straddle two channels`);
  }
  if (!['always', 'batch', 'none'].includes(cfg.sync)) throw new ConfigError(`sync must be always, batch or none, got ${JSON.stringify(cfg.sync)}`);
  if (cfg.blockSize % 2 !== 0) throw new ConfigError(`blockSize must be even (int16 blocks hold whole values), got ${cfg.blockSize}`);
  try {
    memoryModel(cfg.memory, cfg.memoryPjPerBit || undefined, cfg.memoryGbps || undefined);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  parseShadowList(cfg.shadow);
  return cfg;
}

/** Defaults overridden by `overrides`, without reading flags, environment or files (tests, bench). */
export function configWith(overrides: Partial<DaemonConfig> = {}): DaemonConfig {
  return resolveConfig(overrides as Partial<Record<keyof DaemonConfig, unknown>>, {});
}
