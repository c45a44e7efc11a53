import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { handleStatus } from '../status/status-routes.ts';

export interface HttpState {
  readonly registry: Registry;
  readonly shuttingDown: boolean;
  health(): Record<string, unknown>;
}

/** Plain HTTP on the WebSocket port: Prometheus scrape, a health probe and the live status page. */
export function handleHttp(state: HttpState, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/metrics') {
    state.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': state.registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`),
    );
    return;
  }
  if (path === '/healthz') {
    const body = JSON.stringify({ status: state.shuttingDown ? 'shutting-down' : 'ok', ...state.health() });
    res.writeHead(state.shuttingDown ? 503 : 200, { 'content-type': 'application/json' }).end(body + '\n');
    return;
  }
  if (handleStatus(state.registry, path, res)) return;
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /metrics, /healthz, or a WebSocket upgrade\n');
}
