import { Worker } from 'node:worker_threads';
import type { ControlMessage, LaneBatch, LaneResult, ModelMessage } from './batch-format.ts';
import type { LaneExecutor } from './executor.ts';
import { LaneFailedError } from './lane-failed-error.ts';
import { compiledModule } from '../package-root.ts';

type Reply = { ok: true; res: LaneResult } | { ok: false; type: string; message: string } | { ready: true };

interface Pending {
  resolve(r: LaneResult): void;
  reject(e: Error): void;
}

export interface WorkerLaneOptions {
  /**
   * Test-only fault injection: a worker exits (mid-batch, before answering)
   * when a write job's payload starts with FAULT_MARKER. Only settable by
   * code that constructs the executor, never from config or the wire.
   */
  readonly exitOnMarker?: boolean;
  /** Test-only, like exitOnMarker: the worker spins forever on such a batch instead. */
  readonly hangOnMarker?: boolean;
  /**
   * A worker that has not answered the batch it is on for this long is
   * stopped and replaced like a dead one (its requests get E_LANE_FAILED).
   * Default 30 s: a batch normally takes about a millisecond.
   */
  readonly batchTimeoutMs?: number;
}

const DEFAULT_BATCH_TIMEOUT_MS = 30_000;

/** Payload prefix that kills a worker built with `exitOnMarker` (tests). */
export const FAULT_MARKER = 'SHIMKILL';

/** Replacements in a row without one answered batch before the lane backs off. */
const FREE_RESTARTS = 3;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/** One lane's thread and what is on it. */
class LaneSlot {
  /** Undefined while waiting out a crash-loop back-off. */
  worker: Worker | undefined;
  /** Batches sent to the worker, not yet answered (it answers in order). */
  readonly pending: Pending[] = [];
  /** When the worker got to pending[0] (the previous answer, its send, or the worker being ready). */
  headSince = 0;
  /** The worker has loaded its code (starting one can take a while; that is not hanging). */
  ready = false;
  generation = 0;
  restarts = 0;
  /** Replacements since the last answered batch: a worker that dies before doing any work is a crash loop. */
  strikes = 0;
  lastError: string | undefined;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly lane: number) {}
}

/**
 * One worker thread per lane (not a pool): a lane must always be the same
 * thread, because it keeps the blocks it wrote until they are committed, and
 * a worker answers its messages in order, so a FIFO of pending promises per
 * lane matches replies to batches. Workers run the compiled worker.js.
 *
 * A worker that dies is replaced: the batches that were on it fail with
 * LaneFailedError (their requests get E_LANE_FAILED), the new worker gets
 * every live region's model before any new batch, and the generation bump
 * tells the scheduler that the lane's cache of uncommitted blocks is gone.
 * A lane whose workers keep dying without answering anything backs off
 * (exponentially, up to 2 s) and fails its batches at once meanwhile.
 */
export class WorkerLaneExecutor implements LaneExecutor {
  private readonly slots: LaneSlot[] = [];
  /** The last model per region, re-sent to a replacement worker (dropped regions removed). */
  private readonly models = new Map<number, ModelMessage>();
  private readonly entry: URL;
  private closing = false;
  private readonly watchdog: NodeJS.Timeout;
  private readonly batchTimeoutMs: number;
  /** Called when a lane fails outside any batch (bad model message, worker crash). */
  onLaneError: (lane: number, message: string) => void = (lane, message) => {
    process.stderr.write(`shimpack: lane ${lane}: ${message}\n`);
  };

  constructor(
    readonly lanes: number,
    private readonly options: WorkerLaneOptions = {},
  ) {
    // Compiled JS even when this module runs from source (tests under tsx):
    // Node 20 applies loader hooks to the main thread only.
    this.entry = compiledModule('daemon/lanes/worker.js');
    for (let i = 0; i < lanes; i++) {
      const slot = new LaneSlot(i);
      this.slots.push(slot);
      this.spawn(slot, true);
    }
    // A worker that hangs (a codec bug looping forever) would otherwise hold its lane's requests for good.
    this.batchTimeoutMs = options.batchTimeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS;
    this.watchdog = setInterval(() => this.checkHung(), Math.max(10, Math.min(1000, this.batchTimeoutMs / 4)));
    this.watchdog.unref();
  }

  /** Stop a worker stuck on one batch past the timeout; 'exit' then fails its batches and replaces it. */
  private checkHung(): void {
    const now = performance.now();
    for (const s of this.slots) {
      if (!s.worker || !s.ready || s.pending.length === 0 || now - s.headSince <= this.batchTimeoutMs || s.lastError?.startsWith('hung')) continue;
      s.lastError = `hung: no answer to a batch for ${Math.round(now - s.headSince)} ms (--lane-timeout-ms ${this.batchTimeoutMs}); stopped`;
      void s.worker.terminate();
    }
  }

  private spawn(slot: LaneSlot, initial = false): void {
    slot.timer = undefined;
    if (this.closing) return;
    let w: Worker;
    try {
      w = new Worker(this.entry, {
        name: `shimpack-lane-${slot.lane}`,
        workerData: { exitOnMarker: this.options.exitOnMarker === true, hangOnMarker: this.options.hangOnMarker === true, marker: FAULT_MARKER },
      });
    } catch (e) {
      // No thread to be had (resource limits): the lane stays without a worker and tries again later.
      if (initial) throw e; // at startup: the daemon does not start without its lanes
      slot.strikes++;
      const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, slot.strikes - FREE_RESTARTS - 1));
      this.onLaneError(slot.lane, `cannot start a lane worker (${(e as Error).message}); retrying in ${delay} ms`);
      slot.timer = setTimeout(() => this.spawn(slot), delay);
      return;
    }
    slot.worker = w;
    slot.ready = false;
    slot.lastError = undefined;
    // Messages posted before the worker runs are queued: the models go first.
    for (const m of this.models.values()) w.postMessage(m);
    w.on('message', (m: Reply) => {
      // 'exit' is a worker's last event, but a reply must never reach a replacement's queue.
      if (slot.worker !== w) return;
      if ('ready' in m) {
        slot.ready = true;
        slot.headSince = performance.now();
        return;
      }
      if (m.ok) {
        slot.strikes = 0;
        slot.headSince = performance.now();
        slot.pending.shift()?.resolve(m.res);
      } else if (m.type === 'batch') {
        slot.headSince = performance.now();
        slot.pending.shift()?.reject(new Error(m.message));
      }
      else this.onLaneError(slot.lane, m.message);
    });
    // An uncaught exception in the worker: 'exit' follows, which does the replacing.
    w.on('error', (e: Error) => {
      slot.lastError = e.message;
    });
    w.on('exit', (code) => this.lost(slot, w, code));
  }

  /** The lane's worker is gone: fail what was on it and start another. */
  private lost(slot: LaneSlot, w: Worker, code: number): void {
    if (slot.worker !== w) return;
    slot.worker = undefined;
    slot.generation++;
    const why = `lane ${slot.lane} worker died (exit code ${code}${slot.lastError ? `: ${slot.lastError}` : ''})`;
    const failed = slot.pending.splice(0);
    if (failed.length) {
      const e = new LaneFailedError(slot.lane, `${why} while this request had blocks on it; the worker was replaced, retry the request`);
      for (const p of failed) p.reject(e);
    }
    if (this.closing) return;
    slot.restarts++;
    slot.strikes++;
    const delay = slot.strikes <= FREE_RESTARTS ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (slot.strikes - FREE_RESTARTS - 1));
    this.onLaneError(slot.lane, `${why}; ${delay ? `restarting in ${delay} ms (${slot.strikes} deaths in a row)` : 'replaced'}`);
    if (delay === 0) this.spawn(slot);
    else slot.timer = setTimeout(() => this.spawn(slot), delay);
  }

  broadcast(msg: ControlMessage): void {
    if (msg.type === 'model') this.models.set(msg.region, msg);
    else this.models.delete(msg.region);
    for (const s of this.slots) s.worker?.postMessage(msg);
  }

  run(lane: number, batch: LaneBatch): Promise<LaneResult> {
    const slot = this.slots[lane];
    const w = slot.worker;
    if (!w) return Promise.reject(new LaneFailedError(lane, `lane ${lane} has no worker: it died ${slot.strikes} times in a row and is being restarted; retry the request`));
    return new Promise((resolve, reject) => {
      if (slot.pending.length === 0) slot.headSince = performance.now();
      slot.pending.push({ resolve, reject });
      w.postMessage(batch, [batch.jobs.buffer as ArrayBuffer, batch.data, ...batch.spare]);
    });
  }

  generation(lane: number): number {
    return this.slots[lane].generation;
  }

  restarts(lane: number): number {
    return this.slots[lane].restarts;
  }

  /** Test-only fault injection: stop the lane's worker now (mid-batch if it has one); it is replaced like a crash. */
  async killLane(lane: number): Promise<void> {
    await this.slots[lane].worker?.terminate();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    for (const s of this.slots) if (s.timer) clearTimeout(s.timer);
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}
