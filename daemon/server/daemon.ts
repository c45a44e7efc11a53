import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { MemoryBackend } from '../backend/backend.ts';
import { GuardedBackend } from '../backend/guarded.ts';
import { openBackend } from '../backend/open.ts';
import type { DaemonConfig } from '../config.ts';
import type { LaneExecutor } from '../lanes/executor.ts';
import { WorkerLaneExecutor } from '../lanes/worker-executor.ts';
import { BackendMetrics } from '../metrics/backend-metrics.ts';
import { registerChannelInfo } from '../metrics/channel-metrics.ts';
import { DaemonMetrics } from '../metrics/metrics.ts';
import { Engine } from '../pipeline/engine.ts';
import type { ContextFitter } from '../pipeline/fit-pool.ts';
import { decodeRegionMeta } from '../pipeline/region-meta.ts';
import { RequestRecorder } from '../traces/request-recorder.ts';
import { parseChannel } from '../../protocol/channel.ts';
import { Access } from './access.ts';
import { handleHttp } from './http-routes.ts';
import { Session } from './session.ts';

export interface RunningDaemon {
  readonly host: string;
  readonly port: number;
  /** ws://host:port/ */
  readonly url: string;
  readonly engine: Engine;
  readonly metrics: DaemonMetrics;
  /** Stop taking work, answer everything in flight, close sockets and lanes. */
  close(): Promise<void>;
}

export interface DaemonParts {
  readonly backend?: MemoryBackend;
  readonly executor?: LaneExecutor;
  /** Where context codecs' tables are fitted (default: the engine's own fit thread). */
  readonly fitter?: ContextFitter;
}

/** The port or address cannot be bound (taken, not on this machine, no permission). */
export class ListenError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly code: string,
    detail: string,
  ) {
    super(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'ListenError';
  }
}

/** Frames above this are not even read (ws closes with 1009); between maxFrameBytes and it they get E_FRAME_TOO_LARGE. */
function hardFrameLimit(maxFrameBytes: number): number {
  return maxFrameBytes * 2 + 1024 * 1024;
}

/**
 * Start the daemon: one HTTP server carrying the WebSocket protocol, /metrics
 * and /healthz, in front of the engine (regions, lanes, backend).
 */
export async function startDaemon(config: DaemonConfig, parts: DaemonParts = {}): Promise<RunningDaemon> {
  // Checked first: a refused configuration must not leave lane threads or files open.
  const access = new Access(config);
  // Opened before any thread: an unwritable --record path refuses the start.
  const recorder = config.record
    ? new RequestRecorder(config.record, { lanes: parts.executor?.lanes ?? config.lanes, blockBytes: config.blockSize, burstBytes: config.burstBytes })
    : undefined;
  let store: MemoryBackend;
  try {
    store = parts.backend ?? (await openBackend(config, { spaceOf: (meta) => decodeRegionMeta(meta).space, channel: parseChannel(config.channel) }));
  } catch (e) {
    await recorder?.close().catch(() => undefined);
    throw e;
  }
  const executor = parts.executor ?? new WorkerLaneExecutor(config.lanes, { batchTimeoutMs: config.laneTimeoutMs });
  const sessions = new Set<Session>();
  const state = { shuttingDown: false, recorder, access };
  // The engine, backend and metrics refer to each other through these probes
  // only, which run at scrape time, once everything exists.
  let engine: Engine | undefined;
  const metrics = new DaemonMetrics(config.metricsRegionLabels, executor.lanes, {
    laneDepth: (lane) => engine?.scheduler.depth(lane) ?? 0,
    laneRestarts: (lane) => executor.restarts(lane),
    backendBytes: () => backend.bytesHeld(),
    backendBlocks: () => backend.blocksHeld(),
    backendAllocated: () => backend.bytesAllocated(),
    sendBufferBytes: () => {
      let n = 0;
      for (const s of sessions) n += s.bufferedBytes;
      return n;
    },
  });
  // Every backend call under --backend-timeout-ms; failures answer E_BACKEND (backend/guarded.ts, pipeline/wire-error.ts).
  const backend = new GuardedBackend(store, {
    timeoutMs: config.backendTimeoutMs,
    observer: new BackendMetrics(metrics.registry, () => backend.lateOperations),
  });
  engine = new Engine(config, backend, executor, metrics, parts.fitter);
  const eng = engine;
  registerChannelInfo(metrics.registry, eng.channel.index, eng.channel.channels, backend.name);
  // A persistent backend brings back the regions (and their blocks) of the last run.
  eng.restore();

  const http: Server = createServer((req, res) =>
    handleHttp(
      {
        registry: metrics.registry,
        get shuttingDown() {
          return state.shuttingDown;
        },
        health: () => ({ lanes: eng.lanes, connections: sessions.size, regions: eng.regions.size, backend: backend.name }),
      },
      req,
      res,
    ),
  );
  const wss = new WebSocketServer({ server: http, maxPayload: hardFrameLimit(config.maxFrameBytes), perMessageDeflate: false });
  wss.on('connection', (ws) => {
    const session = new Session(ws, eng, metrics, config, state);
    sessions.add(session);
    metrics.connections.inc();
    metrics.connectionsTotal.inc();
    ws.on('error', () => {
      /* a broken socket only ends its own session */
    });
    ws.once('close', () => {
      sessions.delete(session);
      metrics.connections.dec();
      session.stop();
    });
    session.start();
  });

  // ws re-emits the server's errors on wss; without a listener a failed listen would crash the process.
  wss.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    await eng.close().catch(() => undefined);
    await recorder?.close().catch(() => undefined);
    if (config.record) rmSync(config.record, { force: true }); // a header-only recording of nothing
    // "listen EADDRINUSE: address already in use 127.0.0.1:7420" -> "address already in use"
    const why = err.code ? (err.message.split(`${err.code}: `)[1] ?? '').replace(/,.*$| \S+:\d+$/, '') : '';
    throw new ListenError(config.host, config.port, err.code ?? 'E_LISTEN', err.code ? why : err.message);
  }
  const addr = http.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.shuttingDown = true;
      http.close(); // no new connections; existing ones are ended below
      const drainAll = Promise.all([...sessions].map((s) => s.drain()));
      const timedOut = await Promise.race([
        drainAll.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), config.shutdownTimeoutMs).unref()),
      ]);
      for (const c of wss.clients) {
        if (timedOut) c.terminate();
        else c.close(1001, 'daemon shutting down');
      }
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await eng.close();
      await recorder?.close();
    })();
    return closing;
  };

  return { host: addr.address, port: addr.port, url: `ws://${hostForUrl}:${addr.port}/`, engine: eng, metrics, close };
}
