import { parentPort, workerData } from 'node:worker_threads';
import { JOB_DATA_OFF, JOB_FIELDS, JOB_KIND, JOB_LEN, JOB_WRITE, type LaneBatch, type LaneMessage } from './batch-format.ts';
import { LaneProcessor } from './lane-processor.ts';

/**
 * Entry point of one lane's worker thread. Messages are handled one at a
 * time in arrival order; each batch gets exactly one reply, its buffers
 * transferred back.
 */
if (!parentPort) throw new Error('lane worker must run in a worker thread');
const port = parentPort;
const lane = new LaneProcessor();

/** Test-only fault injection (WorkerLaneOptions.exitOnMarker): does a write in this batch carry the marker? */
const fault = workerData as { exitOnMarker?: boolean; hangOnMarker?: boolean; marker?: string } | undefined;
const marker = (fault?.exitOnMarker || fault?.hangOnMarker) && fault.marker ? new TextEncoder().encode(fault.marker) : undefined;
function carriesMarker(b: LaneBatch, m: Uint8Array): boolean {
  const data = new Uint8Array(b.data);
  for (let o = 0; o < b.jobs.length; o += JOB_FIELDS) {
    if (b.jobs[o + JOB_KIND] !== JOB_WRITE || b.jobs[o + JOB_LEN] < m.length) continue;
    const at = b.jobs[o + JOB_DATA_OFF];
    let k = 0;
    while (k < m.length && data[at + k] === m[k]) k++;
    if (k === m.length) return true;
  }
  return false;
}

port.on('message', (msg: LaneMessage) => {
  if (marker && msg.type === 'batch' && carriesMarker(msg, marker)) {
    if (fault?.hangOnMarker) for (;;); // a worker stuck for good (the executor's watchdog test)
    process.exit(70);
  }
  try {
    const res = lane.handle(msg);
    // The batch's own buffers go back too, for the main thread to reuse.
    if (res) {
      const transfer = [res.results.buffer as ArrayBuffer, res.out, res.jobs.buffer as ArrayBuffer, res.data];
      if (res.shadow) transfer.push(res.shadow.buffer as ArrayBuffer);
      port.postMessage({ ok: true, res }, transfer);
    }
  } catch (e) {
    // A control message failed (bad model) or a batch broke as a whole.
    port.postMessage({ ok: false, type: msg.type, message: (e as Error).message });
  }
});

// Loaded: from now on the executor's watchdog may time this worker's batches.
port.postMessage({ ready: true });
