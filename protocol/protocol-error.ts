import type { ErrorCode } from './types.ts';

/** A request the daemon refuses: answered as {ok:false, code, message}. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    // No stack: a refusal is answered as code and message and never logged with one, and a
    // vector of thousands of failing elements made one each (~8 µs apiece, the largest cost
    // of the daemon's main thread under the fuzzer).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'ProtocolError';
  }
}
