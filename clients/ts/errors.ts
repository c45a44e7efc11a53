import type { ErrorCode } from '../../protocol/types.ts';

/** Client-side codes, next to the server's: the connection closed or failed before an answer. */
export type ClientErrorCode = 'E_CLOSED' | 'E_CONNECT';

/** A request the daemon refused (server code), or one the connection could not carry (client code). */
export class ShimpackError extends Error {
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The request id, when the error answers one request. */
    readonly requestId: number | null = null,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ShimpackError';
  }
}
