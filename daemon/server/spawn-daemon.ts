import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT as ROOT, compiledModule } from '../package-root.ts';

/** Daemons started here and not yet exited: killed when this process exits, so none is orphaned. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() is.
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

/** A `shimpack serve` in its own process, as tests, benches, fuzzers and soaks run it. */
export interface SpawnedDaemon {
  /** ws://HOST:PORT/ from the daemon's "listening on" line. */
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** Send `signal` (default SIGTERM) and resolve with the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnDaemonOptions {
  /** Extra environment on top of this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Give up (and kill the child) when it has not said where it listens by then. Default 30 s. */
  readonly timeoutMs?: number;
  /** Options for node itself, before the script (e.g. V8 flags). */
  readonly nodeArgs?: readonly string[];
  /** The daemon's stdout: dropped by default. */
  readonly stdout?: 'ignore' | 'inherit';
}

/**
 * Start `node dist/daemon/cli/main.js serve ARGS` (what `npm start`
 * runs, compiled by `npm run build`; pass `--port 0` for any free port) and wait for its one "listening on"
 * line on stderr. Rejects with the daemon's own stderr if it exits first
 * (or, after killing it, if it does not listen in time). A daemon still
 * running when this process exits (process.exit, an uncaught error) is
 * killed then.
 */
export function spawnDaemon(args: readonly string[], options: SpawnDaemonOptions = {}): Promise<SpawnedDaemon> {
  return spawnListening('daemon/cli/main.js', ['serve', ...args], 'shimpack serve', options);
}

/**
 * Start `node dist/MODULE ARGS` and wait for "listening on ws://..." on its
 * stderr, as spawnDaemon does for `serve` (used also for the echo server of
 * `bench daemon`'s latency floor). `what` names it in errors.
 */
export async function spawnListening(module: string, args: readonly string[], what: string, options: SpawnDaemonOptions = {}): Promise<SpawnedDaemon> {
  const entry = fileURLToPath(compiledModule(module));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'],
  });
  killOnExit(child);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  // 'close', not 'exit': by then all of stderr has arrived
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not report its port within ${options.timeoutMs ?? 30_000} ms: ${stderr.trim()}`));
    }, options.timeoutMs ?? 30_000);
    const onData = (): void => {
      const m = /listening on (ws:\/\/\S+\/)/.exec(stderr);
      if (!m) return;
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      resolve(m[1]);
    };
    child.stderr?.on('data', onData);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before listening: ${stderr.trim()}`));
    });
  });
  const port = Number(/:(\d+)\/$/.exec(url)?.[1]);
  return {
    url,
    port,
    child,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}
