import { spawnListening, type SpawnedDaemon } from '../server/spawn-daemon.ts';

/**
 * Start the latency floor's echo server (echo-floor-server.ts) in its own
 * process, as the daemon runs in its own: ws on loopback, one worker-thread
 * hop per frame, `{id, ok: true}` for every request. Stop it with `stop()`.
 */
export function spawnEchoFloor(): Promise<SpawnedDaemon> {
  return spawnListening('daemon/bench-daemon/echo-floor-server.js', [], 'echo floor server');
}
