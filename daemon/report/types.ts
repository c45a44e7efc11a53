import type { RegionKind, WireCodec } from '../../protocol/types.ts';
import type { TrafficRow } from '../bench/traffic.ts';

/**
 * Everything `shimpack report` shows, gathered once (collect.ts) and turned
 * into HTML (render.ts) without further I/O. Each optional part is a Section:
 * present with its data, or absent with the reason the page prints instead of
 * numbers it does not have.
 */
export type Section<T> = { readonly state: 'ok'; readonly data: T } | { readonly state: 'absent'; readonly why: string };

export const absent = (why: string): Section<never> => ({ state: 'absent', why });
export const present = <T>(data: T): Section<T> => ({ state: 'ok', data });

/** DRAM traffic of one region after replaying the trace through the shim. */
export interface RegionTraffic {
  readonly name: string;
  /** The layer the region belongs to (layers.ts). */
  readonly layer: string;
  readonly kind: RegionKind;
  readonly codec: WireCodec;
  readonly dtype: string;
  readonly sizeBytes: number;
  readonly blockBytes: number;
  /** Bursts the client moved (what DRAM would move without the shim). */
  readonly burstsRaw: number;
  /** Bursts DRAM moved behind the shim, by direction (metadata lines included in both). */
  readonly dramReadBursts: number;
  readonly dramWriteBursts: number;
  readonly metadataBursts: number;
  /** Raw bytes of the blocks held at the end, and their stored size. */
  readonly rawBytesHeld: number;
  readonly storedBytesHeld: number;
}

/** The regions of one layer added up, in trace order. */
export interface LayerTraffic {
  readonly layer: string;
  readonly regions: number;
  readonly burstsRaw: number;
  readonly dramReadBursts: number;
  readonly dramWriteBursts: number;
  readonly metadataBursts: number;
}

export interface TrafficTotals {
  readonly burstsRaw: number;
  readonly dramReadBursts: number;
  readonly dramWriteBursts: number;
  readonly metadataBursts: number;
  readonly fills: number;
  readonly writeBacks: number;
  readonly bufferHits: number;
  readonly bufferMisses: number;
  /** Stored bytes (payloads and metadata entries) over raw bytes held. */
  readonly footprint: number;
  readonly verifiedReads: number;
  readonly reads: number;
}

/**
 * What shadow coding says each codec would have stored: per region and codec,
 * the raw bytes of the sampled blocks and what the codec made of them.
 */
export interface ShadowFigures {
  /** ok: figures from sampled blocks; pending: waiting for calibration; skipped: the codec cannot code the region (reason). */
  readonly status: 'ok' | 'pending' | 'skipped';
  readonly reason?: string;
  readonly sampledBlocks: number;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

export interface ShadowData {
  readonly sample: number;
  readonly codecs: readonly string[];
  readonly regions: readonly { readonly name: string; readonly kind: RegionKind; readonly codec: string; readonly byCodec: Readonly<Record<string, ShadowFigures>> }[];
}

/** Energy and transfer time of the replayed traffic on one memory type (daemon/energy). */
export interface EnergyRow {
  readonly memory: string;
  readonly pjPerBit: number;
  readonly gbPerSecond: number;
  /** Where the figures come from, and whether they are estimates (docs/energy.md). */
  readonly source?: string;
  readonly estimate: boolean;
  readonly raw: { readonly energyJ: number; readonly timeS: number };
  readonly dram: { readonly energyJ: number; readonly timeS: number };
}

export interface EnergyData {
  readonly rows: readonly EnergyRow[];
  /** Engine-seconds the codec engines spent (one engine per lane) at the codec clock. */
  readonly codecTimeS: number;
  readonly codecClockMhz: number;
}

/** One stream through DRAMsim3: bandwidth and energy by component (pJ, as DRAMsim3 gives them). */
export interface DramSimRun {
  /** Cycles until DRAMsim3 had served the whole stream. */
  readonly cycles: number;
  readonly bandwidthGBps: number;
  readonly energyPj: { readonly read: number; readonly write: number; readonly activate: number; readonly refresh: number; readonly background: number; readonly total: number };
  /** (refresh + background) / total: the energy that does not scale with traffic. */
  readonly fixedEnergyShare: number;
}

/** The raw and the compressed request streams through DRAMsim3 on one configuration. */
export interface DramSimConfig {
  readonly config: string;
  readonly protocol: string;
  readonly clockMhz: number;
  readonly raw: DramSimRun;
  readonly compressed: DramSimRun;
}

export interface DramSimData {
  /** Bursts of each stream as the shim sent them to DRAM. */
  readonly rawBursts: number;
  readonly compressedBursts: number;
  readonly configs: readonly DramSimConfig[];
}

export interface ReportData {
  readonly title: string;
  readonly generatedAt: string;
  readonly shimpackVersion: string;
  readonly trace: {
    readonly path: string;
    readonly fileBytes: number;
    readonly source?: string;
    readonly model?: string;
    readonly ops: number;
    readonly writeBytes: number;
    readonly readBytes: number;
    readonly burstBytes: number;
  };
  readonly settings: {
    readonly blockBytes: number;
    readonly lineBufferBytes: number;
    readonly lanes: number;
    /** Every region declared with this codec instead of the trace's. */
    readonly codec?: WireCodec;
  };
  readonly regions: readonly RegionTraffic[];
  /** Regions the trace freed before its end: gone from stats, so their traffic is only in the totals. */
  readonly freedRegions: readonly string[];
  readonly layers: readonly LayerTraffic[];
  readonly totals: TrafficTotals;
  readonly shadow: Section<ShadowData>;
  readonly energy: Section<EnergyData>;
  readonly sweep: Section<readonly TrafficRow[]>;
  readonly dramsim3: Section<DramSimData>;
}
