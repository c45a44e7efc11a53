// The replay's pipelining defaults, apart from replay.ts so that the CLI's options need not load the replay.

/**
 * Bursts in flight unless told: two windows of DEFAULT_VECTOR (256 KiB of 64-byte bursts). Each window costs
 * both sides a frame, a socket write and its promise steps, and the daemon its lane hand-offs, whatever its
 * size; on two cores that fixed cost, not the bytes, set the pace at 1024 (docs/daemon.md).
 */
export const DEFAULT_WINDOW = 4096;
/** Bursts per vector unless told: at the default window, two vectors in flight (one answered while the next goes). */
export const DEFAULT_VECTOR = 2048;
