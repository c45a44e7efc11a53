import { readFileSync } from 'node:fs';
import type { WireCodec } from '../../protocol/types.ts';
import { runTrafficSweep } from '../bench/traffic.ts';
import { METADATA_ENTRY_BYTES } from '../pipeline/metadata-cache.ts';
import { fromRoot } from '../package-root.ts';
import { traceInfo } from '../traces/info.ts';
import { ReportError } from './errors.ts';
import { groupLayers, layerOf } from './layers.ts';
import { replayForRegions } from './replay-regions.ts';
import { trafficEnergy } from '../energy/index.ts';
import { DramError } from '../dram/errors.ts';
import type { MemoryChoice } from './memory-list.ts';
import type { RegionReplay } from './replay-regions.ts';
import { absent, present, type DramSimData, type EnergyData, type RegionTraffic, type ReportData, type Section, type ShadowData, type ShadowFigures } from './types.ts';

export interface ReportOptions {
  readonly trace: string;
  readonly blockBytes: number;
  readonly lineBufferBytes: number;
  readonly lanes: number;
  readonly codec?: WireCodec;
  /** Memory types for the energy and time section (memory-list.ts). */
  readonly memory: readonly MemoryChoice[];
  /** Shadow codecs and their sample (one block in N); none: no shadow coding. */
  readonly shadow?: { readonly codecs: readonly string[]; readonly sample: number };
  /** The block-size and buffer sweep, when asked. */
  readonly sweep?: { readonly blockSizes: readonly number[]; readonly lineBufferBytes: readonly number[] };
  /** DRAMsim3 source folder and configuration names, when asked. */
  readonly dramsim3?: { readonly dir: string; readonly configs: readonly string[]; readonly cacheDir?: string };
  readonly title?: string;
  /** Long steps say what they are doing (stderr progress in the CLI). */
  readonly onStep?: (step: string, done: number, total: number) => void;
}

/**
 * Gather a report's data: the trace's summary, one replay through an
 * embedded daemon for the per-region traffic, then the optional parts. Parts
 * this build cannot produce are recorded as absent with the reason, which the
 * page prints in their place.
 */
export async function collectReport(o: ReportOptions): Promise<ReportData> {
  const info = await traceInfo(o.trace);
  const totalOps = info.ops.write + info.ops.read + info.ops.fence + info.ops.free;
  if (totalOps === 0 || info.regions.length === 0) throw new ReportError('E_REPORT_INPUT', `${o.trace} has no ${info.regions.length === 0 ? 'regions' : 'operations'} to report on`);
  const burstBytes = typeof info.header.burstBytes === 'number' ? info.header.burstBytes : 64;

  const replay = await replayForRegions({
    trace: o.trace,
    blockBytes: o.blockBytes,
    lineBufferBytes: o.lineBufferBytes,
    lanes: o.lanes,
    codec: o.codec,
    daemonArgs: ['--burst-bytes', String(burstBytes), ...(o.shadow ? ['--shadow', o.shadow.codecs.join(','), '--shadow-sample', String(o.shadow.sample)] : [])],
    onProgress: (p) => o.onStep?.('replay', p.ops, totalOps),
  });
  // Trace order, which for model traces is weights then maps, layer by layer.
  const order = new Map(info.regions.map((r, i) => [r.name, i]));
  const regions: RegionTraffic[] = [...replay.regions]
    .sort((a, b) => (order.get(a.name) ?? Infinity) - (order.get(b.name) ?? Infinity))
    .map((r) => ({
      name: r.name,
      layer: layerOf(r.name),
      kind: r.kind,
      codec: r.codec,
      dtype: r.dtype,
      sizeBytes: r.size,
      blockBytes: r.blockBytes,
      burstsRaw: r.burstsRaw,
      dramReadBursts: r.dramReadBursts,
      dramWriteBursts: r.dramWriteBursts,
      metadataBursts: r.metadataBursts,
      rawBytesHeld: r.rawBytesStored,
      storedBytesHeld: r.storedBytes,
    }));
  const t = replay.totals;

  let dramsim3: ReportData['dramsim3'] = absent('Not run: pass --dramsim3 DIR --dram-config NAME to run the raw and the compressed request streams through DRAMsim3.');
  if (o.dramsim3) {
    // Loaded only when asked: it brings the DRAM export and the runner.
    const { runDramComparison } = await import('../dram/compare.ts');
    const dramOpts = o.dramsim3;
    const c = await runDramComparison({
      trace: o.trace,
      dramsim3: dramOpts.dir,
      configs: dramOpts.configs,
      codec: o.codec,
      cacheDir: dramOpts.cacheDir,
      daemon: { lanes: o.lanes, blockSize: o.blockBytes, lineBufferBytes: o.lineBufferBytes },
      onProgress: (line) => o.onStep?.(`dramsim3: ${line}`, 0, 0),
    }).catch((e: unknown) => {
      throw e instanceof DramError ? new ReportError('E_REPORT_DRAMSIM', `${e.code}: ${e.message}`) : e;
    });
    const run = (x: (typeof c.configs)[number]['raw']): DramSimData['configs'][number]['raw'] => ({ cycles: x.cycles, bandwidthGBps: x.bandwidthGBs, energyPj: x.energyPj, fixedEnergyShare: x.fixedEnergyShare });
    dramsim3 = present({
      rawBursts: c.raw.bursts,
      compressedBursts: c.compressed.bursts,
      configs: c.configs.map((x) => ({ config: x.config, protocol: x.protocol, clockMhz: x.clockMhz, raw: run(x.raw), compressed: run(x.compressed) })),
    });
  }

  let sweep: ReportData['sweep'] = absent('Not asked: run with --sweep to replay the trace once per block size and line-buffer size.');
  if (o.sweep) {
    const total = o.sweep.blockSizes.length * o.sweep.lineBufferBytes.length;
    const rows = await runTrafficSweep({
      trace: o.trace,
      blockSizes: o.sweep.blockSizes,
      lineBufferBytes: o.sweep.lineBufferBytes,
      lanes: o.lanes,
      codec: o.codec,
      onStep: (done, _t, label) => o.onStep?.(`sweep: ${label}`, done, total),
    });
    if (rows.some((r) => !r.verified)) throw new ReportError('E_REPORT_REPLAY', `a read did not verify in the sweep over ${o.trace}`);
    sweep = present(rows);
  }

  return {
    title: o.title ?? `shimpack report: ${typeof info.header.model === 'string' ? info.header.model : o.trace}`,
    generatedAt: new Date().toISOString(),
    shimpackVersion: packageVersion(),
    trace: {
      path: o.trace,
      fileBytes: info.fileBytes,
      source: typeof info.header.source === 'string' ? info.header.source : undefined,
      model: typeof info.header.model === 'string' ? info.header.model : undefined,
      ops: totalOps,
      writeBytes: info.writeBytes,
      readBytes: info.readBytes,
      burstBytes,
    },
    settings: { blockBytes: o.blockBytes, lineBufferBytes: o.lineBufferBytes, lanes: o.lanes, codec: o.codec },
    regions,
    freedRegions: info.regions.map((r) => r.name).filter((n) => !replay.regions.some((r) => r.name === n)),
    layers: groupLayers(regions),
    totals: {
      burstsRaw: t.burstsRaw,
      dramReadBursts: t.dramReadBursts,
      dramWriteBursts: t.dramWriteBursts,
      metadataBursts: t.metadataBursts,
      fills: t.fills,
      writeBacks: t.writeBacks,
      bufferHits: t.bufferHits,
      bufferMisses: t.bufferMisses,
      footprint: t.rawBytesStored > 0 ? (t.storedBytes + METADATA_ENTRY_BYTES * t.blocksHeld) / t.rawBytesStored : 1,
      verifiedReads: replay.verifiedReads,
      reads: replay.reads,
    },
    shadow: shadowSection(replay, o.shadow),
    energy: energySection(replay, o.memory),
    sweep,
    dramsim3,
  };
}

function packageVersion(): string {
  try {
    const v = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What each shadow codec would have stored, per region, from the daemon's stats. */
function shadowSection(replay: RegionReplay, shadow: ReportOptions['shadow']): Section<ShadowData> {
  if (!shadow) return absent('Not asked: shadow coding was turned off (--no-shadow).');
  const regions = replay.regions.map((r) => {
    const byCodec: Record<string, ShadowFigures> = {};
    for (const s of r.shadow ?? []) {
      byCodec[s.codec] = { status: s.status, reason: s.reason, sampledBlocks: s.sampledBlocks, rawBytes: s.sampledRawBytes, storedBytes: s.sampledStoredBytes };
    }
    return { name: r.name, kind: r.kind, codec: r.codec, byCodec };
  });
  if (!regions.some((r) => Object.values(r.byCodec).some((f) => f.status === 'ok' && f.rawBytes > 0))) {
    return absent(`No region had a block sampled for shadow coding (one block in ${shadow.sample}); try a smaller --shadow-sample.`);
  }
  return present({ sample: shadow.sample, codecs: shadow.codecs, regions });
}

/** The first-order model (daemon/energy) on each memory type, over the replay's bursts. */
function energySection(replay: RegionReplay, memory: readonly MemoryChoice[]): Section<EnergyData> {
  if (memory.length === 0) return absent('Not asked: no memory type given (--memory).');
  const t = replay.totals;
  const burstBytes = replay.memory.burstBytes;
  const rows = memory.map((m) => {
    const e = trafficEnergy(t.burstsRaw, t.dramReadBursts + t.dramWriteBursts, burstBytes, m.model);
    return {
      memory: m.label,
      pjPerBit: m.model.pjPerBit,
      gbPerSecond: m.model.gbps,
      source: m.source,
      estimate: m.estimate,
      raw: { energyJ: e.dramEnergyRawJ, timeS: e.dramTimeRawS },
      dram: { energyJ: e.dramEnergyStoredJ, timeS: e.dramTimeStoredS },
    };
  });
  return present({ rows, codecTimeS: t.codecTimeS, codecClockMhz: replay.memory.codecClockMhz });
}
