import type { Finding } from './codec-fuzz.ts';
import type { CodecFuzzJob, CodecFuzzProgress } from './codec-fuzz-worker.ts';
import { startFuzzWorker } from './worker-thread.ts';

export interface CodecFuzzSummary {
  cases: number;
  decoded: number;
  codecErrors: number;
  findings: Finding[];
  seconds: number;
}

export interface CodecFuzzOptions {
  readonly firstSeed: number;
  readonly cases: number;
  /** Longest one decode may take before it counts as a finding. */
  readonly timeBoundMs?: number;
  /** No progress for this long: the worker is hung; it is killed and the seed it was on is reported. */
  readonly hangMs?: number;
  readonly corpusSeed?: number;
  /** Self-test of the watchdog (see CodecFuzzJob). */
  readonly plantHangAtSeed?: number;
  onProgress?(done: number): void;
}

/**
 * Run codec fuzz cases in worker threads (one per slice), with a watchdog:
 * a decoder that loops forever blocks only its worker, which the main thread
 * terminates, reports (seed and all), and the run continues after that seed.
 */
export async function runCodecFuzz(opts: CodecFuzzOptions): Promise<CodecFuzzSummary> {
  const t0 = performance.now();
  const sum: CodecFuzzSummary = { cases: 0, decoded: 0, codecErrors: 0, findings: [], seconds: 0 };
  let next = opts.firstSeed;
  const end = opts.firstSeed + opts.cases;
  while (next < end) {
    const current = new SharedArrayBuffer(8);
    const job: CodecFuzzJob = { first: next, count: end - next, corpusSeed: opts.corpusSeed ?? 1, timeBoundMs: opts.timeBoundMs ?? 1000, current, plantHangAtSeed: opts.plantHangAtSeed };
    const w = startFuzzWorker('daemon/fuzz/codec-fuzz-worker.js', job);
    let base = { done: 0, decoded: 0, codecErrors: 0 };
    let ready = false;
    const stoppedAt = await new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      // Building the corpus takes a moment: the first deadline is generous.
      const arm = (ms: number): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (!ready) {
            // Still building its corpus (a loaded machine): no case ran, so no seed hung. Resuming "after
            // seed 0" would restart the run at seed 1 with a negative case count; stop it with a finding instead.
            sum.findings.push({ seed: next, target: 'codec', how: 'startup', problem: `the worker did not build its corpus within ${ms} ms` });
            void w.terminate();
            resolve(-1);
            return;
          }
          const seed = new Float64Array(current)[0];
          sum.findings.push({ seed, target: 'codec', how: 'see seed', problem: `no progress for ${ms} ms: hang` });
          void w.terminate();
          resolve(seed + 1);
        }, ms);
      };
      arm(60_000);
      w.on('message', (p: CodecFuzzProgress) => {
        ready = true;
        arm(opts.hangMs ?? 10_000);
        sum.findings.push(...p.findings);
        base = { done: p.done, decoded: p.decoded, codecErrors: p.codecErrors };
        opts.onProgress?.(sum.cases + p.done);
        if (p.finished) {
          clearTimeout(timer);
          void w.terminate();
          resolve(end);
        }
      });
      w.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    if (stoppedAt === -1) break;
    sum.cases += stoppedAt === end ? base.done : stoppedAt - next;
    sum.decoded += base.decoded;
    sum.codecErrors += base.codecErrors;
    next = stoppedAt;
  }
  sum.seconds = (performance.now() - t0) / 1000;
  return sum;
}
