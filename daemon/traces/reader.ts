import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UnpackrStream } from 'msgpackr';
import { TraceError } from './errors.ts';
import { validateRecord, type HeaderRecord, type TraceRecord } from './format.ts';

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;

/** True when the first bytes are gzip's magic number. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1;
}

async function fileIsGzip(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new TraceError('E_TRACE_IO', `cannot open trace ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return isGzip(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * Stream the records of a trace file (plain or gzip, told apart by the magic
 * bytes), validated, in constant memory: the file is read in chunks with
 * back-pressure and each record is yielded as soon as it is complete.
 * The first record must be the header.
 */
export async function* readTrace(path: string): AsyncGenerator<TraceRecord> {
  const gz = await fileIsGzip(path);
  const file = createReadStream(path, { highWaterMark: 64 * 1024 });
  yield* readTraceStream(file, path, gz);
}

/** Same as readTrace, for an already open byte stream (gzip if `gzip`). */
export async function* readTraceStream(input: Readable, label: string, gzip: boolean): AsyncGenerator<TraceRecord> {
  const bytes = gzip ? input.pipe(createGunzip()) : input;
  const records = new UnpackrStream({ useRecords: false });
  // forward errors of the byte stages into the record stream so the loop sees them
  const forward = (e: Error): void => {
    records.destroy(e);
  };
  input.on('error', forward);
  if (bytes !== input) bytes.on('error', forward);
  bytes.pipe(records);
  let index = 0;
  try {
    for await (const raw of records as AsyncIterable<unknown>) {
      const rec = validateRecord(raw, index);
      if (index === 0 && rec.type !== 'header') throw new TraceError('E_TRACE_FORMAT', `${label}: first record is "${rec.type}", not the header`);
      if (index > 0 && rec.type === 'header') throw new TraceError('E_TRACE_FORMAT', `${label}: second header at record ${index}`);
      index++;
      yield rec;
    }
  } catch (e) {
    if (e instanceof TraceError) throw new TraceError(e.code, e.message.startsWith(label) ? e.message : `${label}: ${e.message}`, e.location);
    const err = e as NodeJS.ErrnoException & { incomplete?: boolean };
    if (err.incomplete || err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
      throw new TraceError('E_TRACE_TRUNCATED', `${label}: trace ends inside a record (record ${index})`);
    }
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR') throw new TraceError('E_TRACE_IO', `cannot read trace ${label}: ${err.code}`);
    if (err.code?.startsWith('Z_')) throw new TraceError('E_TRACE_FORMAT', `${label}: gzip data is corrupt (${err.message})`);
    throw new TraceError('E_TRACE_FORMAT', `${label}: not a msgpack trace at record ${index} (${err.message})`);
  } finally {
    input.destroy();
  }
  if (index === 0) throw new TraceError('E_TRACE_FORMAT', `${label}: empty file, no header`);
}

/** Read only the header of a trace. */
export async function readTraceHeader(path: string): Promise<HeaderRecord> {
  for await (const rec of readTrace(path)) return rec as HeaderRecord;
  throw new TraceError('E_TRACE_FORMAT', `${path}: empty file, no header`);
}

