import { createHash } from 'node:crypto';
import { Piscina } from 'piscina';
import type { CodecOptions } from '../codecs/codec.ts';
import type { Dtype } from '../codecs/dtype.ts';
import { compiledModule } from '../package-root.ts';
import type { FitTask } from './fit-worker.ts';

/** How long the fit thread outlives its last fit (a daemon without context-codec regions never starts it). */
const IDLE_MS = 30_000;

/** Distinct fits remembered (a table is 0.1-2 KB, a key 60 bytes: well under 1 MiB). */
export const CONTEXT_FIT_MEMO = 256;

/** Fits a context codec's table from a region's kept bytes (the engine's view of FitPool; tests give their own). */
export interface ContextFitter {
  fit(codec: string, dtype: Dtype, data: Uint8Array, options: CodecOptions): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Fits context-codec tables (fpack, SCC) off the main thread. Their exact
 * searches take 10-400 ms on a region's first 64 KiB (fpack: about 60 ms
 * for bf16, 130 ms for fp8, on ../shared/data-float), time in which the main
 * thread would answer no connection. One thread, started at the first fit
 * and stopped when idle: fits are rare (one per region), and the lanes need
 * the other cores.
 */
export class FitPool implements ContextFitter {
  private pool: Piscina | undefined;
  private closed = false;
  /** Tables by codec, dtype, options and the bytes fitted, least recently used first: a fit is a pure function of them. */
  private readonly memo = new Map<string, Promise<Uint8Array>>();
  /** Fits run and fits answered from the memo (tests read these). */
  readonly counts = { fitted: 0, remembered: 0 };

  /**
   * The table of `data`, fitted on the fit thread, or remembered: a model's
   * tensors written again (each inference, each replay of a trace) give the
   * same bytes, and a fit costs far more than hashing them. A copy each
   * time: the caller owns its params.
   */
  async fit(codec: string, dtype: Dtype, data: Uint8Array, options: CodecOptions): Promise<Uint8Array> {
    if (this.closed) throw new Error('the fit pool is closed');
    const key = createHash('sha256').update(data).update(JSON.stringify([codec, dtype, options])).digest('base64');
    let fitting = this.memo.get(key);
    if (fitting) {
      this.memo.delete(key);
      this.counts.remembered++;
    } else {
      this.pool ??= new Piscina({ filename: compiledModule('daemon/pipeline/fit-worker.js').href, minThreads: 0, maxThreads: 1, idleTimeout: IDLE_MS });
      const task: FitTask = { codec, dtype, data, options };
      // cloned, not moved: the bytes may be a piece the region still keeps (64 KiB at most)
      fitting = this.pool.run(task) as Promise<Uint8Array>;
      this.counts.fitted++;
      // a failed fit is not remembered: the next region with these bytes tries again
      fitting.catch(() => this.memo.get(key) === fitting && this.memo.delete(key));
    }
    this.memo.set(key, fitting);
    if (this.memo.size > CONTEXT_FIT_MEMO) this.memo.delete(this.memo.keys().next().value as string);
    return (await fitting).slice();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.destroy();
  }
}
