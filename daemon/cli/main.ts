#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { CodecError } from '../codecs/errors.ts';
import { ShimpackError } from '../../clients/ts/errors.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_STATUS_HELP, EXIT_USAGE, reportInternalError } from './io.ts';
// --- command modules (one import per command family) ---
import { registerCompressCommands } from './commands/compress.ts';
import { registerBenchCommands } from './commands/bench.ts';
import { registerEbpcCommands } from './commands/ebpc.ts';
import { registerTraceCommands } from './commands/trace.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerReplayCommand } from './commands/replay.ts';
import { registerBenchDaemonCommand } from './commands/bench-daemon.ts';
import { registerRegionCommands } from './commands/regions.ts';
import { registerBenchTrafficCommand } from './commands/bench-traffic.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerDramCommands } from './commands/dram.ts';
// --- end of command modules ---

/**
 * The `shimpack` command line. Each command family lives in its own module
 * under ./commands and registers itself on the program.
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('shimpack')
    .description(
      'Emulated inline memory-controller compression shim for deep-learning accelerators.\n' +
        'Codecs: APack, EBPC, SCC (the shimpack context codec), ZVC, raw.',
    )
    .addHelpText(
      'after',
      '\nExit status:\n' +
        '  0   ok\n' +
        '  1   bad or corrupt input, or environment (missing file, port taken)\n' +
        '  2   usage error\n' +
        '  70  internal error (a bug; SHIMPACK_DEBUG=1 prints the stack trace)',
    )
    .version('0.1.0')
    // Parser errors as one line like every other error (inherited by the commands added below).
    .configureOutput({
      outputError: (str, write) => write(`shimpack: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`),
    })
    .exitOverride();
  const bench = program.command('bench').description('measure the codecs and the daemon on real tensors');
  bench.exitOverride();
  // --- command registrations ---
  registerCompressCommands(program);
  registerBenchCommands(bench);
  registerEbpcCommands(program);
  registerTraceCommands(program);
  registerServeCommand(program);
  registerReplayCommand(program);
  registerBenchDaemonCommand(bench);
  registerRegionCommands(program);
  registerBenchTrafficCommand(bench);
  registerReportCommand(program);
  registerDramCommands(program);
  // --- end of command registrations ---
  polishHelp(program);
  return program;
}

/**
 * For every command below the program: required options say so in --help,
 * and the help ends with the exit statuses unless the command states its own.
 */
/** Commands whose own help text explains their exit statuses in more detail. */
const STATES_OWN_EXIT_STATUS = new Set(['serve', 'replay']);

function polishHelp(program: Command): void {
  const visit = (cmd: Command): void => {
    for (const opt of cmd.options) {
      if (opt.mandatory && !opt.description.includes('(required)')) opt.description = `${opt.description} (required)`;
    }
    if (cmd !== program && !STATES_OWN_EXIT_STATUS.has(cmd.name())) cmd.addHelpText('after', EXIT_STATUS_HELP);
    cmd.commands.forEach(visit);
  };
  visit(program);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander; they already printed
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // No command, or a command family without its subcommand: the usage went to stderr.
      if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : EXIT_USAGE;
      return EXIT_USAGE;
    }
    if (e instanceof CliError) {
      process.stderr.write(`shimpack: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof ShimpackError) {
      // The daemon refused a request, or the connection went: its code and message say which.
      process.stderr.write(`shimpack: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (e instanceof CodecError) {
      process.stderr.write(`shimpack: ${e.code}: ${e.message}\n`);
      return e.code === 'E_BAD_ARGUMENT' || e.code === 'E_UNSUPPORTED_DTYPE' ? EXIT_USAGE : EXIT_BAD_INPUT;
    }
    const sys = e as NodeJS.ErrnoException;
    if (sys instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
      // The environment refused a system call (missing file, no permission, port taken): the user's to fix.
      const why = /^[A-Z]+: ([^,]+)/.exec(sys.message)?.[1];
      process.stderr.write(`shimpack: cannot ${sys.syscall}${sys.path ? ` ${sys.path}` : ''}: ${sys.code}${why ? ` (${why})` : ''}\n`);
      return EXIT_BAD_INPUT;
    }
    return reportInternalError(e);
  }
}

/**
 * The process entry (bin/shimpack.js and `node dist/daemon/cli/main.js`):
 * anything not handled above, even thrown later from an event callback, is
 * reported as one "internal error" line and exit 70.
 */
export async function runCli(argv: string[]): Promise<void> {
  const crash = (e: unknown): void => {
    // stdout closed by the reader (`shimpack ... | head`): not an error of ours
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit();
    process.exitCode = reportInternalError(e);
    process.exit();
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.exitCode = reportInternalError(e);
  }
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  void runCli(process.argv);
}
