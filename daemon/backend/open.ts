import type { DaemonConfig } from '../config.ts';
import type { MemoryBackend } from './backend.ts';
import { FileBackend, type SyncMode } from './file.ts';
import { InMemoryBackend } from './memory.ts';
import { channelTag } from './redis-keys.ts';
import { isRedisUrl, parseRedisUrl } from './redis-url.ts';

export interface OpenHooks {
  /** The address space of a region declaration (the Redis backend keys blocks by it). */
  readonly spaceOf?: (meta: Uint8Array) => string;
  /** The memory channel this daemon serves (--channel I/N, parsed by the caller); default 0 of 1. */
  readonly channel?: { readonly index: number; readonly channels: number };
}

/**
 * The backend `--backend` names: `memory` (default), `file:DIR`,
 * `redis://...` or `redis-cluster://...`. A Redis backend connects and loads
 * this channel's region table here: it throws BackendOpenError when it cannot.
 */
export async function openBackend(config: DaemonConfig, hooks: OpenHooks = {}): Promise<MemoryBackend> {
  if (config.backend === 'memory') return new InMemoryBackend();
  if (isRedisUrl(config.backend)) {
    const ch = hooks.channel ?? { index: 0, channels: 1 };
    // Loaded only when asked for: ioredis costs every CLI start ~100 ms otherwise.
    const { RedisBackend } = await import('./redis.ts');
    return RedisBackend.open({
      target: parseRedisUrl(config.backend),
      channel: channelTag(ch.index, ch.channels),
      layout: `channels=${ch.channels} granule=${ch.channels === 1 ? 0 : config.channelGranule}`,
      sync: config.sync as SyncMode,
      timeoutMs: config.backendTimeoutMs,
      spaceOf: hooks.spaceOf,
    });
  }
  const dir = config.backend.slice('file:'.length);
  return new FileBackend(dir, { sync: config.sync as SyncMode, compactMinBytes: config.compactBytes });
}
