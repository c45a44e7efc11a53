import type { ControlMessage, LaneBatch, LaneResult } from './batch-format.ts';

/**
 * How lanes run their codec work. The scheduler only needs: per-lane FIFO
 * execution of batches, control messages ordered before later batches of
 * every lane, and a result promise per batch.
 */
export interface LaneExecutor {
  readonly lanes: number;
  /** Send to every lane; takes effect before any batch submitted afterwards. */
  broadcast(msg: ControlMessage): void;
  /** Run a batch on a lane. The batch's buffers are transferred (detached here). */
  run(lane: number, batch: LaneBatch): Promise<LaneResult>;
  close(): Promise<void>;
}
