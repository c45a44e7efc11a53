/**
 * A lane's worker thread died while a batch was on it (or the lane is
 * waiting out a crash-loop back-off). The jobs of that batch fail with this
 * error; the pipeline answers their requests with E_LANE_FAILED
 * (pipeline/wire-error.ts), not E_INTERNAL: the request may simply be retried.
 */
export class LaneFailedError extends Error {
  readonly code = 'E_LANE_FAILED';
  constructor(
    readonly lane: number,
    message: string,
  ) {
    super(message);
    this.name = 'LaneFailedError';
  }
}
