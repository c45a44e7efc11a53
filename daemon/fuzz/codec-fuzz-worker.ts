import { parentPort, workerData } from 'node:worker_threads';
import { CodecCorpus, runCodecCase, type Finding } from './codec-fuzz.ts';

/**
 * Worker side of the codec fuzzer: runs seeds [first, first + count) and
 * reports progress. The seed being decoded is kept in shared memory, so the
 * main thread can name it if this thread hangs.
 */
export interface CodecFuzzJob {
  readonly first: number;
  readonly count: number;
  readonly corpusSeed: number;
  readonly timeBoundMs: number;
  readonly current: SharedArrayBuffer;
  /** Self-test of the watchdog: this seed spins forever instead of decoding. */
  readonly plantHangAtSeed?: number;
}
export interface CodecFuzzProgress {
  readonly done: number;
  readonly decoded: number;
  readonly codecErrors: number;
  readonly findings: Finding[];
  readonly finished: boolean;
}

if (!parentPort) throw new Error('codec fuzz worker must run in a worker thread');
const job = workerData as CodecFuzzJob;
const current = new Float64Array(job.current);
const corpus = new CodecCorpus(job.corpusSeed);
corpus.selfCheck();
// Ready: from here on the watchdog runs on the short deadline.
parentPort.postMessage({ done: 0, decoded: 0, codecErrors: 0, findings: [], finished: false } satisfies CodecFuzzProgress);
let decoded = 0;
let codecErrors = 0;
let findings: Finding[] = [];
let lastPost = performance.now();
for (let i = 0; i < job.count; i++) {
  const seed = job.first + i;
  current[0] = seed;
  if (seed === job.plantHangAtSeed) for (;;) current[0] = seed;
  const r = runCodecCase(corpus, seed, job.timeBoundMs);
  if (r === 'decoded') decoded++;
  else if (r === 'codec-error') codecErrors++;
  else findings.push(r);
  const now = performance.now();
  if (now - lastPost > 250) {
    parentPort.postMessage({ done: i + 1, decoded, codecErrors, findings, finished: false } satisfies CodecFuzzProgress);
    findings = [];
    lastPost = now;
  }
}
parentPort.postMessage({ done: job.count, decoded, codecErrors, findings, finished: true } satisfies CodecFuzzProgress);
