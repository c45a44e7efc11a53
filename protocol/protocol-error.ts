import type { ErrorCode } from './types.ts';

/** A request the daemon refuses: answered as {ok:false, code, message}. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
