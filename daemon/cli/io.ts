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

/** Write a whole file, or stdout for `-`. */
export function writeOutput(path: string, data: Uint8Array): void {
  try {
    writeFileSync(path === '-' ? 1 : path, data);
  } catch (e) {
    throw new CliError(`cannot write ${path === '-' ? 'standard output' : path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
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
