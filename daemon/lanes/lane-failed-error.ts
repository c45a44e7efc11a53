import { ProtocolError } from '../pipeline/protocol-error.ts';

/**
 * A lane's worker thread died while a batch was on it (or the lane is
 * waiting out a crash-loop back-off). The jobs of that batch fail with this
 * error; the engine answers their requests with E_LANE_FAILED, because it
 * passes a ProtocolError's code through instead of calling it internal.
 */
export class LaneFailedError extends ProtocolError {
  constructor(
    readonly lane: number,
    message: string,
  ) {
    super('E_LANE_FAILED', message);
    this.name = 'LaneFailedError';
  }
}
