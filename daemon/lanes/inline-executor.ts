import type { ControlMessage, LaneBatch, LaneResult } from './batch-format.ts';
import type { LaneExecutor } from './executor.ts';
import { LaneProcessor } from './lane-processor.ts';

/**
 * Lanes run on the calling thread, one LaneProcessor each, answered on a
 * later microtask. Same semantics as the worker lanes without threads: for
 * unit tests and for measuring what the thread hand-off costs.
 */
export class InlineLaneExecutor implements LaneExecutor {
  private readonly procs: LaneProcessor[];

  constructor(readonly lanes: number) {
    this.procs = Array.from({ length: lanes }, () => new LaneProcessor());
  }

  broadcast(msg: ControlMessage): void {
    for (const p of this.procs) p.handle(msg);
  }

  run(lane: number, batch: LaneBatch): Promise<LaneResult> {
    return Promise.resolve().then(() => this.procs[lane].handle(batch) as LaneResult);
  }

  /** Inline lanes cannot die on their own. */
  generation(): number {
    return 0;
  }

  restarts(): number {
    return 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
