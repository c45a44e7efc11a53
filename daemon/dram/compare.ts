import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DaemonConfig } from '../config.ts';
import type { WireCodec } from '../../protocol/types.ts';
import { writeDramTrace } from '../traces/dram-export.ts';
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
  /** Cycles simulated for both streams (the same, so background energies compare). */
  readonly cycles: number;
  /** Cycle of the last request in the raw trace (the trace's own time span). */
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
 * traces at each configuration's clock, and run DRAMsim3 on them. Both
 * streams of a configuration run for the same number of cycles: enough for
 * the raw one (the longer) to finish, checked by DRAMsim3's own counts.
 */
export async function runDramComparison(o: DramComparisonOptions): Promise<DramComparison> {
  if (o.configs.length === 0) throw new DramError('E_DRAM_CONFIG', 'no DRAMsim3 configuration given');
  const build = await ensureDramsim3(o.dramsim3, { cacheDir: o.cacheDir, onProgress: o.onProgress });
  const configs: DramConfigInfo[] = o.configs.map((c) => parseDramConfig(resolveConfig(build.dir, c)));
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
      // Enough even if every burst queued behind the last request on one channel, BL/2 cycles each,
      // plus room for row misses and refresh; doubled until DRAMsim3 reports every request done.
      let margin = Math.ceil((rawExport.bursts * cfg.burstLength) / 2) + 20000;
      for (let attempt = 1; ; attempt++) {
        const cycles = last + margin;
        o.onProgress?.(`DRAMsim3 ${name}: ${cycles.toLocaleString('en-US')} cycles, raw and compressed`);
        const simRaw = await runDramsim3(build.binary, cfg.path, files.raw, cycles, join(work, `${stem}.${name}.raw.out`));
        const simComp = await runDramsim3(build.binary, cfg.path, files.compressed, cycles, join(work, `${stem}.${name}.compressed.out`));
        const done = (s: DramSimStats, bursts: number): boolean => s.readsDone + s.writesDone >= bursts;
        if (done(simRaw, rawExport.bursts) && done(simComp, compExport.bursts)) {
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
            cycles,
            lastRequestCycle: last,
            raw: withShare(simRaw, files.raw),
            compressed: withShare(simComp, files.compressed),
          });
          break;
        }
        if (attempt === 4) throw new DramError('E_DRAM_RUN', `DRAMsim3 ${name} did not finish the trace in ${cycles} cycles`);
        margin *= 2;
      }
    }
    return { trace: o.trace, dramsim3: { dir: build.dir, key: build.key, built: build.built }, raw: streamBursts(raw, 'raw'), compressed: streamBursts(comp, o.codec ?? 'trace'), configs: results };
  } finally {
    if (o.workDir === undefined) rmSync(work, { recursive: true, force: true });
  }
}
