import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { TraceError } from './errors.ts';
import { isGzip } from './reader.ts';

export interface NumberedLine {
  /** 1-based line number in the file. */
  readonly no: number;
  readonly text: string;
}

/**
 * Stream the lines of a text input (plain or gzip, by magic bytes; `\n` or
 * `\r\n`), numbered from 1, in constant memory. `onBytes` reports the
 * compressed bytes read so far, for progress bars.
 */
export async function* readLines(path: string, onBytes?: (bytesRead: number) => void): AsyncGenerator<NumberedLine> {
  let gz = false;
  try {
    const fh = await open(path, 'r');
    try {
      const head = new Uint8Array(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      gz = isGzip(head.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new TraceError('E_TRACE_IO', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const file = createReadStream(path, { highWaterMark: 64 * 1024 });
  if (onBytes) file.on('data', () => onBytes(file.bytesRead));
  const text = gz ? file.pipe(createGunzip()) : file;
  const failure: { e?: Error } = {};
  text.on('error', (e: Error) => {
    failure.e = e;
  });
  const rl = createInterface({ input: text, crlfDelay: Infinity });
  let no = 0;
  try {
    for await (const line of rl) {
      no++;
      yield { no, text: line };
    }
  } finally {
    rl.close();
    file.destroy();
  }
  if (failure.e) throw new TraceError('E_TRACE_IO', `cannot read ${path}: ${failure.e.message}`);
}

/** Empty lines and lines starting with a comment character carry no request. */
export function isBlankOrComment(text: string, commentChars = '#'): boolean {
  const s = text.trim();
  return s.length === 0 || commentChars.includes(s[0]);
}
