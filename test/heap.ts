import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A test module of its own: importing it turns on --expose-gc for the process.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * JS heap after two full collections, MiB. Buffer memory (process.memoryUsage's
 * arrayBuffers) is left out: it includes the lane worker threads' batch
 * buffers and swings by tens of MiB between samples without any trend.
 */
export function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}
