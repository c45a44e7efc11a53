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
  /**
   * Run a batch on a lane. The batch's buffers are transferred (detached
   * here). Rejects with a LaneFailedError when the lane's worker dies with
   * the batch on it.
   */
  run(lane: number, batch: LaneBatch): Promise<LaneResult>;
  /**
   * Bumped each time the lane's worker is lost. A new worker starts with an
   * empty cache of recently written blocks, so the scheduler must not send it
   * a batch built while older batches of the lane were still uncommitted.
   */
  generation(lane: number): number;
  /** Times the lane's worker was replaced (metrics). */
  restarts(lane: number): number;
  close(): Promise<void>;
}
