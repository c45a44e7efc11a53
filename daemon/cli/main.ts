#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { CodecError } from '../codecs/errors.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE } from './io.ts';
// --- command modules (one import per command family) ---
import { registerCompressCommands } from './commands/compress.ts';
import { registerBenchCommands } from './commands/bench.ts';
import { registerEbpcCommands } from './commands/ebpc.ts';
import { registerTraceCommands } from './commands/trace.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerReplayCommand } from './commands/replay.ts';
import { registerBenchDaemonCommand } from './commands/bench-daemon.ts';
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
        'Codecs: APack, EBPC, ZVC, raw. Exit status: 0 ok, 1 bad or corrupt input, 2 usage error.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
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
  // --- end of command registrations ---
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander; they already printed
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    if (e instanceof CliError) {
      process.stderr.write(`shimpack: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof CodecError) {
      process.stderr.write(`shimpack: ${e.code}: ${e.message}\n`);
      return e.code === 'E_BAD_ARGUMENT' || e.code === 'E_UNSUPPORTED_DTYPE' ? EXIT_USAGE : EXIT_BAD_INPUT;
    }
    throw e;
  }
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`shimpack: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
