import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's redis-server and redis-cli (.ci/run installs redis-server and redis-tools). */
export function haveRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** kill -9. */
  kill(): Promise<void>;
  /** Start again on the same port and directory (its AOF, if any, is replayed). */
  restart(): Promise<void>;
  /** Stop and remove its directory. */
  stop(): Promise<void>;
}

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

async function waitPing(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    if (cli(port, 'PING') === 'PONG') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on ${port} did not answer PING`);
}

/**
 * A redis-server of its own on a free loopback port, in a temp dir, no
 * persistence unless `extra` asks for it (e.g. ['--appendonly', 'yes']).
 */
export async function startRedis(extra: string[] = [], dir = mkdtempSync(join(tmpdir(), 'shimpack-redis-'))): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', ...extra], { stdio: 'ignore' });
    await waitPing(port, child);
  };
  await launch();
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, 'exit');
    child.kill('SIGKILL');
    await gone;
  };
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly masters: RedisServer[];
  readonly replicas: RedisServer[];
  readonly url: string;
  /** Which server now serves the slot of `key` as master. */
  masterOf(key: string): RedisServer;
  /** Wait until every slot is served (cluster_state:ok on every live node). */
  waitOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** 3 masters (and `replicas` replicas each) built with `redis-cli --cluster create`. */
export async function startRedisCluster(replicas = 0, masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  // A short node timeout: a killed master is failed over within a couple of seconds.
  for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '1000', '--cluster-config-file', 'nodes.conf']));
  const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
  const r = spawnSync('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    for (const n of nodes) await n.stop();
    throw new Error(`redis-cli --cluster create failed: ${r.stdout}${r.stderr}`);
  }
  const alive = (n: RedisServer): boolean => cli(n.port, 'PING') === 'PONG';
  const c: RedisCluster = {
    masters: nodes.slice(0, masters),
    replicas: nodes.slice(masters),
    url: `redis-cluster://${addrs.slice(0, masters).join(',')}`,
    masterOf(key: string) {
      const slot = Number(cli(c.masters[0].port, 'CLUSTER', 'KEYSLOT', key));
      for (const n of nodes) {
        if (!alive(n)) continue;
        const role = cli(n.port, 'ROLE').split('\n')[0];
        if (role !== 'master') continue;
        const myId = cli(n.port, 'CLUSTER', 'MYID');
        const me = cli(n.port, 'CLUSTER', 'NODES').split('\n').find((l) => l.startsWith(myId));
        for (const range of me?.split(' ').slice(8) ?? []) {
          const [a, b = a] = range.split('-').map(Number);
          if (slot >= a && slot <= b) return n;
        }
      }
      throw new Error(`no live master serves slot ${slot}`);
    },
    async waitOk(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const live = nodes.filter(alive);
        if (live.every((n) => /cluster_state:ok/.test(cli(n.port, 'CLUSTER', 'INFO')))) return;
        if (Date.now() > until) throw new Error('cluster did not reach cluster_state:ok');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      for (const n of nodes) await n.stop();
    },
  };
  await c.waitOk();
  // Replicas must have finished their first sync, or a WAIT right away finds none.
  for (const until = Date.now() + 20_000; replicas > 0; ) {
    const online = c.masters.map((m) => (cli(m.port, 'INFO', 'replication').match(/state=online/g) ?? []).length);
    if (online.every((n) => n >= replicas)) break;
    if (Date.now() > until) throw new Error(`replicas not online: ${online.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return c;
}
