import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { fromRoot } from '../package-root.ts';
import { takeSnapshot } from './snapshot.ts';

/**
 * The live status page for users without Grafana: `GET /` serves a page
 * whose own small scripts (no CDN, no third-party code) poll
 * `/status.json` every second and show what the regions hold (ratio held
 * per region), totals since start, traffic, latency and the lanes.
 */
const ASSETS: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/status/status.js', { file: 'status.js', type: 'text/javascript; charset=utf-8' }],
  ['/status/line-chart.js', { file: 'line-chart.js', type: 'text/javascript; charset=utf-8' }],
  ['/status/status.css', { file: 'status.css', type: 'text/css; charset=utf-8' }],
]);

/** Read once at startup: the page is a handful of small files, served from the checkout (tsc does not copy them into dist/). */
const BODIES = new Map([...ASSETS].map(([path, a]) => [path, readFileSync(fromRoot(`daemon/status/page/${a.file}`))]));

export const STATUS_JSON_PATH = '/status.json';

/**
 * Answer `path` if it belongs to the status page; false means not ours.
 * The caller has already restricted the method to GET/HEAD.
 */
export function handleStatus(registry: Registry, path: string, res: ServerResponse): boolean {
  if (path === STATUS_JSON_PATH) {
    takeSnapshot(registry).then(
      (s) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(s)),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`status failed: ${(e as Error).message}\n`),
    );
    return true;
  }
  const asset = ASSETS.get(path);
  const body = BODIES.get(path);
  if (!asset || !body) return false;
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', 'content-length': body.length }).end(body);
  return true;
}
