import type { ErrorCode } from '../../protocol/types.ts';

/**
 * Client-side codes, next to the server's: the connection closed or failed
 * before an answer; E_CHANNELS: the URLs given are not the daemons of channels
 * 0 ... N-1 in order (clients/ts/channels.ts).
 */
export type ClientErrorCode = 'E_CLOSED' | 'E_CONNECT' | 'E_CHANNELS';

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
