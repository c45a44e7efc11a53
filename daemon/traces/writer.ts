import { createWriteStream, openSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Packr } from 'msgpackr';
import { TraceError } from './errors.ts';
import {
  TRACE_FORMAT,
  TRACE_VERSION,
  type EndRecord,
  type HeaderRecord,
  type OpRecord,
  type RegionRecord,
} from './format.ts';

export interface TraceWriterOptions {
  /** Wrap the stream in gzip (default: true when the path ends in `.gz`). */
  readonly gzip?: boolean;
  /** What makes the trace (`trace gen`, `serve --record`, ...). */
  readonly source: string;
  /** Extra header fields (provenance). */
  readonly meta?: Record<string, unknown>;
  /** Append the optional `end` record with totals on close (default true). */
  readonly endRecord?: boolean;
  /**
   * Write a regular file under a temporary name beside it and rename it into
   * place on a successful close, so a failed run leaves no half trace (and
   * an older file of that name intact). Default false: `serve --record`
   * wants what it recorded so far on disk even if the daemon is killed.
   */
  readonly atomic?: boolean;
}

type RegionInput = Omit<RegionRecord, 'type'>;
type OpInput = OpRecord extends infer O ? (O extends OpRecord ? Omit<O, 'type'> : never) : never;

/** What is at `path`: a pipe (FIFO or socket), a character device, or anything else (a file, or nothing yet). */
function pathKind(path: string): 'pipe' | 'device' | 'other' {
  try {
    const st = statSync(path);
    return st.isFIFO() || st.isSocket() ? 'pipe' : st.isCharacterDevice() ? 'device' : 'other';
  } catch {
    return 'other'; // not there yet: openSync creates it (or says why it cannot)
  }
}

function openForWriting(path: string): number | undefined {
  // Opening a FIFO waits for its reader: leave that to the stream's asynchronous open.
  if (pathKind(path) === 'pipe') return undefined;
  try {
    return openSync(path, 'w');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1];
    throw new TraceError('E_TRACE_IO', `cannot write trace ${path}: ${err.code ?? err.message}${why ? ` (${why})` : ''}`);
  }
}

/** Bytes packed before they are handed to the file stream in one write. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Writes a trace record by record in constant memory. `region` and `op` are
 * synchronous so a server can call them on its hot path; they batch records
 * into 64 KiB chunks. A producer faster than the disk awaits `drained()` when
 * `needsDrain` is set (the generators and importers do); `close()` flushes,
 * writes the `end` record and resolves when the file is complete.
 */
export class TraceWriter {
  private readonly packr = new Packr({ useRecords: false });
  private readonly out: Writable;
  private readonly done: Promise<void>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failure: Error | undefined;
  private closed = false;
  private backpressure = false;
  private ops = 0;
  private writeBytes = 0;
  private readBytes = 0;
  private lastT = 0;
  private readonly endRecord: boolean;
  /** With `atomic`: the temporary file, and the name it gets on close. */
  private readonly temp: { readonly path: string; readonly final: string } | undefined;
  private readonly sink: Writable;

  /** Write to `target`: a path (`.gz` implies gzip) or an open stream the writer ends on close. */
  constructor(target: string | Writable, options: TraceWriterOptions) {
    const gzip = options.gzip ?? (typeof target === 'string' && target.endsWith('.gz'));
    this.temp = typeof target === 'string' && options.atomic && pathKind(target) === 'other' ? { path: `${target}.partial-${process.pid}`, final: target } : undefined;
    // Opened here, synchronously, so a path that cannot be written fails the
    // constructor (serve --record refuses to start) rather than a later event.
    const path = this.temp?.path ?? target;
    const sink = typeof path === 'string' ? createWriteStream(path, { fd: openForWriting(path) }) : path;
    this.sink = sink;
    this.endRecord = options.endRecord ?? true;
    if (gzip) {
      const z = createGzip();
      z.pipe(sink);
      this.out = z;
    } else {
      this.out = sink;
    }
    this.done = new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => {
        this.failure ??= new TraceError('E_TRACE_IO', `cannot write trace${typeof target === 'string' ? ` ${target}` : ''}: ${e.message}`);
        reject(this.failure);
      };
      sink.on('error', fail);
      if (this.out !== sink) this.out.on('error', fail);
      sink.on(typeof target === 'string' ? 'close' : 'finish', () => (this.failure ? reject(this.failure) : resolve()));
    });
    this.done.catch(() => undefined); // surfaced by close()
    this.out.on('drain', () => {
      this.backpressure = false;
    });
    const header: HeaderRecord = {
      type: 'header',
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      created: new Date().toISOString(),
      source: options.source,
      ...(options.meta ?? {}),
    };
    this.push(header);
  }

  /** Declare a region; must come before any op that touches it. */
  region(r: RegionInput): void {
    // Unset optional fields are left out: msgpackr would write undefined as an extension value, which the format forbids.
    const rec: Record<string, unknown> = { type: 'region' };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) rec[k] = v;
    this.push(rec as unknown as RegionRecord);
  }

  /** Append one timed operation. */
  op(o: OpInput): void {
    this.ops++;
    if (o.op === 'write') this.writeBytes += o.len;
    else if (o.op === 'read') this.readBytes += o.len;
    if (o.t > this.lastT) this.lastT = o.t;
    this.push({ type: 'op', ...o });
  }

  /** True when the file stream is behind; await `drained()` before producing more. */
  get needsDrain(): boolean {
    return this.backpressure;
  }

  drained(): Promise<void> {
    if (!this.backpressure) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.out.off('error', onError);
        resolve();
      };
      const onError = (e: Error): void => {
        this.out.off('drain', onDrain);
        reject(e);
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
    });
  }

  /** Totals so far (ops, bytes written and read by the trace's ops, last t). */
  get totals(): Omit<EndRecord, 'type'> {
    return { ops: this.ops, writeBytes: this.writeBytes, readBytes: this.readBytes, lastT: this.lastT };
  }

  async close(): Promise<void> {
    if (this.closed) return this.done;
    if (this.endRecord) this.push({ type: 'end', ...this.totals });
    this.flush();
    this.closed = true;
    this.out.end();
    if (!this.temp) return this.done;
    try {
      await this.done;
      renameSync(this.temp.path, this.temp.final);
    } catch (e) {
      rmSync(this.temp.path, { force: true });
      throw e instanceof TraceError ? e : new TraceError('E_TRACE_IO', `cannot write trace ${this.temp.final}: ${(e as Error).message}`);
    }
  }

  /**
   * Give up: stop writing and, with `atomic`, remove the temporary file (an
   * older file of the target name stays as it was). For a failure between
   * the constructor and close().
   */
  async abort(): Promise<void> {
    this.closed = true;
    this.sink.destroy();
    if (this.out !== this.sink) this.out.destroy();
    await this.done.catch(() => undefined);
    if (this.temp) rmSync(this.temp.path, { force: true });
  }

  private push(rec: object): void {
    if (this.closed) throw new TraceError('E_TRACE_IO', 'trace writer is closed');
    if (this.failure) throw this.failure;
    // pack() reuses its internal buffer, so copy the bytes out
    const bytes = Buffer.from(this.packr.pack(rec));
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= CHUNK_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(chunk)) this.backpressure = true;
  }
}
