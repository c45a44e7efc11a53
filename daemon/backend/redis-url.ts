/**
 * `--backend redis://[USER:PASSWORD@]HOST:PORT[/DB][?prefix=P&wait=N]` (one
 * server) or `redis-cluster://[USER:PASSWORD@]HOST:PORT,HOST:PORT,...[?prefix=P&wait=N]`
 * (Redis Cluster: any reachable nodes; the rest are discovered).
 * prefix: first part of every key (default "shimpack"), so several
 * independent deployments can share one Redis. wait: replicas a write must
 * reach before it is acknowledged under --sync always (Redis WAIT).
 */
export interface RedisTarget {
  readonly cluster: boolean;
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly prefix: string;
  readonly wait: number;
}

export class RedisUrlError extends Error {}

export function isRedisUrl(s: string): boolean {
  return s.startsWith('redis://') || s.startsWith('redis-cluster://');
}

function parsePort(s: string, url: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new RedisUrlError(`${url}: port must be 1 ... 65535, got "${s}"`);
  return Number(s);
}

export function parseRedisUrl(url: string): RedisTarget {
  const cluster = url.startsWith('redis-cluster://');
  let rest = url.slice(cluster ? 'redis-cluster://'.length : 'redis://'.length);
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const cred = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = cred.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? cred.slice(0, colon) : cred) || undefined;
    password = colon >= 0 ? decodeURIComponent(cred.slice(colon + 1)) : undefined;
  }
  let db = 0;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const d = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (cluster && d !== '') throw new RedisUrlError(`${url}: Redis Cluster has only database 0, give no /DB`);
    if (d !== '') {
      if (!/^\d{1,3}$/.test(d)) throw new RedisUrlError(`${url}: database must be a number, got "${d}"`);
      db = Number(d);
    }
  }
  const hosts = rest.split(',');
  if (!cluster && hosts.length !== 1) throw new RedisUrlError(`${url}: redis:// takes one HOST:PORT (use redis-cluster:// for several)`);
  const nodes = hosts.map((h) => {
    const m = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(h);
    if (!m) throw new RedisUrlError(`${url}: expected HOST:PORT, got "${h}"`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: parsePort(m[2], url) };
  });
  let prefix = 'shimpack';
  let wait = 0;
  for (const kv of query ? query.split('&') : []) {
    const [k, v = ''] = kv.split('=');
    if (k === 'prefix') {
      prefix = decodeURIComponent(v);
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new RedisUrlError(`${url}: prefix must be 1-64 of A-Z a-z 0-9 _ . -, got "${prefix}"`);
    } else if (k === 'wait') {
      if (!/^\d{1,2}$/.test(v)) throw new RedisUrlError(`${url}: wait must be a number of replicas 0 ... 99, got "${v}"`);
      wait = Number(v);
    } else throw new RedisUrlError(`${url}: unknown option "${k}" (known: prefix, wait)`);
  }
  return { cluster, nodes, db, username, password, prefix, wait };
}

/** host:port list for messages (never the password). */
export function describeTarget(t: RedisTarget): string {
  return `${t.cluster ? 'redis-cluster' : 'redis'}://${t.nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')}`;
}
