import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Exit status convention of every shimpack command: 0 ok, 1 bad or corrupt
 * input or environment (one line saying what is wrong), 2 usage error,
 * 70 internal error (EX_SOFTWARE: a bug, not the user's doing).
 */
export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

/** One line for the user; the stack only when SHIMPACK_DEBUG is set (it is for whoever fixes the bug). */
export function reportInternalError(e: unknown): number {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`shimpack: internal error: ${message.split('\n')[0]}${process.env.SHIMPACK_DEBUG ? '' : ' (set SHIMPACK_DEBUG=1 for details)'}\n`);
  if (process.env.SHIMPACK_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return EXIT_INTERNAL;
}

/** Exit statuses, for the end of each command family's --help. */
export const EXIT_STATUS_HELP = '\nExit status: 0 ok, 1 bad input or environment, 2 usage error, 70 internal error.';

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_BAD_INPUT,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Read a whole file, or stdin for `-`. */
export function readInput(path: string): Uint8Array {
  try {
    const buf = readFileSync(path === '-' ? 0 : path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new CliError(`cannot read ${path === '-' ? 'standard input' : path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Write a whole file, or stdout for `-`. Standard output goes through
 * process.stdout, which waits for a pipe or terminal to take each chunk: once
 * Node has opened it, a pipe's descriptor is non-blocking, and a synchronous
 * write of more than the pipe holds (64 KiB) fails with EAGAIN.
 */
export async function writeOutput(path: string, data: Uint8Array): Promise<void> {
  if (path !== '-') {
    try {
      writeFileSync(path, data);
    } catch (e) {
      throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return;
  }
  await new Promise<void>((resolve, reject) => {
    process.stdout.write(data, (e) => {
      if (!e) resolve();
      // The reader went away (`| head`): not an error of ours (runCli says the same of EPIPE).
      else if ((e as NodeJS.ErrnoException).code === 'EPIPE') resolve();
      else reject(new CliError(`cannot write standard output: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
  });
}

/** Parse an integer option value strictly (commander's argParser). */
export function intOption(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new CliError(`${name} must be a whole number, got "${v}"`, EXIT_USAGE);
    const n = Number(v);
    if (n < min || n > max) throw new CliError(`${name} must be between ${min} and ${max}, got ${n}`, EXIT_USAGE);
    return n;
  };
}

/** Restrict an option to a fixed set of values. */
export function choiceOption<T extends string>(name: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) {
      throw new CliError(`${name} must be one of ${choices.join(', ')}, got "${v}"`, EXIT_USAGE);
    }
    return v as T;
  };
}
