import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, SETTINGS, resolveConfig, type DaemonConfig } from '../../config.ts';
import { BackendOpenError } from '../../backend/open-error.ts';
import { describeTarget, isRedisUrl, parseRedisUrl } from '../../backend/redis-url.ts';
import { AccessConfigError } from '../../server/access.ts';
import type { RunningDaemon } from '../../server/daemon.ts';
import { tuneHeapGrowth } from '../../server/heap-tuning.ts';
import { TraceError } from '../../traces/errors.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE } from '../io.ts';

/** camelCase config key -> commander's attribute name for its flag. */
function attrOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Write then rename, so a reader polling for the file never sees it half written. */
function writePortFile(file: string, port: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${port}\n`);
    renameSync(tmp, file);
  } catch (e) {
    throw new CliError(`cannot write --port-file ${file}: ${(e as Error).message}`, EXIT_USAGE);
  }
}

/**
 * `shimpack serve`: run the daemon with the embedded in-memory backend until
 * SIGTERM or SIGINT, which stop new work, answer what is in flight and exit 0.
 */
export function registerServeCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run the shim daemon: WebSocket protocol v1, a status page at /, /metrics and /healthz on one port')
    .option('--config <file>', 'JSON config file (keys as in docs/daemon.md); also SHIMPACK_CONFIG')
    .option('--port-file <file>', 'once listening, write the bound port (decimal, newline) to this file; removed on exit (for --port 0)');
  for (const s of SETTINGS) {
    // Machine-dependent defaults are described, not printed as this machine's number.
    const described: Partial<Record<keyof DaemonConfig, string>> = { lanes: 'CPU count', maxMemory: 'half of RAM' };
    const value = String(s.defaultValue());
    const def = described[s.key] ?? (value === '' || s.key === 'token' ? 'none' : value);
    cmd.option(`${s.flag} <${s.kind === 'int' ? 'n' : 'value'}>`, `${s.help} (env ${s.env}; default ${def})`);
  }
  cmd.addHelpText(
    'after',
    '\nPrecedence: flag > environment variable > config file > default.\n' +
      'Once listening, the daemon prints one line to stderr:\n' +
      '  shimpack: listening on ws://HOST:PORT/ (lanes ...); metrics http://HOST:PORT/metrics\n' +
      'With --port 0 (any free port) read PORT from that line or from --port-file FILE.\n' +
      'The status page http://HOST:PORT/ shows, live: what the regions hold and their compression ratio,\n' +
      'totals since start (bytes, bursts), traffic, latency, and the lanes (queue depth, busy).\n' +
      'Example: shimpack serve --port 7420 --lanes 2\n' +
      '\nExit status: 0 stopped by SIGTERM or SIGINT, 1 cannot start (port taken, address not here,\n' +
      'missing or unreadable --config file or --token-file, unwritable --record, Redis unreachable), 2 usage\n' +
      'error (a bad flag, variable or config value), 70 internal error.',
  );
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const flags: Partial<Record<keyof DaemonConfig, unknown>> = {};
    for (const s of SETTINGS) if (opts[attrOf(s.flag)] !== undefined) flags[s.key] = opts[attrOf(s.flag)];
    let config: DaemonConfig;
    try {
      config = resolveConfig(flags, process.env, opts.config);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message, e.unreadable ? EXIT_BAD_INPUT : EXIT_USAGE);
      throw e;
    }
    const heapGrowth = tuneHeapGrowth();
    // Loaded here, not at the top: every other command (and --help, --version) starts without the server's modules.
    const { ListenError, startDaemon } = await import('../../server/daemon.ts');
    let daemon: RunningDaemon;
    try {
      daemon = await startDaemon(config);
    } catch (e) {
      if (e instanceof AccessConfigError) throw new CliError(e.message, e.usage ? EXIT_USAGE : EXIT_BAD_INPUT);
      if (e instanceof ListenError) throw new CliError(e.message, EXIT_BAD_INPUT);
      if (e instanceof BackendOpenError) throw new CliError(e.message, EXIT_BAD_INPUT);
      if (e instanceof TraceError) throw new CliError(`--record: ${e.message}`, EXIT_BAD_INPUT);
      throw e;
    }
    const portFile = opts.portFile;
    if (portFile) {
      try {
        writePortFile(portFile, daemon.port);
      } catch (e) {
        await daemon.close();
        throw e;
      }
    }
    // Never the Redis password.
    const redis = isRedisUrl(config.backend) ? parseRedisUrl(config.backend) : undefined;
    const backend = redis ? `${describeTarget(redis)} prefix ${redis.prefix}${redis.wait ? ` wait ${redis.wait}` : ''}` : config.backend;
    const channel = config.channel === '0/1' ? '' : `, channel ${config.channel} granule ${config.channelGranule} B`;
    process.stderr.write(
      `shimpack: listening on ${daemon.url} (lanes ${config.lanes}, block ${config.blockSize} B, burst ${config.burstBytes} B, backend ${backend}${channel}${config.backend === 'memory' ? '' : `, sync ${config.sync}`}, regions restored ${daemon.engine.regions.size}, heap growing ${heapGrowth} %); ` +
        `metrics http://${daemon.url.slice(5)}metrics${config.record ? `; recording requests to ${config.record}` : ''}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        process.stderr.write(`shimpack: ${signal}: answering in-flight requests, then exiting\n`);
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        daemon.close().then(resolve, (e: unknown) => {
          process.stderr.write(`shimpack: shutdown: ${(e as Error).message}\n`);
          resolve();
        });
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    if (portFile) rmSync(portFile, { force: true });
    process.stderr.write('shimpack: stopped\n');
  });
}
