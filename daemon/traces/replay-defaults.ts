// The replay's pipelining defaults, apart from replay.ts so that the CLI's options need not load the replay.

/**
 * Bursts in flight unless told: eight windows of DEFAULT_VECTOR (1 MiB of 64-byte bursts). Each window costs
 * both sides a frame, a socket write and its promise steps, and the daemon its lane hand-offs, whatever its
 * size; on two cores that fixed cost, not the bytes, set the pace at 1024. With two in flight the client sat
 * idle while the daemon worked on both; more keep each side busy, up to about eight (docs/daemon.md).
 */
export const DEFAULT_WINDOW = 16384;
/** Bursts per vector unless told: at the default window, eight vectors in flight (answers come back while the next go). */
export const DEFAULT_VECTOR = 2048;
