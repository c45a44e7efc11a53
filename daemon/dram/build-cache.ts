import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { DramError } from './errors.ts';

export interface Dramsim3Build {
  /** The built copy of the source (its configs/ are there too). */
  readonly dir: string;
  readonly binary: string;
  /** First 16 hex digits of the source's SHA-256: the cache key. */
  readonly key: string;
  /** Built by this call (false: found in the cache). */
  readonly built: boolean;
}

export interface BuildOptions {
  /** Default: $SHIMPACK_CACHE_DIR, else $XDG_CACHE_HOME/shimpack, else ~/.cache/shimpack. */
  readonly cacheDir?: string;
  /** Build progress, one line at a time (cmake's "[ 42%] Building ..." lines). */
  readonly onProgress?: (line: string) => void;
  /** Parallel compile jobs (default 2). */
  readonly jobs?: number;
}

export function defaultCacheDir(): string {
  return process.env.SHIMPACK_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shimpack');
}

/** Files that make the build: everything but build output a user's copy may hold. */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'build' || e.name === '.git' || e.name.endsWith('.so')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** SHA-256 over the relative paths and contents of the source: a changed source builds anew. */
export function sourceKey(src: string): string {
  const h = createHash('sha256');
  for (const f of sourceFiles(src)) {
    h.update(relative(src, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Run a program, passing its output lines on; resolves with its exit code and last lines. */
function run(cmd: string, args: readonly string[], cwd: string, onLine?: (l: string) => void): Promise<{ code: number | null; tail: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    const take = (b: Buffer): void => {
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 30) tail.shift();
        onLine?.(l);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('close', (code) => {
      if (partial) tail.push(partial);
      resolve({ code, tail });
    });
  });
}

/** Is `cmd` on the PATH and runnable? */
async function have(cmd: string): Promise<boolean> {
  try {
    const r = await run(cmd, ['--version'], process.cwd());
    return r.code === 0;
  } catch {
    return false;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * DRAMsim3 built from `src` (read-only is fine): copied into the cache
 * folder under the source's hash and built there with cmake, once. The
 * binary finds libdramsim3.so by the absolute path cmake gave it, so the
 * build happens in its final folder; a lock file keeps two processes from
 * building the same one, and `.built` marks a finished build.
 */
export async function ensureDramsim3(src: string, o: BuildOptions = {}): Promise<Dramsim3Build> {
  if (!existsSync(join(src, 'CMakeLists.txt')) || !existsSync(join(src, 'src', 'main.cc')) || !existsSync(join(src, 'configs'))) {
    throw new DramError('E_DRAM_SOURCE', `${src} is not a DRAMsim3 source folder (no CMakeLists.txt, src/main.cc and configs/)`);
  }
  const key = sourceKey(src);
  const cache = o.cacheDir ?? defaultCacheDir();
  const dir = join(cache, `dramsim3-${key}`);
  const binary = join(dir, 'build', 'dramsim3main');
  const marker = join(dir, '.built');
  if (existsSync(marker) && existsSync(binary)) return { dir, binary, key, built: false };
  mkdirSync(cache, { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DramError('E_DRAM_BUILD', `cannot write in the cache folder ${cache}: ${(e as NodeJS.ErrnoException).code}`);
      const holder = Number(readFileSync(lock, 'utf8'));
      if (!(holder > 0) || !alive(holder)) {
        rmSync(lock, { force: true }); // left by a build that died
        continue;
      }
      o.onProgress?.(`waiting for process ${holder}, which is building DRAMsim3 in ${dir}`);
      while (existsSync(lock)) await sleep(1000);
      if (existsSync(marker)) return { dir, binary, key, built: false };
    }
  }
  try {
    if (!(await have('cmake'))) throw new DramError('E_DRAM_TOOLS', 'cmake is not installed (Debian: apt-get install cmake g++ make); it builds DRAMsim3');
    if (!(await have('c++')) && !(await have('g++'))) throw new DramError('E_DRAM_TOOLS', 'no C++ compiler (c++ or g++) is installed (Debian: apt-get install g++)');
    rmSync(dir, { recursive: true, force: true });
    cpSync(src, dir, { recursive: true, filter: (p) => !/(^|\/)(build|\.git)$/.test(relative(src, p)) });
    // The source may be read-only (../shared): the build writes into its copy.
    const writable = (p: string): void => {
      chmodSync(p, statSync(p).mode | 0o200);
      if (statSync(p).isDirectory()) for (const e of readdirSync(p)) writable(join(p, e));
    };
    writable(dir);
    o.onProgress?.(`building DRAMsim3 (${key}) in ${dir}`);
    const step = async (args: string[], what: string): Promise<void> => {
      const r = await run('cmake', args, dir, o.onProgress);
      if (r.code !== 0) throw new DramError('E_DRAM_BUILD', `${what} failed (exit ${r.code}):\n${r.tail.join('\n')}`);
    };
    await step(['-S', '.', '-B', 'build', '-DCMAKE_BUILD_TYPE=Release'], 'cmake configure');
    await step(['--build', 'build', '-j', String(o.jobs ?? 2), '--target', 'dramsim3main'], 'cmake build');
    if (!existsSync(binary)) throw new DramError('E_DRAM_BUILD', `the build finished without ${binary}`);
    writeFileSync(marker, `${new Date().toISOString()}\n`);
  } finally {
    rmSync(lock, { force: true });
  }
  return { dir, binary, key, built: true };
}
