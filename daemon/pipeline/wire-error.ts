import { BackendError } from '../backend/guarded.ts';
import { LaneFailedError } from '../lanes/lane-failed-error.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';

/**
 * The wire code of a failure from below the pipeline. The backend and the
 * lanes have their own error types and know nothing of the protocol; here
 * they become the codes protocol/README.md documents. Anything else is a
 * bug of ours: E_INTERNAL.
 */
export function toProtocolError(e: unknown): ProtocolError {
  if (e instanceof ProtocolError) return e;
  if (e instanceof BackendError) return new ProtocolError('E_BACKEND', e.message);
  if (e instanceof LaneFailedError) return new ProtocolError('E_LANE_FAILED', e.message);
  return new ProtocolError('E_INTERNAL', (e as Error)?.message ?? String(e));
}
