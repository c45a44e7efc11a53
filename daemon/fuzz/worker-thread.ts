import { Worker } from 'node:worker_threads';
import { compiledModule } from '../package-root.ts';

/**
 * Start a fuzz module ('daemon/fuzz/codec-fuzz-worker.js') in a worker
 * thread. It runs compiled (dist/), as the lane workers do: Node 20 applies
 * tsx's loader hooks to the main thread only.
 */
export function startFuzzWorker(path: string, workerData: unknown): Worker {
  return new Worker(compiledModule(path), { workerData, name: 'shimpack-fuzz' });
}
