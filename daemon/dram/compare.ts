import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DaemonConfig } from '../config.ts';
import type { WireCodec } from '../../protocol/types.ts';
import { writeDramTrace } from '../traces/dram-export.ts';
import { TraceError } from '../traces/errors.ts';
import { recordDram, type DramRecording } from '../traces/dram-replay.ts';
import { ensureDramsim3 } from './build-cache.ts';
import { DramError } from './errors.ts';
import { parseDramConfig, type DramConfigInfo, type DramSimStats } from './parse.ts';
import { runDramsim3 } from './run.ts';

export interface DramComparisonOptions {
  readonly trace: string;
  /** A DRAMsim3 source folder (e.g. ../shared/tools/dramsim3): built once into the cache. */
  readonly dramsim3: string;
  /** DRAMsim3 configurations: names in its configs/ folder (with or without .ini), or paths to .ini files. */
  readonly configs: readonly string[];
  /** Codec of the compressed stream (default: the trace's own, or the daemon's choice by kind). */
  readonly codec?: WireCodec;
  /** Keep the exported DRAM traces and DRAMsim3's output here (default: a temporary folder, removed). */
  readonly workDir?: string;
  readonly cacheDir?: string;
  /** Settings of the embedded daemon (lanes, block size, line buffer, metadata cache). */
  readonly daemon?: Partial<DaemonConfig>;
  readonly onProgress?: (line: string) => void;
}

/** One stream (raw or compressed) as the shim sent it to DRAM. */
export interface DramStreamBursts {
  readonly codec: string;
  readonly readBursts: number;
  readonly writeBursts: number;
  /** Of those, metadata (reads and writes). */
  readonly metadataBursts: number;
  readonly bursts: number;
}

/** One stream through one DRAMsim3 configuration. */
export interface DramStreamSim extends DramSimStats {
  /** The exported trace (kept only with workDir). */
  readonly traceFile: string;
  /** (refresh + background) / total: the energy that does not scale with traffic. */
  readonly fixedEnergyShare: number;
}

export interface DramConfigComparison {
  readonly config: string;
  readonly protocol: string;
  readonly clockMhz: number;
  readonly channels: number;
  /** Cycle of the last request sent (the trace's own time span); each stream's `cycles` is when DRAMsim3 had done all of it. */
  readonly lastRequestCycle: number;
  readonly raw: DramStreamSim;
  readonly compressed: DramStreamSim;
}

export interface DramComparison {
  readonly trace: string;
  readonly dramsim3: { readonly dir: string; readonly key: string; readonly built: boolean };
  readonly raw: DramStreamBursts;
  readonly compressed: DramStreamBursts;
  readonly configs: readonly DramConfigComparison[];
}

/**
 * Run a stream for as few cycles as finish it: DRAMsim3 simulates exactly
 * -c cycles, and the cycles after the last request is done would charge
 * background energy to no traffic. The drain margin past the last request
 * doubles from 1000 cycles until DRAMsim3 counts every request done, then
 * is halved down to 0.5 % of the cycles (at least 100). Returns the stats of
 * the shortest run that finished.
 */
async function untilDone(binary: string, config: string, trace: string, bursts: number, last: number, outDir: string): Promise<DramSimStats> {
  let lastMargin = -1;
  const run = async (margin: number): Promise<DramSimStats | undefined> => {
    lastMargin = margin;
    const s = await runDramsim3(binary, config, trace, last + margin, outDir);
    return s.readsDone + s.writesDone >= bursts ? s : undefined;
  };
  let lo = 0;
  let hi = 1000;
  let best = await run(hi);
  for (let i = 0; !best; i++) {
    // 2^20 times 1000 cycles past the last request is beyond any queue: something else is wrong.
    if (i === 20) throw new DramError('E_DRAM_RUN', `DRAMsim3 did not finish ${trace} in ${last + hi} cycles`);
    lo = hi;
    hi *= 2;
    best = await run(hi);
  }
  while (hi - lo > Math.max(100, 0.005 * (last + hi))) {
    const mid = Math.floor((lo + hi) / 2);
    const s = await run(mid);
    if (s) {
      hi = mid;
      best = s;
    } else lo = mid;
  }
  // The last run may have been one that did not finish: run the best again so outDir holds its output.
  if (lastMargin !== hi) await run(hi);
  return best;
}

function resolveConfig(buildDir: string, name: string): string {
  if (existsSync(name) && statSync(name).isFile()) return name;
  const inDir = join(buildDir, 'configs', name.endsWith('.ini') ? name : `${name}.ini`);
  if (existsSync(inDir)) return inDir;
  throw new DramError('E_DRAM_CONFIG', `no DRAMsim3 configuration "${name}" (neither a file nor in ${join(buildDir, 'configs')})`);
}

function streamBursts(r: DramRecording, codec: string): DramStreamBursts {
  const s = r.replay.stats;
  return {
    codec,
    readBursts: r.recorder.readBursts,
    writeBursts: r.recorder.writeBursts,
    metadataBursts: s?.metadataBursts ?? 0,
    bursts: r.recorder.readBursts + r.recorder.writeBursts,
  };
}

/**
 * Replay a trace twice through the shim, codec raw (the like-for-like
 * baseline) and compressed, export both DRAM-side streams as DRAMsim3
 * traces at each configuration's clock, and run DRAMsim3 on each until it
 * is done (untilDone): a stream that finishes sooner is charged fewer
 * cycles of background energy.
 */
export async function runDramComparison(o: DramComparisonOptions): Promise<DramComparison> {
  if (o.configs.length === 0) throw new DramError('E_DRAM_CONFIG', 'no DRAMsim3 configuration given');
  // Before a build of a minute: a trace that is not there fails at once.
  try {
    statSync(o.trace);
  } catch (e) {
    throw new TraceError('E_TRACE_IO', `cannot read ${o.trace}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const build = await ensureDramsim3(o.dramsim3, { cacheDir: o.cacheDir, onProgress: o.onProgress });
  const configs: DramConfigInfo[] = o.configs.map((c) => parseDramConfig(resolveConfig(build.dir, c)));
  if (o.workDir !== undefined) mkdirSync(o.workDir, { recursive: true });
  const work = o.workDir ?? mkdtempSync(join(tmpdir(), 'shimpack-dram-'));
  const stem = basename(o.trace).replace(/\.trace(\.gz)?$|\.gz$/, '');
  try {
    const record = async (codec: WireCodec | undefined, label: string): Promise<DramRecording> => {
      o.onProgress?.(`replaying ${o.trace} with codec ${label} (one request at a time)`);
      const r = await recordDram({ trace: o.trace, codec, daemon: o.daemon });
      if (r.replay.mismatches > 0 || r.replay.errors > 0) {
        throw new DramError('E_DRAM_RUN', `the ${label} replay of ${o.trace} failed: ${r.replay.mismatches} mismatches, ${r.replay.errors} errors (${r.replay.problems.join('; ')})`);
      }
      return r;
    };
    const raw = await record('raw', 'raw');
    const comp = await record(o.codec, o.codec ?? "the trace's");
    const results: DramConfigComparison[] = [];
    for (const cfg of configs) {
      const clockMhz = 1000 / cfg.tCK;
      const name = basename(cfg.path).replace(/\.ini$/, '');
      const files = {
        raw: join(work, `${stem}.${name}.raw.dramsim3`),
        compressed: join(work, `${stem}.${name}.compressed.dramsim3`),
      };
      const rawExport = await writeDramTrace(raw.recorder, files.raw, 'dramsim3', { clockMhz, burstBytes: raw.burstBytes });
      const compExport = await writeDramTrace(comp.recorder, files.compressed, 'dramsim3', { clockMhz, burstBytes: comp.burstBytes });
      const last = Math.max(rawExport.lastCycle, compExport.lastCycle);
      o.onProgress?.(`DRAMsim3 ${name}: raw and compressed, each until its last request is done`);
      const simRaw = await untilDone(build.binary, cfg.path, files.raw, rawExport.bursts, rawExport.lastCycle, join(work, `${stem}.${name}.raw.out`));
      const simComp = await untilDone(build.binary, cfg.path, files.compressed, compExport.bursts, compExport.lastCycle, join(work, `${stem}.${name}.compressed.out`));
      const withShare = (s: DramSimStats, traceFile: string): DramStreamSim => ({
        ...s,
        traceFile,
        fixedEnergyShare: s.energyPj.total > 0 ? (s.energyPj.refresh + s.energyPj.background) / s.energyPj.total : 0,
      });
      results.push({
        config: name,
        protocol: cfg.protocol,
        clockMhz,
        channels: cfg.channels,
        lastRequestCycle: Math.max(rawExport.lastCycle, compExport.lastCycle),
        raw: withShare(simRaw, files.raw),
        compressed: withShare(simComp, files.compressed),
      });
    }
    return { trace: o.trace, dramsim3: { dir: build.dir, key: build.key, built: build.built }, raw: streamBursts(raw, 'raw'), compressed: streamBursts(comp, o.codec ?? 'trace'), configs: results };
  } finally {
    if (o.workDir === undefined) rmSync(work, { recursive: true, force: true });
  }
}
