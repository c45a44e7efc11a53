import { Subject, catchError, concatMap, from, map, mergeMap, of } from 'rxjs';
import type { BlockPut, BlockRef, MemoryBackend } from '../backend/backend.ts';
import { BackendError } from '../backend/guarded.ts';
import {
  JOB_BLOCK_LEN,
  JOB_DATA_OFF,
  JOB_FIELDS,
  JOB_INDEX,
  JOB_KIND,
  JOB_LEN,
  JOB_OFFSET,
  JOB_READ,
  JOB_REGION,
  JOB_STORED_LEN,
  JOB_STORED_OFF,
  JOB_WRITE,
  RES_CODEC_SEC,
  RES_ERROR,
  RES_FIELDS,
  RES_MODE,
  RES_OLD_LEN,
  RES_OLD_MODE,
  RES_OUT_LEN,
  RES_OUT_OFF,
  type LaneBatch,
  type LaneResult,
} from './batch-format.ts';
import type { BlockJob } from './block-job.ts';
import { BufferPool } from './buffer-pool.ts';
import type { LaneExecutor } from './executor.ts';

export interface LaneSchedulerOptions {
  /** Target raw bytes per batch message. */
  readonly batchBytes: number;
  /** Batches a lane may hold at once (the next one is built while it works). */
  readonly batchesInFlight: number;
  /** Queued + in-flight bytes per lane above which the lanes count as saturated. */
  readonly laneQueueBytes: number;
}

export interface LaneObserver {
  onBatch(lane: number, jobs: number, rawBytes: number, workerSec: number): void;
  /** A committed batch's shadow records (batch-format.ts SHADOW_*), when the lane coded any. */
  onShadow?(records: Float64Array): void;
  /** Each committed job, before its done(): what the codec engine did (`results`: the job's RES_* record at `at`). */
  onJob?(job: BlockJob, results: Float64Array, at: number): void;
}

/** A backend failure for the batch's jobs: the guarded backend's own (BackendError, answered E_BACKEND) is kept. */
function backendFailure(what: 'read' | 'write', e: unknown): Error {
  return e instanceof BackendError ? e : new Error(`backend ${what} failed: ${(e as Error)?.message ?? String(e)}`);
}

/** Placeholder for queue slots whose job went into a batch. */
const TAKEN: BlockJob = { kind: 'write', region: -1, index: -1, blockLen: 0, offset: 0, len: 0, done: () => undefined };

/** Fixed per-job cost added to its byte count, so floods of tiny jobs saturate too. */
const JOB_OVERHEAD_BYTES = 64;

/** A batch handed to a lane's worker. */
interface SentBatch {
  readonly jobs: BlockJob[];
  readonly seq: number;
  readonly rawBytes: number;
  readonly msg: LaneBatch;
}

/** What came back for it: the worker's result, or why there is none (the worker died). */
type Answer = { readonly batch: SentBatch; readonly res: LaneResult; readonly error?: undefined } | { readonly batch: SentBatch; readonly error: Error };

class LaneState {
  queue: BlockJob[] = [];
  head = 0;
  /** Bytes queued or in flight on this lane. */
  pendingBytes = 0;
  pendingJobs = 0;
  /** Raw bytes of jobs queued, not yet in a batch. */
  queuedBytes = 0;
  inflight = 0;
  building = false;
  nextSeq = 0;
  committedSeq = 0;
  /** Batches as they are handed to the worker (the lane's batch stream). */
  readonly sent = new Subject<SentBatch>();
  /** The executor's worker generation this lane's batches are built for. */
  generation = 0;
  /** The worker was replaced: no batch is built until the old worker's answered batches are committed. */
  recovering = false;
  /** Result buffers of committed batches, sent back with the next batch for the worker to reuse. */
  spare: ArrayBuffer[] = [];
  /** A pump is queued for the end of this turn. */
  pumpQueued = false;
  constructor(readonly lane: number) {}
}

/**
 * Per-lane FIFO queues in front of the executor. Jobs are taken in arrival
 * order and packed into batches of about `batchBytes`; a lane gets its next
 * batch as soon as it has room, so batches grow only while the worker is
 * busy (low latency when idle, fewer hand-offs under load). Results are
 * committed to the backend in batch order, and the sequence number of the
 * last committed batch goes with every new batch so the worker knows which
 * of its recently written blocks the backend already has.
 */
export class LaneScheduler {
  private readonly lanes: LaneState[];
  private drainWaiters: (() => void)[] = [];
  /** Batch buffers (job records, payloads) the workers gave back. */
  private readonly buffers = new BufferPool(16);
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly executor: LaneExecutor,
    private readonly backend: MemoryBackend,
    private readonly opts: LaneSchedulerOptions,
    private readonly observer?: LaneObserver,
  ) {
    this.lanes = Array.from({ length: executor.lanes }, (_, i) => new LaneState(i));
    // Per lane, at batch granularity: each batch goes to the worker as it is built (pump() bounds how
    // many are out), and the answers are committed one after another in the order they come back, so a
    // batch's blocks reach the backend, and its jobs complete, after every earlier batch's.
    for (const l of this.lanes) {
      l.sent
        .pipe(
          mergeMap((b) =>
            from(this.executor.run(l.lane, b.msg)).pipe(
              map((res): Answer => ({ batch: b, res })),
              catchError((e: unknown) => of<Answer>({ batch: b, error: e as Error })),
            ),
          ),
          concatMap((a) => from(this.settle(l, a))),
        )
        .subscribe();
    }
  }

  get laneCount(): number {
    return this.lanes.length;
  }

  submit(lane: number, job: BlockJob): void {
    const l = this.lanes[lane];
    l.queue.push(job);
    l.queuedBytes += job.len;
    l.pendingBytes += job.len + JOB_OVERHEAD_BYTES;
    l.pendingJobs++;
    // Pump once the caller's synchronous work is done, not per job: the
    // requests of one frame (and a request's blocks) then go to an idle lane
    // as one batch instead of a first batch of one job and a second of the
    // rest. A thread hand-off costs ~10-50 us whatever the batch size.
    if (!l.pumpQueued) {
      l.pumpQueued = true;
      queueMicrotask(() => {
        l.pumpQueued = false;
        this.pump(l);
      });
    }
  }

  /** True while some lane holds more than laneQueueBytes: callers stop reading sockets. */
  saturated(): boolean {
    for (const l of this.lanes) if (l.pendingBytes > this.opts.laneQueueBytes) return true;
    return false;
  }

  /** Resolves once no lane holds more than half of laneQueueBytes. */
  whenDrained(): Promise<void> {
    if (this.belowLowWater()) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  /** Resolves when every lane is empty. */
  whenIdle(): Promise<void> {
    if (this.lanes.every((l) => l.pendingJobs === 0)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Jobs queued or in flight per lane (metrics). */
  depth(lane: number): number {
    return this.lanes[lane].pendingJobs;
  }

  pendingBytes(lane: number): number {
    return this.lanes[lane].pendingBytes;
  }

  private belowLowWater(): boolean {
    const low = this.opts.laneQueueBytes / 2;
    return this.lanes.every((l) => l.pendingBytes <= low);
  }

  private pump(l: LaneState): void {
    if (l.building) return;
    // The lane's worker was replaced. The new one has none of the blocks the
    // old one wrote in batches answered but not yet committed, so a batch may
    // only be built (read from the backend) once all of them are in the
    // backend, i.e. once no batch of the old worker is in flight or
    // committing (its unanswered ones fail with LaneFailedError). Every
    // inflight-- is followed by a pump, which ends the recovery.
    const generation = this.executor.generation(l.lane);
    if (generation !== l.generation) {
      l.generation = generation;
      l.recovering = true;
    }
    if (l.recovering) {
      if (l.inflight > 0) return;
      l.recovering = false;
    }
    if (l.inflight >= this.opts.batchesInFlight || l.head === l.queue.length) return;
    // An idle lane gets whatever is queued at once (latency). A busy one gets
    // another batch only once half a batch has queued up: otherwise it would
    // get a trickle of one-job batches, each paying a full thread hand-off.
    if (l.inflight > 0 && l.queuedBytes < this.opts.batchBytes / 2) return;
    l.building = true;
    // Take jobs up to the batch size (always at least one that goes to the lane).
    // A job that became moot while queued (a line-buffer fill whose block was
    // written whole and let go meanwhile) is settled here, without the lane.
    const start = l.head;
    let bytes = 0;
    let taken = 0;
    let end = start;
    const jobs: BlockJob[] = [];
    let moot: BlockJob[] | undefined;
    while (end < l.queue.length && (jobs.length === 0 || bytes + l.queue[end].len <= this.opts.batchBytes)) {
      const job = l.queue[end++];
      taken += job.len;
      if (job.moot?.()) (moot ??= []).push(job);
      else {
        bytes += job.len;
        jobs.push(job);
      }
    }
    // The queue must not keep taken jobs (and through them requests, their
    // data and their connections) alive until it is next compacted.
    l.queue.fill(TAKEN, start, end);
    l.head = end;
    l.queuedBytes -= taken;
    if (l.head > 1024 && l.head * 2 > l.queue.length) {
      l.queue = l.queue.slice(l.head);
      l.head = 0;
    }
    if (moot) {
      this.release(l, moot);
      for (const job of moot) job.dropped?.();
    }
    if (jobs.length === 0) {
      // Only moot jobs were left: nothing to send.
      l.building = false;
      return;
    }
    const seq = ++l.nextSeq;
    // Read before the backend is asked: everything up to here is in the backend.
    const builtAfter = l.committedSeq;
    const needOld: number[] = [];
    const refs: BlockRef[] = [];
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j];
      if (job.kind === 'read' || job.offset !== 0 || job.len !== job.blockLen) {
        needOld.push(j);
        refs.push({ region: job.region, index: job.index });
      }
    }
    const fetched = refs.length ? this.backend.getMany(refs) : Promise.resolve([]);
    fetched.then(
      (stored) => this.dispatch(l, jobs, seq, builtAfter, generation, needOld, stored, bytes),
      (e: unknown) => {
        l.building = false;
        this.finish(l, jobs, backendFailure('read', e));
        this.pump(l);
      },
    );
  }

  private dispatch(l: LaneState, jobs: BlockJob[], seq: number, builtAfter: number, generation: number, needOld: number[], stored: (Uint8Array | undefined)[], rawBytes: number): void {
    if (generation !== this.executor.generation(l.lane)) {
      // Built for a worker that died meanwhile: what it read may predate the
      // commits of the dead worker's answered batches. Back to the head of
      // the queue, in order, to be built again after recovery.
      l.queue = jobs.concat(l.queue.slice(l.head));
      l.head = 0;
      l.queuedBytes += rawBytes;
      l.building = false;
      this.pump(l);
      return;
    }
    const desc = new Float64Array(this.buffers.take(jobs.length * JOB_FIELDS * 8), 0, jobs.length * JOB_FIELDS);
    let size = 0;
    for (const job of jobs) if (job.kind === 'write') size += job.len;
    for (const s of stored) if (s) size += s.length;
    const data = new Uint8Array(this.buffers.take(size), 0, size);
    let p = 0;
    let k = 0;
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j];
      const o = j * JOB_FIELDS;
      desc[o + JOB_KIND] = job.kind === 'write' ? JOB_WRITE : JOB_READ;
      desc[o + JOB_REGION] = job.region;
      desc[o + JOB_INDEX] = job.index;
      desc[o + JOB_BLOCK_LEN] = job.blockLen;
      desc[o + JOB_OFFSET] = job.offset;
      desc[o + JOB_LEN] = job.len;
      desc[o + JOB_STORED_OFF] = -1;
      desc[o + JOB_STORED_LEN] = 0;
      desc[o + JOB_DATA_OFF] = 0;
      if (job.kind === 'write') {
        data.set(job.data as Uint8Array, p);
        desc[o + JOB_DATA_OFF] = p;
        p += job.len;
      }
      if (k < needOld.length && needOld[k] === j) {
        const s = stored[k++];
        if (s) {
          data.set(s, p);
          desc[o + JOB_STORED_OFF] = p;
          desc[o + JOB_STORED_LEN] = s.length;
          p += s.length;
        }
      }
    }
    l.inflight++;
    l.building = false;
    const spare = l.spare;
    l.spare = [];
    l.sent.next({ jobs, seq, rawBytes, msg: { type: 'batch', seq, builtAfter, jobs: desc, data: data.buffer, spare } });
    this.pump(l);
  }

  /** One answer, in turn: a dead worker's batch fails; a result is committed. Never rejects (the stream would end). */
  private settle(l: LaneState, a: Answer): Promise<void> {
    if (a.error) {
      l.inflight--;
      this.finish(l, a.batch.jobs, a.error);
      this.pump(l);
      return Promise.resolve();
    }
    return this.commit(l, a.batch.jobs, a.batch.seq, a.res, a.batch.rawBytes).catch((e: unknown) => {
      process.stderr.write(`shimpack: internal error committing a batch of lane ${l.lane}: ${(e as Error)?.stack ?? String(e)}\n`);
    });
  }

  private commit(l: LaneState, jobs: BlockJob[], seq: number, res: LaneResult, rawBytes: number): Promise<void> {
    // The worker keeps no view of the batch's buffers once it answered.
    this.buffers.give(res.jobs.buffer as ArrayBuffer);
    this.buffers.give(res.data);
    const out = new Uint8Array(res.out);
    const r = res.results;
    const puts: BlockPut[] = [];
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j];
      const o = j * RES_FIELDS;
      // Stored even when the region was freed meanwhile: the lane drops its copy of
      // the block once this batch counts as committed, and a read admitted before
      // the free (so still owed the written bytes) may sit in a later batch.
      // free() deletes the region's blocks only after its last job is done.
      if (job.kind === 'write' && r[o + RES_MODE] !== RES_ERROR) {
        puts.push({ ref: { region: job.region, index: job.index }, bytes: out.subarray(r[o + RES_OUT_OFF], r[o + RES_OUT_OFF] + r[o + RES_OUT_LEN]) });
      }
    }
    // A backend that throws instead of rejecting fails the put like any other failure.
    return Promise.resolve()
      .then(() => (puts.length ? this.backend.putMany(puts) : undefined))
      .then(
        () => {
          l.committedSeq = seq;
          l.inflight--;
          this.observer?.onBatch(l.lane, jobs.length, rawBytes, res.batchSec);
          if (res.shadow) this.observer?.onShadow?.(res.shadow);
          // Released before the jobs complete: a connection their answers unpause sees the lanes as they now are.
          this.release(l, jobs);
          for (let j = 0; j < jobs.length; j++) {
            const o = j * RES_FIELDS;
            const job = jobs[j];
            if (r[o + RES_MODE] === RES_ERROR) {
              job.done(new Error(res.errors[j] ?? 'lane job failed'));
              continue;
            }
            this.observer?.onJob?.(job, r, o);
            const off = r[o + RES_OUT_OFF];
            job.done({
              lane: l.lane,
              mode: r[o + RES_MODE],
              storedLen: job.kind === 'write' ? r[o + RES_OUT_LEN] : r[o + RES_OLD_LEN],
              oldLen: r[o + RES_OLD_LEN],
              oldMode: r[o + RES_OLD_MODE],
              codecSec: r[o + RES_CODEC_SEC],
              bytes: job.kind === 'read' ? out.subarray(off, off + job.len) : undefined,
            });
          }
          // The backend copied what it keeps and reads were copied out in done(): the
          // worker may write into these again. (Not after a failed put: a backend that
          // gave up waiting may still read them.)
          if (l.spare.length < 8) l.spare.push(res.out, res.results.buffer as ArrayBuffer);
          this.pump(l);
        },
        (e: unknown) => {
          // The backend did not store the batch: nothing of it may count as committed.
          // Yet the batch is settled (the backend holds what it will of it): batches built
          // from now on tell the worker so, and it drops its copies of the failed writes
          // instead of serving them to later reads as if they were stored.
          l.committedSeq = seq;
          l.inflight--;
          this.finish(l, jobs, backendFailure('write', e));
          this.pump(l);
        },
      );
  }

  private finish(l: LaneState, jobs: BlockJob[], e: Error): void {
    this.release(l, jobs);
    for (const job of jobs) job.done(e);
  }

  private release(l: LaneState, jobs: BlockJob[]): void {
    for (const job of jobs) l.pendingBytes -= job.len + JOB_OVERHEAD_BYTES;
    l.pendingJobs -= jobs.length;
    if (this.drainWaiters.length && this.belowLowWater()) for (const w of this.drainWaiters.splice(0)) w();
    if (this.idleWaiters.length && this.lanes.every((x) => x.pendingJobs === 0)) for (const w of this.idleWaiters.splice(0)) w();
  }
}
