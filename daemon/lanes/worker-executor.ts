import { Worker } from 'node:worker_threads';
import type { ControlMessage, LaneBatch, LaneResult } from './batch-format.ts';
import type { LaneExecutor } from './executor.ts';

type Reply = { ok: true; res: LaneResult } | { ok: false; type: string; message: string };

interface Pending {
  resolve(r: LaneResult): void;
  reject(e: Error): void;
}

/**
 * One worker thread per lane (not a pool): a lane must always be the same
 * thread, because it keeps the blocks it wrote until they are committed, and
 * a worker answers its messages in order, so a FIFO of pending promises per
 * lane matches replies to batches. The worker file is TypeScript.
 */
export class WorkerLaneExecutor implements LaneExecutor {
  private readonly workers: Worker[] = [];
  private readonly pending: Pending[][] = [];
  private closing = false;
  /** Called when a lane fails outside any batch (bad model message, worker crash). */
  onLaneError: (lane: number, message: string) => void = (lane, message) => {
    process.stderr.write(`shimpack: lane ${lane}: ${message}\n`);
  };

  constructor(readonly lanes: number) {
    const entry = new URL('./worker.ts', import.meta.url).href;
    const w0 = `import(${JSON.stringify(entry)})`;
    // On Node 20, tsx registers its ESM hooks in the main thread only (it
    // checks isMainThread), so a worker inherits `--import tsx` in execArgv
    // but still cannot load .ts. The bootstrap registers tsx in the worker
    // through tsx's own API, then imports the TypeScript entry.
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return ${w0}; })`;
    for (let i = 0; i < lanes; i++) {
      const w = new Worker(bootstrap, { eval: true, name: `shimpack-lane-${i}` });
      const queue: Pending[] = [];
      w.on('message', (m: Reply) => {
        if (m.ok) queue.shift()?.resolve(m.res);
        else if (m.type === 'batch') queue.shift()?.reject(new Error(m.message));
        else this.onLaneError(i, m.message);
      });
      const fail = (e: Error): void => {
        for (const p of queue.splice(0)) p.reject(e);
        if (!this.closing) this.onLaneError(i, e.message);
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`lane worker exited with code ${code}`)));
      this.workers.push(w);
      this.pending.push(queue);
    }
  }

  broadcast(msg: ControlMessage): void {
    for (const w of this.workers) w.postMessage(msg);
  }

  run(lane: number, batch: LaneBatch): Promise<LaneResult> {
    return new Promise((resolve, reject) => {
      this.pending[lane].push({ resolve, reject });
      this.workers[lane].postMessage(batch, [batch.jobs.buffer as ArrayBuffer, batch.data]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
