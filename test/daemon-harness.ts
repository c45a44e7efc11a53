import { ShimpackClient, type ConnectOptions } from '../clients/ts/index.ts';
import { configWith, type DaemonConfig } from '../daemon/config.ts';
import { startDaemon, type DaemonParts, type RunningDaemon } from '../daemon/server/daemon.ts';

/** A real daemon on a free loopback port, with worker lanes unless told otherwise. */
export async function startTestDaemon(overrides: Partial<DaemonConfig> = {}, parts: DaemonParts = {}): Promise<RunningDaemon> {
  return startDaemon(configWith({ host: '127.0.0.1', port: 0, lanes: 2, ...overrides }), parts);
}

export function connect(d: RunningDaemon, opts?: ConnectOptions): Promise<ShimpackClient> {
  return ShimpackClient.connect(d.url, opts);
}

/** Deterministic bytes (xorshift) with a share of zeros, so codecs have something to do. */
export function testBytes(n: number, seed: number, zeroShare = 0.5): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = (s >>> 0) / 4294967296;
    out[i] = r < zeroShare ? 0 : (s >>> 8) & 0xff;
  }
  return out;
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    if ((e as { code?: string }).code === code) return;
    throw new Error(`expected ${code}, got ${(e as Error).message}`);
  }
  throw new Error(`expected ${code}, but the request succeeded`);
}

/** xorshift32 in [0, 1), for reproducible op sequences. */
export function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
