import { Worker } from 'node:worker_threads';

/**
 * Start a TypeScript module in a worker thread. On Node 20 tsx registers its
 * hooks in the main thread only, so the worker first registers tsx through
 * its API (as the lane workers do), then imports the entry.
 */
export function startTsWorker(entry: URL, workerData: unknown): Worker {
  const load = `import(${JSON.stringify(entry.href)})`;
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return ${load}; })`;
  return new Worker(bootstrap, { eval: true, workerData, name: 'shimpack-fuzz' });
}
