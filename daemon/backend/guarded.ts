import type { BlockPut, BlockRef, MemoryBackend, StoredRegion } from './backend.ts';

export type BackendOp = 'getMany' | 'putMany' | 'putRegion' | 'deleteRegion' | 'close';
/** error: threw or rejected; timeout: no answer in time; blocked: not issued, its region has a late call of the same kind. */
export type BackendFailureKind = 'timeout' | 'error' | 'blocked';

/**
 * The backend threw, rejected or did not answer within --backend-timeout-ms.
 * The pipeline answers the requests it fails with E_BACKEND
 * (pipeline/wire-error.ts); this layer knows nothing of the wire.
 */
export class BackendError extends Error {
  readonly code = 'E_BACKEND';
  constructor(
    readonly op: BackendOp,
    readonly kind: BackendFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

export interface GuardObserver {
  /** An operation was answered as failed. */
  onFailure?(op: BackendOp, kind: BackendFailureKind): void;
  /** A timed-out mutation finally settled in the backend (`completed`: it did take effect). */
  onLateSettle?(op: BackendOp, completed: boolean): void;
}

export interface GuardOptions {
  readonly timeoutMs: number;
  readonly observer?: GuardObserver;
}

/**
 * Puts every backend call under a deadline and turns throws, rejections and
 * timeouts into a BackendError, so one stuck or broken backend call fails its
 * own requests instead of holding a lane (and the daemon's shutdown) forever.
 *
 * What a timed-out mutation means (docs/hardening.md): it was answered as
 * failed, yet the backend may still apply it later. So that such a late
 * write can never land on top of a newer one, further mutations of that
 * region fail at once, without reaching the backend, until the backend has
 * settled the late one. Reads that time out likewise make further reads of
 * their regions fail at once until the backend answers the late one: a
 * region the backend is stuck on then costs its lane one timeout, not one
 * per batch. Other regions are not held up.
 *
 * Two failures leave the backend behind the daemon's state, and are repaired
 * here: a declaration (putRegion) that failed is recorded again before the
 * region's next blocks, so no acknowledged block is ever stored without its
 * declaration; a deleteRegion that failed is retried until the backend takes
 * it (the region is already gone from the daemon's tables).
 */
export class GuardedBackend implements MemoryBackend {
  readonly name: string;
  /** Per region: calls answered as timed out that the backend has not settled yet, mutations and reads apart. */
  private readonly lateWrites = new Map<number, Set<Promise<void>>>();
  private readonly lateReads = new Map<number, Set<Promise<void>>>();
  private lateCount = 0;
  /** The last declaration the daemon gave for each live region. */
  private readonly latestMeta = new Map<number, Uint8Array>();
  /** Declarations the backend did not take: recorded again before the region's next putMany. */
  private readonly unrecorded = new Map<number, Uint8Array>();
  /** Regions freed whose deleteRegion failed: retried. */
  private readonly undeleted = new Set<number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly inner: MemoryBackend,
    private readonly opts: GuardOptions,
  ) {
    this.name = inner.name;
  }

  /** Calls answered as timed out that the backend is still working on (metrics, tests). */
  get lateOperations(): number {
    return this.lateCount;
  }

  /** Regions whose delete is still owed to the backend. */
  get pendingDeletes(): number {
    return this.undeleted.size;
  }

  getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    const regions = new Set<number>();
    for (const r of refs) regions.add(r.region);
    return this.run('getMany', [...regions], this.lateReads, () => this.inner.getMany(refs));
  }

  putMany(puts: readonly BlockPut[]): Promise<void> {
    const regions = new Set<number>();
    for (const p of puts) regions.add(p.ref.region);
    const owed: [number, Uint8Array][] = [];
    for (const r of regions) {
      const meta = this.unrecorded.get(r);
      if (meta) owed.push([r, meta]);
    }
    if (owed.length === 0) return this.run('putMany', [...regions], this.lateWrites, () => this.inner.putMany(puts));
    // The region's declaration first: a block must never be held without it.
    return this.run('putMany', [...regions], this.lateWrites, async () => {
      for (const [r, meta] of owed) {
        await this.inner.putRegion(r, meta);
        if (this.unrecorded.get(r) === meta) this.unrecorded.delete(r);
      }
      await this.inner.putMany(puts);
    });
  }

  putRegion(region: number, meta: Uint8Array): Promise<void> {
    // A newer declaration replaces one still owed, and an older one failing later must not come back.
    this.unrecorded.delete(region);
    this.latestMeta.set(region, meta);
    const p = this.run('putRegion', [region], this.lateWrites, () => this.inner.putRegion(region, meta));
    p.catch(() => {
      if (this.latestMeta.get(region) === meta) this.unrecorded.set(region, meta);
    });
    return p;
  }

  deleteRegion(region: number): Promise<void> {
    this.unrecorded.delete(region);
    this.latestMeta.delete(region);
    this.undeleted.delete(region);
    const p = this.run('deleteRegion', [region], this.lateWrites, () => this.inner.deleteRegion(region));
    p.catch(() => {
      this.undeleted.add(region);
      this.scheduleRetry();
    });
    return p;
  }

  listRegions(): StoredRegion[] {
    return this.inner.listRegions();
  }

  bytesHeld(): number {
    return this.inner.bytesHeld();
  }

  bytesAllocated(): number | undefined {
    return this.inner.bytesAllocated?.();
  }

  blocksHeld(): number {
    return this.inner.blocksHeld();
  }

  /**
   * Waits (bounded) for late operations, then closes the backend under the
   * same deadline: a backend that never answers cannot hold the daemon's exit.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    const late = [...this.lateWrites.values(), ...this.lateReads.values()].flatMap((s) => [...s]);
    if (late.length) {
      let timer: NodeJS.Timeout | undefined;
      // Not unref'd: the shutdown waiting on this must not end with the event loop.
      await Promise.race([Promise.allSettled(late), new Promise((r) => (timer = setTimeout(r, this.opts.timeoutMs)))]);
      clearTimeout(timer);
    }
    // Last try for deletes still owed: a persistent backend would otherwise bring the freed region back.
    await Promise.allSettled([...this.undeleted].map((r) => this.run('deleteRegion', [r], this.lateWrites, () => this.inner.deleteRegion(r))));
    await this.bounded('close', this.safeCall(() => this.inner.close()));
  }

  /** Retry owed deletes once per timeout period while there are any. */
  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const r of [...this.undeleted]) {
        this.undeleted.delete(r);
        this.run('deleteRegion', [r], this.lateWrites, () => this.inner.deleteRegion(r)).catch(() => {
          this.undeleted.add(r);
          this.scheduleRetry();
        });
      }
    }, this.opts.timeoutMs);
    this.retryTimer.unref();
  }

  /**
   * One guarded call, issued at once (so the backend sees calls in the order
   * the daemon made them), except when one of its regions has a late call of
   * the same kind (`late`: mutations or reads): then it fails at once, never
   * issued, so a late write cannot be overtaken and a stuck region does not
   * hold its lane for a full timeout on every batch.
   */
  private run<T>(op: BackendOp, regions: readonly number[], late: Map<number, Set<Promise<void>>>, call: () => Promise<T>): Promise<T> {
    for (const r of regions) {
      if (late.has(r)) {
        this.opts.observer?.onFailure?.(op, 'blocked');
        const what = late === this.lateWrites ? 'write' : 'read';
        return Promise.reject(new BackendError(op, 'blocked', `backend ${op}: not issued, an earlier ${what} of region ${r} timed out and the backend has not finished it yet`));
      }
    }
    return this.bounded(op, this.safeCall(call), regions, late);
  }

  /** Call the backend; a synchronous throw becomes a rejection. */
  private safeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return Promise.resolve(call());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Race `p` against the deadline; on timeout it is remembered in `late` for `regions` until it settles. */
  private bounded<T>(op: BackendOp, p: Promise<T>, regions: readonly number[] = [], late?: Map<number, Set<Promise<void>>>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        if (late) this.markLate(op, regions, late, p);
        this.opts.observer?.onFailure?.(op, 'timeout');
        reject(new BackendError(op, 'timeout', `backend ${op} did not answer within ${this.opts.timeoutMs} ms (--backend-timeout-ms)`));
      }, this.opts.timeoutMs);
      p.then(
        (v) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (e instanceof BackendError) {
            this.opts.observer?.onFailure?.(op, e.kind);
            reject(e);
            return;
          }
          this.opts.observer?.onFailure?.(op, 'error');
          reject(new BackendError(op, 'error', `backend ${op} failed: ${(e as Error)?.message ?? String(e)}`));
        },
      );
    });
  }

  /** Remember a timed-out call until the backend settles it. */
  private markLate(op: BackendOp, regions: readonly number[], late: Map<number, Set<Promise<void>>>, p: Promise<unknown>): void {
    let tracked: Promise<void>;
    const settle = (completed: boolean): void => {
      for (const r of regions) {
        const s = late.get(r);
        if (!s) continue;
        s.delete(tracked);
        if (s.size === 0) late.delete(r);
      }
      this.lateCount--;
      this.opts.observer?.onLateSettle?.(op, completed);
    };
    tracked = p.then(
      () => settle(true),
      () => settle(false),
    );
    this.lateCount++;
    for (const r of regions) {
      let s = late.get(r);
      if (!s) late.set(r, (s = new Set()));
      s.add(tracked);
    }
  }
}
