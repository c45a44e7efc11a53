import { setFlagsFromString } from 'node:v8';

/** Old-generation limit after a full collection: live size x (1 + this / 100). */
export const DAEMON_HEAP_GROWING_PERCENT = 300;

/**
 * Let this process's old generation grow to 4x its live size before the next
 * full (mark-compact) collection, unless node was started with its own
 * --heap-growing-percent. Called by `serve` and by `bench daemon` (its
 * client's collections would otherwise show up as daemon latency: paced p99
 * 8.9 -> 6.2 ms at 10,000 writes/s).
 *
 * Why: the daemon's live heap is small (~13 MB) while it allocates fast, so
 * V8's default limit (about 2x live) leaves less room than the young
 * generation's capacity, and V8 then starts incremental marking again right
 * after each full collection finishes. Under a closed loop of 4 KiB writes
 * (APack, 2 connections x 32) that was 60-80 mark-compacts in 7 s (helper
 * threads busy, 5-10 ms pauses); with this setting, 1-3 (docs/daemon.md).
 * V8 reads this flag each time it computes the limit, so setting it at
 * start-up takes effect. The price is more garbage between full
 * collections: heap 55 MB instead of 52 MB, RSS 223 MB instead of 217 MB
 * in that run. `node --heap-growing-percent=0` restores V8's default.
 *
 * Returns the percent in effect (node's own when given; NaN if it had no
 * `=value`), which `serve` prints in its listening line.
 */
export function tuneHeapGrowth(): number {
  // (V8 refuses this flag in NODE_OPTIONS, so the command line is the only other place.)
  const own = process.execArgv.find((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
  if (own !== undefined) return Number(own.split('=')[1]);
  setFlagsFromString(`--heap-growing-percent=${DAEMON_HEAP_GROWING_PERCENT}`);
  return DAEMON_HEAP_GROWING_PERCENT;
}
