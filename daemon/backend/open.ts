import type { DaemonConfig } from '../config.ts';
import type { MemoryBackend } from './backend.ts';
import { FileBackend, type SyncMode } from './file.ts';
import { InMemoryBackend } from './memory.ts';

/** The backend `--backend` names: `memory` (default) or `file:DIR`. */
export function openBackend(config: DaemonConfig): MemoryBackend {
  if (config.backend === 'memory') return new InMemoryBackend();
  const dir = config.backend.slice('file:'.length);
  return new FileBackend(dir, { sync: config.sync as SyncMode, compactMinBytes: config.compactBytes });
}
