import type { MemoryBackend } from '../backend/backend.ts';
import type { Codec, CodecName } from '../codecs/codec.ts';
import { CODECS, codecByName } from '../codecs/index.ts';
import { dtypeAlign, type Dtype } from '../codecs/dtype.ts';
import { parseShadowList, type DaemonConfig } from '../config.ts';
import { memoryModel } from '../energy/index.ts';
import { MODE_CODED, MODE_RAW, RES_MODE, RES_OLD_MODE, SHADOW_BLOCK_LEN, SHADOW_FIELDS, SHADOW_INDEX, SHADOW_PAYLOAD, SHADOW_REGION, SHADOW_SLOT, STORED_HEADER_BYTES } from '../lanes/batch-format.ts';
import type { BlockJob, JobOutcome } from '../lanes/block-job.ts';
import type { LaneExecutor } from '../lanes/executor.ts';
import { LaneScheduler } from '../lanes/lane-scheduler.ts';
import type { DaemonMetrics } from '../metrics/metrics.ts';
import { OP_READ, OP_WRITE, type CodecTimeAccumulator, type SeriesAccumulator } from '../metrics/series-accumulator.ts';
import {
  READ_RESPONSE_OVERHEAD,
  type ReadRequest,
  type ReadvRequest,
  type WritevRequest,
  type RegionKind,
  type RegionRequest,
  type RegionResponse,
  type MemoryModelInfo,
  type StatsResponse,
  type StatsTotals,
  type WireCodec,
  type WriteRequest,
} from '../../protocol/types.ts';
import { parseChannel, servesRange, splitByChannel, type ChannelLayout } from '../../protocol/channel.ts';
import { PendingCalibration, needsStride, planModel, usesContext, type ContextOptions } from './calibration.ts';
import { FitPool, type ContextFitter } from './fit-pool.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';
import { toProtocolError } from './wire-error.ts';
import { Region, type EnergyContext } from './region.ts';
import { RegionShadow, shadowTotals } from './shadow.ts';
import { decodeRegionMeta, encodeRegionMeta } from './region-meta.ts';
import { BufferedAccess, LineBuffers } from './line-buffers.ts';
import { DRAM_DIRECT } from './dram-observer.ts';
import { RegionTable } from './region-table.ts';
import { BlockGroup, RunJob, VectorAccess, VectorBufferedAccess, type VectorListener } from './vector.ts';

/** Bytes of a write that a pending context-codec calibration keeps (to fit from). */
function keptFor(p: PendingCalibration | undefined, len: number): number {
  return p?.context ? Math.min(len, Math.max(0, p.need - p.keptBytes)) : 0;
}

/** DRAM bursts covering [addr, addr + len) with bursts aligned to their size. */
function burstsCovering(addr: number, len: number, burst: number): number {
  return len === 0 ? 0 : Math.floor((addr + len - 1) / burst) - Math.floor(addr / burst) + 1;
}

/**
 * The daemon's memory: regions, the split of accesses into blocks, the lanes
 * and the backend. Every call that starts work does its checks and hands all
 * its block jobs to the lanes synchronously, so work enters the lanes in the
 * order requests arrive; per-block FIFO lanes then keep that order.
 */
export class Engine {
  /** The default address space (connections that name none). */
  readonly regions = new RegionTable();
  /** Address spaces by name: isolated region tables ('' is the default). */
  readonly spaces = new Map<string, RegionTable>([['', this.regions]]);
  /** Raw bytes of writes admitted but not yet stored (counted against --max-memory). */
  private pendingWriteBytes = 0;
  /** Bytes pending context-codec (SCC) regions keep to fit their model from (also counted against --max-memory). */
  private calibrationBytes = 0;
  readonly scheduler: LaneScheduler;
  /** The lanes' on-chip line buffers and the DRAM-side traffic count. */
  readonly buffers: LineBuffers;
  readonly codecNames: string[] = CODECS.map((c) => c.name);
  /** The memory channel this daemon serves (--channel, --channel-granule). */
  readonly channel: ChannelLayout & { readonly index: number };
  /** The energy and time model of stats (--memory, --codec-clock-mhz). */
  readonly energy: EnergyContext;
  /** --shadow codecs, in slot order (empty: off). */
  readonly shadowCodecs: readonly WireCodec[];
  /**
   * Regions that wait for a context codec's table (their own, or a shadow
   * codec's): added when they start waiting, dropped by fitAhead once they
   * no longer do, so that a write to anything else costs fitAhead nothing.
   */
  private readonly fittingFromData = new Set<Region>();
  /** Live regions by id, for what the lanes report by id (shadow sizes, codec work). */
  private readonly byId = new Map<number, Region>();

  constructor(
    readonly config: DaemonConfig,
    readonly backend: MemoryBackend,
    readonly executor: LaneExecutor,
    readonly metrics: DaemonMetrics,
    /** Where context codecs' tables are fitted ahead (default: one thread beside the lanes, fit-pool.ts). */
    private readonly fits: ContextFitter = new FitPool(),
  ) {
    this.scheduler = new LaneScheduler(
      executor,
      backend,
      { batchBytes: config.batchBytes, batchesInFlight: config.laneBatchesInFlight, laneQueueBytes: config.laneQueueBytes },
      {
        onBatch: (lane, _jobs, rawBytes, sec) => {
          metrics.laneBatchDuration.observe({ lane: String(lane) }, sec);
          metrics.laneBatchBytes.observe({ lane: String(lane) }, rawBytes);
        },
        onShadow: (records) => this.shadowRecords(records),
        onJob: (job, results, at) => this.codecWork(job, results, at),
      },
    );
    this.energy = { memory: memoryModel(config.memory, config.memoryPjPerBit || undefined, config.memoryGbps || undefined), burstBytes: config.burstBytes, codecClockMhz: config.codecClockMhz };
    this.shadowCodecs = parseShadowList(config.shadow) as WireCodec[];
    metrics.setEnergyModel(this.energy.memory, this.energy.burstBytes);
    const ch = parseChannel(config.channel) ?? { index: 0, channels: 1 };
    this.channel = { ...ch, granule: config.channelGranule };
    metrics.heldRegions = () => [...this.spaces.values()].flatMap((t) => t.all());
    this.buffers = new LineBuffers(
      {
        lineBufferBytes: config.lineBufferBytes,
        burstBytes: config.burstBytes,
        metadataCacheBytes: config.metadataCacheBytes,
        // ack => durable: with --sync always on a persistent backend (file, Redis) every write is also written through.
        writeThrough: config.sync === 'always' && config.backend !== 'memory',
        idleFlushMs: config.lineBufferIdleMs,
      },
      executor.lanes,
      this.scheduler,
      () => this.idleFlush(),
    );
  }

  /** Sizes the lanes' shadow codecs reported for sampled blocks (batch-format.ts SHADOW_*). */
  private shadowRecords(rec: Float64Array): void {
    for (let o = 0; o < rec.length; o += SHADOW_FIELDS) {
      this.byId.get(rec[o + SHADOW_REGION])?.shadow?.record(rec[o + SHADOW_INDEX], rec[o + SHADOW_BLOCK_LEN], rec[o + SHADOW_SLOT], rec[o + SHADOW_PAYLOAD]);
    }
  }

  /**
   * What a committed job cost the codec engine: a write encodes its block
   * (with the region's codec: not while it waits for its table, when blocks
   * are held raw); a read, or a write not covering its block, decodes the
   * coded block it starts from.
   */
  private codecWork(job: BlockJob, r: Float64Array, at: number): void {
    const region = this.byId.get(job.region);
    if (!region || region.codec === 'raw') return;
    if (job.kind === 'write' && !region.pending) region.codedBytes += job.blockLen;
    if ((job.kind === 'read' || job.len !== job.blockLen) && r[at + RES_OLD_MODE] === MODE_CODED && r[at + RES_MODE] >= 0) region.codedBytes += job.blockLen;
  }

  /** Bind the region's lane model (its table, or raw while it waits for one) and its shadow codecs, in every lane. */
  private broadcastModel(region: Region): void {
    const shadow = region.shadow?.spec();
    const base =
      region.modelReady && region.params
        ? { codec: region.codec, params: region.params }
        : { codec: 'raw', params: codecByName('raw').fit(new Uint8Array(0), region.dtype).params };
    this.executor.broadcast({ type: 'model', region: region.id, codec: base.codec, dtype: region.dtype, params: base.params, ...(shadow ? { shadow } : {}) });
  }

  /** A new region's shadow codecs (--shadow). */
  private attachShadow(region: Region): void {
    if (this.shadowCodecs.length) region.shadow = new RegionShadow(region, this.shadowCodecs, this.config.shadowSample);
    if (region.shadow?.pending?.context) this.fittingFromData.add(region);
    this.byId.set(region.id, region);
  }

  /**
   * The shadow codecs fitted from data have their window (or a flush asks
   * for what there is): fit them, hand them to the lanes, and code again the
   * sampled blocks stored meanwhile, so every sampled block is counted with
   * the tables. While the region itself waits for its table the blocks are
   * coded again anyway, once it has it.
   */
  private finishShadow(region: Region, rel: number, len: number): void {
    const sh = region.shadow;
    const p = sh?.pending;
    if (!sh || !p || !sh.fitPending()) return;
    this.calibrationBytes -= p.keptBytes;
    this.broadcastModel(region);
    if (region.pending) return;
    this.recodeTouched(region, p.touched, rel, len, sh.sample);
  }

  /**
   * Code again the stored blocks of `touched` (every `sample`-th): not those the
   * write at [rel, rel + len) touches (it codes them), nor those still buffered
   * dirty (written back with the table).
   */
  private recodeTouched(region: Region, touched: Iterable<number>, rel: number, len: number, sample: number): void {
    const recode: number[] = [];
    for (const i of touched) {
      if (i % sample !== 0) continue;
      const start = i * region.blockBytes;
      if (start < rel + len && start + region.blockLen(i) > rel) continue;
      if (region.slots.get(i)?.dirty) continue;
      if (!region.held.has(i) && !region.outgoing.has(i)) continue;
      recode.push(i);
    }
    if (recode.length) this.recode(region, recode);
  }

  /** Nothing accessed for a while: every buffered block goes to the backend. */
  private idleFlush(): void {
    for (const t of this.spaces.values()) {
      for (const r of t.all()) {
        const ahead = this.fitShortAhead(r);
        if (ahead) {
          // calibrated, then written back, once its table is fitted (if still pending then)
          void ahead.then(() => {
            if (!r.live) return;
            try {
              this.calibrateNow(r);
            } catch (e) {
              process.stderr.write(`shimpack: ${(e as Error).message}\n`);
            }
            this.buffers.flushRegion(r, false).catch(() => undefined);
          });
          continue;
        }
        try {
          this.calibrateNow(r);
        } catch (e) {
          process.stderr.write(`shimpack: ${(e as Error).message}\n`);
        }
        if (r.slots.size === 0 && r.outgoing.size === 0) continue;
        this.buffers.flushRegion(r, false).catch((e: unknown) => {
          process.stderr.write(`shimpack: writing back buffered blocks of region "${r.name}" failed (kept, retried at the next flush): ${(e as Error).message}\n`);
        });
      }
    }
  }

  /**
   * Write back the buffered blocks of an address space (or of one region of
   * it): answered once they are stored. The `flush` request, `fence` and
   * shutdown use it.
   */
  async flush(space = '', name?: string): Promise<void> {
    const list = this.regionsNamed(space, name);
    await Promise.all(list.map((r) => this.fitShortAhead(r)));
    for (const r of list) this.calibrateNow(r);
    await Promise.all(list.map((r) => this.buffers.flushRegion(r, false)));
  }

  get lanes(): number {
    return this.executor.lanes;
  }

  /**
   * Without an explicit codec: APack for weights, EBPC for activations, fpack
   * for float dtypes, else ZVC; the first that is registered and supports the
   * dtype (an int16 weight gets ZVC, not an APack refusal), raw as the last resort.
   */
  private defaultCodec(kind: RegionKind, dtype: Dtype): CodecName {
    // Float dtypes: fpack for every kind (APack and EBPC do not take them, so it comes first in effect).
    const prefs: CodecName[] = kind === 'weight' ? ['apack', 'fpack', 'zvc'] : kind === 'activation' ? ['ebpc', 'fpack', 'zvc'] : ['fpack', 'zvc'];
    return prefs.find((p) => CODECS.some((c) => c.name === p && c.dtypes.includes(dtype))) ?? 'raw';
  }

  table(space: string): RegionTable {
    let t = this.spaces.get(space);
    if (!t) this.spaces.set(space, (t = new RegionTable()));
    return t;
  }

  /** Regions a persistent backend held from an earlier run: declared again with their ids, models and held blocks. */
  restore(): number {
    const stored = this.backend.listRegions();
    for (const s of stored) {
      const m = decodeRegionMeta(s.meta);
      const region = new Region(m.name, m.base, m.size, m.dtype, m.kind, m.codec, m.blockBytes, this.lanes, this.metrics.regionLabel(m.name, m.space), m.calibration, s.id);
      region.space = m.space;
      region.stride = m.stride;
      this.attachShadow(region);
      this.table(m.space).add(region);
      this.bindMetrics(region);
      if (m.params) this.installModel(region, m.params);
      else if (m.calibration === 'pending') this.startPending(region);
      for (const b of s.blocks) {
        const payload = b.storedLen - STORED_HEADER_BYTES;
        const raw = b.mode === MODE_RAW;
        region.held.set(b.index, payload * 2 + (raw ? 1 : 0));
        region.blocksHeld++;
        region.rawBytesStored += region.blockLen(b.index);
        region.storedBytes += payload;
        if (raw) region.blocksRaw++;
        // Held raw while the region waited for its table: coded once it has one.
        if (raw && region.pending) region.pending.touched.add(b.index);
      }
    }
    return stored.length;
  }

  /** Hand the region's declaration to the backend (a persistent one keeps it ahead of the region's blocks). */
  private persist(region: Region): void {
    this.backend.putRegion(region.id, encodeRegionMeta(region, region.space)).catch((e: unknown) => {
      process.stderr.write(`shimpack: backend could not record region "${region.name}": ${(e as Error).message}\n`);
    });
  }

  declareRegion(req: RegionRequest, space = ''): RegionResponse {
    const table = this.table(space);
    if (table.size >= this.config.maxRegions) throw new ProtocolError('E_TOO_MANY_REGIONS', `this address space holds ${table.size} regions (--max-regions ${this.config.maxRegions})`);
    const codecName: WireCodec = req.codec ?? this.defaultCodec(req.kind, req.dtype);
    let codec: Codec;
    try {
      codec = codecByName(codecName);
    } catch {
      throw new ProtocolError('E_UNSUPPORTED', `codec "${codecName}" is not available in this daemon (available: ${this.codecNames.join(', ')})`);
    }
    if (!codec.dtypes.includes(req.dtype)) {
      throw new ProtocolError('E_UNSUPPORTED', `codec ${codec.name} does not support dtype ${req.dtype} (it supports ${codec.dtypes.join(', ')})`);
    }
    const blockBytes = req.blockBytes ?? this.config.blockSize;
    if (blockBytes % 2 !== 0) throw new ProtocolError('E_BAD_FIELD', `field "blockBytes" must be even, got ${blockBytes}`);
    if (this.channel.channels > 1 && (this.channel.granule % blockBytes !== 0 || req.base % blockBytes !== 0)) {
      // Every block must lie inside one granule, so that one channel holds it whole.
      throw new ProtocolError('E_BAD_FIELD', `with ${this.channel.channels} channels of granule ${this.channel.granule} B, "blockBytes" (${blockBytes}) must divide the granule and "base" (${req.base}) be a multiple of it`);
    }
    if (dtypeAlign(req.dtype) === 2 && req.size % 2 !== 0) throw new ProtocolError('E_BAD_FIELD', `field "size" must be even for 16-bit regions (${req.dtype}), got ${req.size}`);
    if (needsStride(codec) && req.stride === undefined) {
      throw new ProtocolError('E_BAD_FIELD', `codec ${codec.name} needs the tensor's stride: give field "stride" (the distance in values to the same channel of the previous pixel, 1 ... 65535) or "shape" and "layout"`);
    }
    if (table.named(req.name)) throw new ProtocolError('E_REGION_EXISTS', `a region named "${req.name}" exists already`);
    const context: ContextOptions | undefined = usesContext(codec) ? { stride: req.stride, kind: req.kind } : undefined;
    const plan = planModel(codec, req.dtype, req.table, req.histogram, context);
    const region = new Region(
      req.name,
      req.base,
      req.size,
      req.dtype,
      req.kind,
      codec.name,
      blockBytes,
      this.lanes,
      this.metrics.regionLabel(req.name, space),
      plan.params ? plan.calibration : 'pending',
    );
    region.space = space;
    region.stride = req.stride;
    this.attachShadow(region);
    table.add(region);
    this.bindMetrics(region);
    if (plan.params) this.installModel(region, plan.params);
    else this.startPending(region);
    this.persist(region);
    return { id: req.id, ok: true, calibration: region.calibration, blockBytes };
  }

  private installModel(region: Region, params: Uint8Array): void {
    region.modelReady = true;
    region.params = params;
    region.shadow?.regionTable(params);
    this.broadcastModel(region);
  }

  /**
   * A region calibrated from data, before it has seen enough: the lanes get
   * the raw codec as its model, so every block written meanwhile is held raw
   * (MODE_RAW blocks read back without any model, whatever table comes later).
   */
  private startPending(region: Region): void {
    this.broadcastModel(region);
    // A context codec is fitted to the bytes themselves (at its stride), so those are kept too.
    const codec = codecByName(region.codec);
    const context = usesContext(codec) && (region.stride !== undefined || !needsStride(codec)) ? { stride: region.stride, kind: region.kind } : undefined;
    region.pending = new PendingCalibration(region.dtype, region.size, context);
    if (context) this.fittingFromData.add(region);
  }

  /**
   * Count a pending region's write; once it has seen enough bytes, fit the
   * table (once), hand it to the lanes and code again the blocks held raw
   * meanwhile. Runs before the write's own jobs are submitted, so the write
   * that completes calibration is coded with the new table.
   */
  private calibrate(region: Region, addr: number, len: number, data: Uint8Array): void {
    if (len === 0) return;
    const rel = addr - region.base;
    const sp = region.shadow?.pending;
    if (sp) {
      const keptBefore = sp.keptBytes;
      sp.add(data, rel);
      this.calibrationBytes += sp.keptBytes - keptBefore;
      if (!sp.ready) {
        const first = Math.floor(rel / region.blockBytes);
        const last = Math.floor((rel + len - 1) / region.blockBytes);
        for (let i = first; i <= last; i++) sp.touched.add(i);
      } else this.finishShadow(region, rel, len);
    }
    const p = region.pending;
    if (!p) return;
    const keptBefore = p.keptBytes;
    p.add(data, rel);
    this.calibrationBytes += p.keptBytes - keptBefore;
    const first = Math.floor(rel / region.blockBytes);
    const last = Math.floor((rel + len - 1) / region.blockBytes);
    if (!p.ready) {
      for (let i = first; i <= last; i++) p.touched.add(i);
      return;
    }
    // The write that completes the window is coded with the new table: its own blocks need no second coding.
    this.finishCalibration(region, rel, len);
  }

  /**
   * A region calibrated from data that has seen fewer bytes than its window
   * (a small tensor, or writes that stopped short): fit its table to what it
   * has. `flush`, `fence`, `stats` and the idle write-back do this first, so
   * the blocks they write back are coded, not held raw.
   */
  calibrateNow(region: Region): void {
    if (region.shadow?.pending && region.shadow.pending.seen > 0) this.finishShadow(region, 0, 0);
    if (region.pending && region.pending.seen > 0) this.finishCalibration(region, 0, 0);
  }

  /**
   * Before a write (or writev) is admitted: when it would complete the window
   * of a region calibrating a context codec (fpack, SCC), whose exact search
   * takes tens to hundreds of milliseconds, fit that table now on the fit
   * thread, from exactly the bytes the region will hold then. The session
   * holds this connection's requests until it settles and then admits the
   * write, which installs the table as if it were fitted there and then
   * (PendingCalibration.fit): the same table, at the same point of the
   * request stream, coding the same writes as fitting on the main thread,
   * while the main thread goes on serving the other connections. Undefined
   * when there is nothing to fit. Refusals are left to the admission.
   */
  fitAhead(req: WriteRequest | WritevRequest, space: string): Promise<void> | undefined {
    for (const r of this.fittingFromData) if (!r.live || (!r.pending?.context && !r.shadow?.pending?.context)) this.fittingFromData.delete(r);
    if (this.fittingFromData.size === 0) return undefined;
    const table = this.table(space);
    let fits: Promise<void>[] | undefined;
    // per pending state this request writes to (a region's, or its shadow codecs'): its writes in order, until one completes the window
    let writes: Map<PendingCalibration, { region: Region; list: { at: number; bytes: Uint8Array }[]; seen: number }> | undefined;
    const n = req.op === 'write' ? 1 : req.addrs.length;
    let region: Region | undefined;
    for (let i = 0, off = 0; i < n; i++) {
      const addr = req.op === 'write' ? req.addr : req.addrs[i];
      const len = req.op === 'write' ? req.data.length : req.lens[i];
      const bytes = req.op === 'write' ? req.data : req.data.subarray(off, off + len);
      off += len;
      if (len === 0 || !Number.isSafeInteger(addr)) continue;
      // runs of bursts mostly stay in one region: look it up again only when they leave it
      if (!region || addr < region.base || addr + len > region.end) region = table.find(addr, len);
      if (!region || !this.fittingFromData.has(region)) continue;
      for (const p of [region.pending, region.shadow?.pending]) {
        if (!p?.context) continue;
        writes ??= new Map();
        let w = writes.get(p);
        if (!w) writes.set(p, (w = { region, list: [], seen: p.seen }));
        // writes after the one completing the window are coded with the table, not fitted to
        if (w.seen >= p.need) continue;
        w.list.push({ at: addr - region.base, bytes });
        w.seen += len;
      }
    }
    if (!writes) return undefined;
    for (const [p, w] of writes) {
      if (w.seen < p.need) continue;
      const sample = p.sampleAfter(w.list);
      for (const codec of this.contextFits(w.region, p)) {
        const fit = this.prefit(w.region, p, codec, sample);
        if (fit) (fits ??= []).push(fit);
      }
    }
    return fits && Promise.all(fits).then(noop);
  }

  /** The context codecs a pending state is fitted for: the region's own codec, or its shadow codecs that wait for a table. */
  private contextFits(region: Region, p: PendingCalibration): string[] {
    if (p === region.pending) return [region.codec];
    return (region.shadow?.entries ?? []).filter((e) => e.status === 'pending' && !e.ownTable && usesContext(codecByName(e.codec))).map((e) => e.codec);
  }

  /** Fit `codec` ahead to `sample` for the pending state (nothing when that is done already); settles when p.prefits holds the result. */
  private prefit(region: Region, p: PendingCalibration, codec: string, sample: Uint8Array): Promise<void> | undefined {
    if (p.fittedAhead(codec, sample)) return undefined;
    return this.fits.fit(codec, region.dtype, sample, p.fitOptions).then(
      (params) => {
        p.prefits.set(codec, { sample, params });
      },
      () => {
        // the fit at installation says why (E_INTERNAL to the write, or a skipped shadow, as without the fit thread)
        p.prefits.set(codec, { sample, params: undefined });
      },
    );
  }

  /** A region (or its shadow codecs) calibrating a context codec, written short of its window: the tables fitted ahead from what it has (before calibrateNow). */
  private fitShortAhead(region: Region): Promise<void> | undefined {
    let fits: Promise<void>[] | undefined;
    for (const p of [region.pending, region.shadow?.pending]) {
      if (!p?.context || p.seen === 0 || p.ready) continue;
      const sample = p.sample();
      for (const codec of this.contextFits(region, p)) {
        const fit = this.prefit(region, p, codec, sample);
        if (fit) (fits ??= []).push(fit);
      }
    }
    return fits && Promise.all(fits).then(noop);
  }

  /** Fit the pending region's table (once), hand it to the lanes and code again the blocks held raw meanwhile; [rel, rel+len) is being written whole. */
  private finishCalibration(region: Region, rel: number, len: number): void {
    const p = region.pending as PendingCalibration;
    let params: Uint8Array;
    try {
      params = p.fit(codecByName(region.codec));
    } catch (e) {
      throw new ProtocolError('E_INTERNAL', `calibrating ${region.codec} from the first ${p.seen} bytes written failed: ${(e as Error).message}`);
    }
    region.pending = undefined;
    this.calibrationBytes -= p.keptBytes;
    this.installModel(region, params);
    region.calibration = 'first-write';
    this.persist(region);
    // Completed blocks the line buffers held back for the table go out now, coded with it.
    this.buffers.calibrated(region);
    this.recodeTouched(region, p.touched, rel, len, 1);
  }

  /**
   * Code held blocks again with the region's current model: a write of no
   * bytes to each block (a read-modify-write that changes nothing), queued
   * behind every job already submitted for that block. Internal traffic: it
   * changes the stored sizes but no client counter.
   */
  private recode(region: Region, indices: number[]): void {
    region.enter();
    const empty = new Uint8Array(0);
    const onDone: AccessListener = {
      accessDone(e) {
        if (e) process.stderr.write(`shimpack: coding region "${region.name}" again after calibration failed: ${e.message}\n`);
      },
    };
    const access = new Access(this, region, 'write', empty, indices.length, onDone, true);
    for (const index of indices) {
      this.scheduler.submit((region.laneOffset + index) % this.lanes, new PieceJob(access, index, region.blockLen(index), 0, 0, 0, empty));
    }
  }

  async free(name: string, space = ''): Promise<void> {
    const table = this.table(space);
    const region = table.named(name);
    if (!region) throw new ProtocolError('E_NO_SUCH_REGION', `no region named "${name}"`);
    table.remove(region);
    // Buffered blocks are written back first, as a cache would before the memory is reused (counted as traffic).
    await this.buffers.flushRegion(region, true).catch(() => undefined);
    region.live = false;
    this.buffers.drop(region);
    if (region.pending) {
      this.calibrationBytes -= region.pending.keptBytes;
      region.pending = undefined;
    }
    if (region.shadow?.pending) {
      this.calibrationBytes -= region.shadow.pending.keptBytes;
      region.shadow.pending = undefined;
    }
    // Requests admitted before the free still have jobs queued for the lanes:
    // they are answered in order (a read still sees an earlier write), so the
    // lanes keep the model, and the backend the blocks, until they are done.
    await region.whenIdle();
    this.executor.broadcast({ type: 'drop', region: region.id });
    this.byId.delete(region.id);
    await this.backend.deleteRegion(region.id);
  }

  /**
   * Admit a write: checks throw (a ProtocolError) before anything changes;
   * once admitted, `listener.accessDone` is called exactly once, after the
   * write's last block job is committed. A listener rather than a promise:
   * this runs for every request, and a promise chain per request costs
   * allocations the garbage collector then pauses for.
   */
  write(req: WriteRequest, space: string, listener: AccessListener): void {
    const len = req.data.length;
    this.checkChannel(req.addr, len);
    const region = this.table(space).lookup(req.addr, Math.max(len, 1));
    this.admitWrite(region, req.addr, len, req.data, 0);
    if (len === 0) {
      queueMicrotask(() => listener.accessDone(undefined));
      return;
    }
    if (this.buffers.buffers(region)) {
      if (!this.buffers.opts.writeThrough) return this.buffered(region, 'write', req.addr, len, req.data, listener);
      // Written through (--sync always): the buffers count, the lanes store before the ack.
      this.buffered(region, 'write', req.addr, len, req.data, undefined);
    }
    this.pendingWriteBytes += len;
    this.runJobs(region, 'write', req.addr, len, req.data, listener, -1);
  }

  /** A write's checks and counts before its bytes go anywhere (throws: nothing changed); its bytes are buf[at, at + len). */
  private admitWrite(region: Region, addr: number, len: number, buf: Uint8Array, at: number): void {
    // Worst case the new blocks are stored raw (and a pending SCC region, or its pending SCC shadow, keeps a copy to fit from): refuse before anything changes.
    const held = this.backend.bytesHeld() + this.pendingWriteBytes + this.calibrationBytes + this.buffers.pendingBytes;
    const more = len + keptFor(region.pending, len) + keptFor(region.shadow?.pending, len);
    if (len > 0 && held + more > this.config.maxMemory) {
      throw new ProtocolError('E_MEMORY_FULL', `the daemon holds ${held} stored bytes; ${more} more would pass --max-memory ${this.config.maxMemory}`);
    }
    // A region calibrated from data counts what it is written until it has seen enough (zero-length writes add nothing); so do shadow codecs fitted from data.
    if (region.pending || region.shadow?.pending) this.calibrate(region, addr, len, at === 0 && len === buf.length ? buf : buf.subarray(at, at + len));
    region.writes++;
    region.bytesWritten += len;
  }

  /** Before anything else: an access of another channel's addresses changes nothing. */
  private checkChannel(addr: number, len: number): void {
    if (servesRange(addr, len, this.channel, this.channel.index)) return;
    const pieces = splitByChannel(addr, Math.max(len, 0), this.channel);
    const owners = [...new Set(pieces.map((p) => p.channel))].join(', ');
    throw new ProtocolError(
      'E_WRONG_CHANNEL',
      `${len} bytes at ${addr} are served by channel ${owners} of ${this.channel.channels} (granule ${this.channel.granule} B, protocol section 8); this daemon serves channel ${this.channel.index}${pieces.length > 1 ? ': split the access at granule boundaries' : ''}`,
    );
  }

  /** Admit a read: like write(); `accessDone` gets the bytes. */
  read(req: ReadRequest, space: string, listener: AccessListener): void {
    this.checkChannel(req.addr, req.len);
    if (req.len > this.config.maxFrameBytes - READ_RESPONSE_OVERHEAD) {
      throw new ProtocolError('E_TOO_LARGE', `read of ${req.len} bytes exceeds the largest response (${this.config.maxFrameBytes - READ_RESPONSE_OVERHEAD} bytes)`);
    }
    const region = this.table(space).lookup(req.addr, Math.max(req.len, 1));
    region.reads++;
    region.bytesRead += req.len;
    const out = new Uint8Array(req.len);
    if (req.len === 0) {
      queueMicrotask(() => listener.accessDone(undefined, out));
      return;
    }
    if (this.buffers.buffers(region)) {
      if (!this.buffers.opts.writeThrough) return this.buffered(region, 'read', req.addr, req.len, out, listener);
      this.buffered(region, 'read', req.addr, req.len, out, undefined);
    }
    this.runJobs(region, 'read', req.addr, req.len, out, listener, -1);
  }

  /**
   * Admit a writev (protocol 4.8): each element as write() would take it, in
   * order; an element whose checks fail is refused alone. `listener` hears
   * once every element has settled. Returns the vector (which elements were
   * refused at admission).
   */
  writev(req: WritevRequest, space: string, listener: VectorListener): VectorAccess {
    return this.vector('write', req.addrs, req.lens, req.data, space, listener);
  }

  /** Admit a readv (protocol 4.9): like writev; E_TOO_LARGE (whole) when the answer would not fit a frame. */
  readv(req: ReadvRequest, space: string, listener: VectorListener): VectorAccess {
    let total = 0;
    for (let i = 0; i < req.lens.length; i++) total += req.lens[i];
    if (total > this.config.maxFrameBytes - READ_RESPONSE_OVERHEAD) {
      throw new ProtocolError('E_TOO_LARGE', `readv of ${total} bytes exceeds the largest response (${this.config.maxFrameBytes - READ_RESPONSE_OVERHEAD} bytes)`);
    }
    return this.vector('read', req.addrs, req.lens, new Uint8Array(total), space, listener);
  }

  /**
   * The elements of a vector, in order. Per element only the checks and
   * counts of a single access run; its bytes go into one shared buffered
   * access (line-buffered regions) or into per-block groups served by one
   * lane job per covered run (raw regions, which the buffers pass through),
   * so a burst costs no promise, closure or lane job of its own. Regions
   * without line buffers (--line-buffer-bytes 0) keep one read-modify-write
   * per element, which is what their DRAM counts describe.
   */
  private vector(kind: 'write' | 'read', addrs: readonly number[], lens: readonly number[], buf: Uint8Array, space: string, listener: VectorListener): VectorAccess {
    const n = addrs.length;
    const starts = new Float64Array(n + 1);
    for (let i = 0, at = 0; i <= n; i++) {
      starts[i] = at;
      if (i < n) at += lens[i];
    }
    const v = new VectorAccess(kind, buf, starts, listener);
    const table = this.table(space);
    const burst = this.config.burstBytes;
    const passThrough = this.buffers.enabled;
    let shared: VectorBufferedAccess | undefined;
    const groups: BlockGroup[] = [];
    let groupIndex: Map<Region, Map<number, BlockGroup>> | undefined;
    let last: BlockGroup | undefined;
    let region: Region | undefined;
    for (let i = 0; i < n; i++) {
      const addr = addrs[i];
      const len = lens[i];
      const at = starts[i];
      try {
        this.checkChannel(addr, len);
        // Runs of bursts mostly stay in one region: look it up again only when they leave it.
        if (!region || addr < region.base || addr + Math.max(len, 1) > region.end) region = table.lookup(addr, Math.max(len, 1));
        if (kind === 'write') this.admitWrite(region, addr, len, buf, at);
        else {
          region.reads++;
          region.bytesRead += len;
        }
      } catch (e) {
        v.refuse(i, e);
        continue;
      }
      if (len === 0) continue;
      if (this.buffers.buffers(region)) {
        if (!this.buffers.opts.writeThrough) {
          if (!shared) {
            shared = new VectorBufferedAccess(v);
            v.remaining++;
          }
          this.bufferedPieces(region, kind, addr, len, shared, at);
          continue;
        }
        this.buffered(region, kind, addr, len, buf, undefined);
      }
      if (kind === 'write') this.pendingWriteBytes += len;
      if (!passThrough || this.buffers.buffers(region)) {
        // Read-modify-write per element (no line buffers), or written through: as a single access.
        v.remaining++;
        this.runJobs(region, kind, addr, len, buf.subarray(at, at + len), v, i);
        continue;
      }
      const rel = addr - region.base;
      const bb = region.blockBytes;
      const firstBlock = Math.floor(rel / bb);
      const lastBlock = Math.floor((rel + len - 1) / bb);
      for (let index = firstBlock; index <= lastBlock; index++) {
        const blockStart = index * bb;
        const offset = Math.max(rel, blockStart) - blockStart;
        const end = Math.min(rel + len, blockStart + region.blockLen(index)) - blockStart;
        let g = last !== undefined && last.region === region && last.index === index ? last : undefined;
        if (!g) {
          groupIndex ??= new Map();
          let byIndex = groupIndex.get(region);
          if (!byIndex) groupIndex.set(region, (byIndex = new Map()));
          g = byIndex.get(index);
          if (!g) {
            byIndex.set(index, (g = new BlockGroup(v, region, index, region.blockLen(index))));
            groups.push(g);
          }
          last = g;
        }
        g.add(offset, end - offset, at + blockStart + offset - rel, i, burstsCovering(region.base + blockStart + offset, end - offset, burst));
      }
    }
    for (const g of groups) this.submitGroup(g);
    if (shared) shared.pieceDone();
    // The session counts the request when this returns: the listener hears after.
    queueMicrotask(() => v.partDone());
    return v;
  }

  /** A block group's runs to its lane: written bytes assembled in element order (later elements win). */
  private submitGroup(g: BlockGroup): void {
    const v = g.vector;
    const region = g.region;
    region.enter();
    v.remaining++;
    const runs = g.runs();
    g.remaining = runs.length / 2;
    const p = g.pieces;
    let scratch: Uint8Array;
    if (v.kind === 'write' && p.length === 4) scratch = v.buf.subarray(p[2], p[2] + p[1]);
    else {
      scratch = new Uint8Array(g.hi - g.lo);
      if (v.kind === 'write') for (let k = 0; k < p.length; k += 4) scratch.set(v.buf.subarray(p[k + 2], p[k + 2] + p[k + 1]), p[k] - g.lo);
    }
    g.scratch = scratch;
    const lane = (region.laneOffset + g.index) % this.lanes;
    for (let r = 0; r < runs.length; r += 2) {
      const s = runs[r];
      const e = runs[r + 1];
      this.scheduler.submit(lane, new RunJob(g, v.kind, s, e - s, v.kind === 'write' ? scratch.subarray(s - g.lo, e - g.lo) : undefined, this.onRunDone));
    }
  }

  private readonly onRunDone = (job: RunJob, o: JobOutcome | Error): void => this.runDone(job, o);

  /** A run of a block group is done; after the group's last, its elements settle and count as single accesses would. */
  private runDone(job: RunJob, o: JobOutcome | Error): void {
    const g = job.group;
    if (o instanceof Error) g.failure ??= o;
    else {
      g.last = o;
      g.codecSec += o.codecSec;
      if (job.kind === 'read' && o.bytes) (g.scratch as Uint8Array).set(o.bytes, job.offset - g.lo);
    }
    if (--g.remaining > 0) return;
    const region = g.region;
    const v = g.vector;
    region.leave();
    if (v.kind === 'write') this.pendingWriteBytes -= g.bytes;
    const p = g.pieces;
    if (g.failure) {
      for (let k = 0; k < p.length; k += 4) v.fail(p[k + 3], g.failure);
      // A run that did commit changed what the block holds.
      if (v.kind === 'write' && g.last && region.live) region.hold(g.index, g.blockLen, g.last.storedLen - STORED_HEADER_BYTES, g.last.mode === MODE_RAW);
    } else {
      if (v.kind === 'read') {
        const scratch = g.scratch as Uint8Array;
        for (let k = 0; k < p.length; k += 4) v.buf.set(scratch.subarray(p[k] - g.lo, p[k] + p[k + 1] - g.lo), p[k + 2]);
      }
      if (region.live) this.accountGroup(g, g.last as JobOutcome);
    }
    g.scratch = undefined;
    v.partDone();
  }

  /** A raw region's group, counted as its pieces would be one by one (account(), pass-through case). */
  private accountGroup(g: BlockGroup, o: JobOutcome): void {
    const region = g.region;
    const acc = region.series ?? this.bindMetrics(region).series;
    const op = g.vector.kind === 'write' ? OP_WRITE : OP_READ;
    (region.codecTime ?? this.bindMetrics(region).codecTime).seconds[o.lane * 2 + op] += g.codecSec;
    region.burstsRaw += g.rawBursts;
    acc.rawBursts[op] += g.rawBursts;
    acc.rawBytes[op] += g.bytes;
    acc.storedBytes[op] += g.bytes;
    if (op === OP_READ) {
      this.buffers.countDram(region, OP_READ, g.rawBursts);
      return;
    }
    const raw = o.mode === MODE_RAW;
    region.hold(g.index, g.blockLen, o.storedLen - STORED_HEADER_BYTES, raw);
    const pieces = g.pieces.length / 4;
    acc.blockWrites += pieces;
    if (raw) acc.rawFallbackBlocks += pieces;
    this.buffers.countDram(region, OP_WRITE, g.rawBursts);
  }

  /**
   * Serve an access through the line buffers, block by block. Without a
   * listener the buffers only count (write-through mode).
   */
  private buffered(region: Region, kind: 'write' | 'read', addr: number, len: number, buf: Uint8Array, listener: AccessListener | undefined): void {
    const access = new BufferedAccess(kind, listener ? buf : new Uint8Array(0), 1, listener ? (e, d) => this.settle(region, kind, listener, e, d) : noop);
    this.bufferedPieces(region, kind, addr, len, access, listener ? 0 : -1);
    // One extra count, released here: a listener hears after this call returns (the session counts the request first).
    if (listener && access.remaining === 1) queueMicrotask(() => access.pieceDone());
    else access.pieceDone();
  }

  /**
   * Hand the blocks of [addr, addr+len) to the line buffers as pieces of
   * `access` (counted in its `remaining`); the bytes are at `at0` in its
   * buffer (-1: count only, no bytes).
   */
  private bufferedPieces(region: Region, kind: 'write' | 'read', addr: number, len: number, access: BufferedAccess, at0: number): void {
    const rel = addr - region.base;
    const bb = region.blockBytes;
    const first = Math.floor(rel / bb);
    const last = Math.floor((rel + len - 1) / bb);
    const burst = this.config.burstBytes;
    const acc = region.series ?? this.bindMetrics(region).series;
    const op = kind === 'write' ? OP_WRITE : OP_READ;
    acc.rawBytes[op] += len;
    access.remaining += last - first + 1;
    for (let index = first; index <= last; index++) {
      const blockStart = index * bb;
      const offset = Math.max(rel, blockStart) - blockStart;
      const end = Math.min(rel + len, blockStart + region.blockLen(index)) - blockStart;
      // Raw bursts as everywhere: per block touched, the bursts covering the bytes it touches.
      const rawBursts = burstsCovering(region.base + blockStart + offset, end - offset, burst);
      region.burstsRaw += rawBursts;
      acc.rawBursts[op] += rawBursts;
      this.buffers.piece(region, access, index, offset, end - offset, at0 >= 0 ? at0 + blockStart + offset - rel : 0);
    }
  }

  private settle(region: Region, kind: 'write' | 'read', listener: AccessListener, e: Error | undefined, data?: Uint8Array): void {
    const failure = e && toProtocolError(e);
    try {
      listener.accessDone(failure, data);
    } catch (err) {
      process.stderr.write(`shimpack: internal error while answering a ${kind} of "${region.name}": ${(err as Error)?.stack ?? String(err)}\n`);
    }
  }

  /** Split [addr, addr+len) into block jobs and submit them; the listener hears after the last. */
  private runJobs(region: Region, kind: 'write' | 'read', addr: number, len: number, buf: Uint8Array, listener: AccessListener, tag: number): void {
    const rel = addr - region.base;
    const first = Math.floor(rel / region.blockBytes);
    const last = Math.floor((rel + len - 1) / region.blockBytes);
    // free() waits until the region's admitted requests are out of the lanes.
    region.enter();
    const access = new Access(this, region, kind, buf, last - first + 1, listener, false, tag);
    for (let index = first; index <= last; index++) {
      const blockStart = index * region.blockBytes;
      const blockLen = region.blockLen(index);
      const offset = Math.max(rel, blockStart) - blockStart;
      const end = Math.min(rel + len, blockStart + blockLen) - blockStart;
      const pieceAt = blockStart + offset - rel; // position of this piece in the request buffer
      const pieceLen = end - offset;
      const data = kind === 'write' ? buf.subarray(pieceAt, pieceAt + pieceLen) : undefined;
      const job = new PieceJob(access, index, blockLen, offset, pieceLen, pieceAt, data);
      // The DRAM trace export stamps the piece's bursts with the moment it was asked for, not when its lane finished.
      if (this.buffers.observer) job.mark = this.buffers.observer.mark();
      this.scheduler.submit((region.laneOffset + index) % this.lanes, job);
    }
  }

  /** A block job finished: copy read bytes, count it, settle the access after its last piece. */
  pieceDone(job: PieceJob, o: JobOutcome | Error): void {
    const a = job.access;
    const region = a.region;
    if (o instanceof Error) a.failure ??= o;
    else {
      if (job.kind === 'read' && o.bytes) a.buf.set(o.bytes, job.pieceAt);
      if (region.live && a.internal) this.accountRecode(region, job.index, job.blockLen, o);
      else if (region.live) this.account(region, job.kind, job.index, job.blockLen, o, region.base + job.index * region.blockBytes + job.offset, job.len, job.mark);
    }
    if (--a.remaining === 0) {
      region.leave();
      if (a.kind === 'write' && !a.internal) this.pendingWriteBytes -= a.buf.length;
      // A lower layer's failure gets its wire code (E_LANE_FAILED from a dead lane worker, E_BACKEND; wire-error.ts); anything else is internal.
      const failure = a.failure && (a.internal ? a.failure : toProtocolError(a.failure));
      try {
        a.listener.accessDone(failure, failure || a.kind !== 'read' ? undefined : a.buf, a.tag);
      } catch (e) {
        // A bug in whoever listens must not cut short the lane batch this job came in (its other jobs, its accounting).
        process.stderr.write(`shimpack: internal error while answering a ${a.kind}: ${(e as Error)?.stack ?? String(e)}\n`);
      }
    }
  }

  /** Attach the metric accumulators of the region's label set (once per region). */
  private bindMetrics(region: Region): { series: SeriesAccumulator; codecTime: CodecTimeAccumulator } {
    const series = (region.series ??= this.metrics.seriesFor(region.metricLabel, region.kind, region.codec));
    const codecTime = (region.codecTime ??= this.metrics.codecTimeFor(region.codec));
    return { series, codecTime };
  }

  /**
   * Count one committed block job: plain numbers here, handed to prom-client
   * when scraped. Without line buffers, a write not covering its block is a
   * read-modify-write of the stored block and is charged as one. With them,
   * a raw region moves its bursts one for one, and a region written through
   * (--sync always) was counted by the buffers already: only what is held
   * changes here.
   */
  private account(region: Region, kind: 'write' | 'read', index: number, blockLen: number, o: JobOutcome, addr: number, len: number, mark: number): void {
    const burst = this.config.burstBytes;
    const acc = region.series ?? this.bindMetrics(region).series;
    const op = kind === 'write' ? OP_WRITE : OP_READ;
    (region.codecTime ?? this.bindMetrics(region).codecTime).seconds[o.lane * 2 + op] += o.codecSec;
    const counted = this.buffers.buffers(region);
    let rawBursts = 0;
    if (!counted) {
      rawBursts = burstsCovering(addr, len, burst);
      region.burstsRaw += rawBursts;
      acc.rawBursts[op] += rawBursts;
      acc.rawBytes[op] += len;
    }
    const passThrough = this.buffers.enabled && !counted;
    const observer = this.buffers.observer;
    const blockAddr = region.base + index * region.blockBytes;
    if (kind === 'read') {
      const oldPayload = o.oldLen >= 0 ? o.oldLen - STORED_HEADER_BYTES : 0;
      acc.storedBytes[op] += passThrough ? len : oldPayload;
      if (!counted) {
        const n = passThrough ? rawBursts : Math.ceil(oldPayload / burst);
        this.buffers.countDram(region, OP_READ, n);
        if (observer && n) observer.bursts(mark, DRAM_DIRECT, false, passThrough ? Math.floor(addr / burst) * burst : blockAddr, n);
      }
      return;
    }
    const newPayload = o.storedLen - STORED_HEADER_BYTES;
    const raw = o.mode === MODE_RAW;
    const heldPayload = region.hold(index, blockLen, newPayload, raw);
    acc.storedBytes[op] += passThrough ? len : newPayload;
    acc.blockWrites++;
    if (raw) acc.rawFallbackBlocks++;
    if (counted) {
      this.buffers.wroteThrough(region, index, blockLen, o.mode, newPayload);
      return;
    }
    if (passThrough) {
      this.buffers.countDram(region, OP_WRITE, rawBursts);
      if (observer) observer.bursts(mark, DRAM_DIRECT, true, Math.floor(addr / burst) * burst, rawBursts);
    } else {
      this.buffers.countDram(region, OP_WRITE, Math.ceil(newPayload / burst));
      // A partial write reads the old stored block first (read-modify-write).
      if (len !== blockLen) this.buffers.countDram(region, OP_READ, Math.ceil(heldPayload / burst));
      if (observer) {
        if (len !== blockLen && heldPayload > 0) observer.bursts(mark, DRAM_DIRECT, false, blockAddr, Math.ceil(heldPayload / burst));
        if (newPayload > 0) observer.bursts(mark, DRAM_DIRECT, true, blockAddr, Math.ceil(newPayload / burst));
      }
    }
  }

  /** A block coded again after calibration: only what is held changes. */
  private accountRecode(region: Region, index: number, blockLen: number, o: JobOutcome): void {
    region.hold(index, blockLen, o.storedLen - STORED_HEADER_BYTES, o.mode === MODE_RAW);
  }

  /** The regions of an address space, or the one named (E_NO_SUCH_REGION if there is none). */
  private regionsNamed(space: string, name: string | undefined): readonly Region[] {
    const table = this.table(space);
    if (name === undefined) return table.all();
    const r = table.named(name);
    if (!r) throw new ProtocolError('E_NO_SUCH_REGION', `no region named "${name}"`);
    return [r];
  }

  stats(id: number, name?: string, space = ''): StatsResponse {
    const list = this.regionsNamed(space, name);
    const regions = list.map((r) => r.stats(this.energy));
    const t: Record<string, number> = { regions: regions.length };
    for (const k of TOTAL_FIELDS) t[k] = 0;
    for (const s of regions) for (const k of TOTAL_FIELDS) t[k] += s[k];
    t.ratio = t.storedBytes > 0 ? t.rawBytesStored / t.storedBytes : 1;
    const totals = (this.shadowCodecs.length ? { ...t, shadow: shadowTotals(this.shadowCodecs, regions) } : t) as unknown as StatsTotals;
    return { id, ok: true, regions, totals, memory: this.memoryInfo() };
  }

  /** The energy and time model, as stats reports it. */
  memoryInfo(): MemoryModelInfo {
    const e = this.energy;
    return { name: e.memory.name, pjPerBit: e.memory.pjPerBit, gbps: e.memory.gbps, burstBytes: e.burstBytes, codecClockMhz: e.codecClockMhz };
  }

  async close(): Promise<void> {
    // Shutdown writes every buffered block back.
    for (const t of this.spaces.values()) {
      await Promise.all(
        t.all().map((r) =>
          this.buffers.flushRegion(r, true).catch((e: unknown) => {
            process.stderr.write(`shimpack: writing back buffered blocks of region "${r.name}" at shutdown failed: ${(e as Error).message}\n`);
          }),
        ),
      );
    }
    this.buffers.close();
    await this.scheduler.whenIdle();
    await this.fits.close();
    await this.executor.close();
    await this.backend.close();
  }
}

const noop = (): void => undefined;

/** The counters stats sums over regions (ratio is computed, not summed). */
const TOTAL_FIELDS = [
  'bytesWritten',
  'bytesRead',
  'rawBytesStored',
  'storedBytes',
  'burstsRaw',
  'burstsStored',
  'blocksHeld',
  'blocksRaw',
  'writes',
  'reads',
  'dramReadBursts',
  'dramWriteBursts',
  'bufferHits',
  'bufferMisses',
  'fills',
  'writeBacks',
  'evictions',
  'metadataAccesses',
  'metadataMisses',
  'metadataBursts',
  'dramEnergyRawJ',
  'dramEnergyStoredJ',
  'dramEnergySavedJ',
  'dramTimeRawS',
  'dramTimeStoredS',
  'dramTimeSavedS',
  'codecValues',
  'codecTimeS',
] as const satisfies readonly (keyof StatsTotals)[];

/** Hears once when a read or write admitted by the engine is done (`data`: a read's bytes; `tag`: the element of a vector, else -1). */
export interface AccessListener {
  accessDone(error: Error | undefined, data?: Uint8Array, tag?: number): void;
}

/** One read or write being split into block jobs: what its pieces share. */
class Access {
  failure: Error | undefined;
  constructor(
    readonly engine: Engine,
    readonly region: Region,
    readonly kind: 'write' | 'read',
    /** Write data, or the buffer a read fills. */
    readonly buf: Uint8Array,
    /** Pieces not yet done. */
    public remaining: number,
    readonly listener: AccessListener,
    /** The daemon's own work (coding blocks again after calibration), not a client request. */
    readonly internal = false,
    /** Passed back to the listener: a vector's element index (-1 for a single access). */
    readonly tag = -1,
  ) {}
}

/**
 * One block's share of an access. A class rather than an object literal with
 * closures: a request of many blocks would otherwise allocate (and, under
 * tsx, name) two functions per block.
 */
class PieceJob implements BlockJob {
  readonly kind: 'write' | 'read';
  readonly region: number;
  /** The DRAM observer's mark when the piece was asked for (0 without an observer). */
  mark = 0;
  constructor(
    readonly access: Access,
    readonly index: number,
    readonly blockLen: number,
    readonly offset: number,
    readonly len: number,
    /** Position of this piece in the access buffer. */
    readonly pieceAt: number,
    readonly data: Uint8Array | undefined,
  ) {
    this.kind = access.kind;
    this.region = access.region.id;
  }

  done(outcome: JobOutcome | Error): void {
    this.access.engine.pieceDone(this, outcome);
  }
}
