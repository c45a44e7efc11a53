import { readFileSync } from 'node:fs';
import type { WireCodec } from '../../protocol/types.ts';
import { runTrafficSweep } from '../bench/traffic.ts';
import { METADATA_ENTRY_BYTES } from '../pipeline/metadata-cache.ts';
import { fromRoot } from '../package-root.ts';
import { traceInfo } from '../traces/info.ts';
import { ReportError } from './errors.ts';
import { groupLayers, layerOf } from './layers.ts';
import { replayForRegions } from './replay-regions.ts';
import { absent, present, type DramSimData, type EnergyRow, type RegionTraffic, type ReportData, type Section, type ShadowData } from './types.ts';

export interface ReportOptions {
  readonly trace: string;
  readonly blockBytes: number;
  readonly lineBufferBytes: number;
  readonly lanes: number;
  readonly codec?: WireCodec;
  /** Memory types for the energy and time section (names or pJ/bit:GB/s specs). */
  readonly memory: readonly string[];
  /** The block-size and buffer sweep, when asked. */
  readonly sweep?: { readonly blockSizes: readonly number[]; readonly lineBufferBytes: readonly number[] };
  /** DRAMsim3 source folder and configuration names, when asked. */
  readonly dramsim3?: { readonly dir: string; readonly configs: readonly string[] };
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
    daemonArgs: ['--burst-bytes', String(burstBytes)],
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
    shadow: shadowSection(),
    energy: energySection(o.memory),
    sweep,
    dramsim3: o.dramsim3 ? dramsimSection() : absent('Not run: pass --dramsim3 DIR --dram-config NAME to run the raw and the compressed request streams through DRAMsim3.'),
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

// The parts below come from the energy/shadow and DRAM export work (issue 15);
// until this build has them the page says so instead of showing numbers.
function shadowSection(): Section<ShadowData> {
  return absent('Shadow coding is not part of this build, so there are no per-codec footprints to show.');
}

function energySection(_memory: readonly string[]): Section<readonly EnergyRow[]> {
  return absent('The DRAM energy and time model is not part of this build.');
}

function dramsimSection(): Section<readonly DramSimData[]> {
  return absent('The DRAMsim3 runner is not part of this build.');
}
