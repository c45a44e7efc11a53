/**
 * The one error type of the trace tooling. `code` is stable (docs/traces.md);
 * `message` is for humans. Importer syntax errors also carry the file, the
 * 1-based line number and what was expected there, so tests and callers can
 * check them without parsing the message.
 */
export type TraceErrorCode =
  | 'E_TRACE_FORMAT' // not a shimpack trace: no header, wrong format name, record not a map
  | 'E_TRACE_VERSION' // a trace version this build does not read
  | 'E_TRACE_RECORD' // a record lacks a field or has one of the wrong type
  | 'E_TRACE_TRUNCATED' // the stream ended inside a record or inside the gzip member
  | 'E_TRACE_IO' // a file could not be opened, read or written
  | 'E_IMPORT_SYNTAX' // a line of a simulator trace is malformed
  | 'E_IMPORT_INPUT' // an input cannot be imported as asked (unknown operand, empty file, ...)
  | 'E_SYNTHETIC_SPEC' // a --synthetic spec does not parse
  | 'E_TRACE_DATA' // a data set cannot back the trace (unknown model, no tensors of a kind)
  | 'E_REPLAY' // replay could not run (connection, protocol error)
  | 'E_DRAM_EXPORT'; // the DRAM trace export cannot run as asked (needs the embedded daemon, one copy, no loop)

export interface SyntaxLocation {
  readonly file: string;
  readonly line: number;
  readonly expected: string;
}

export class TraceError extends Error {
  readonly code: TraceErrorCode;
  readonly location?: SyntaxLocation;
  constructor(code: TraceErrorCode, message: string, location?: SyntaxLocation) {
    super(message);
    this.name = 'TraceError';
    this.code = code;
    if (location) this.location = location;
  }
}

/** A trace file that could not be read (missing, a directory, no permission): E_TRACE_IO with its path and the system's code. */
export function traceReadError(path: string, e: unknown): TraceError {
  return new TraceError('E_TRACE_IO', `cannot read trace ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
}

/** A malformed line: "FILE:LINE: expected EXPECTED, got "TEXT"". */
export function syntaxError(file: string, line: number, expected: string, text: string): TraceError {
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return new TraceError('E_IMPORT_SYNTAX', `${file}:${line}: expected ${expected}, got "${shown}"`, { file, line, expected });
}
