import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { Unpackr } from 'msgpackr';
import { TraceError, traceReadError } from './errors.ts';
import type { HeaderRecord, TraceRecord } from './format.ts';
import { decodeChunk, decodeRecord, type TraceColumns } from './trace-columns.ts';
import { streamChunks } from './stream-chunks.ts';

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
  } catch (e) {
    // A directory opens, then fails to read (EISDIR).
    throw traceReadError(path, e);
  } finally {
    await fh.close();
  }
}

/**
 * Stream the records of a trace file (plain or gzip, told apart by the magic
 * bytes), validated, in constant memory: the file is read in chunks with
 * back-pressure and each record is yielded as soon as its chunk is decoded.
 * The first record must be the header.
 */
export async function* readTrace(path: string): AsyncGenerator<TraceRecord> {
  for await (const cols of readTraceColumns(path)) for (let i = 0; i < cols.n; i++) yield cols.record(i);
}

/**
 * The records of a trace file a slice (up to SLICE_RECORDS records of a
 * chunk of CHUNK_BYTES trace bytes) at a time, writes and reads column-wise
 * (TraceColumns), for readers that go
 * through millions of ops: a record at a time through a stream costs several
 * microseconds (an object-mode push and an async step each), and an object
 * per op about as much again. The same TraceColumns object comes back for
 * every slice: its contents are valid until the next one is asked for (write
 * data views and the objects of other records stay valid).
 */
export async function* readTraceColumns(path: string): AsyncGenerator<TraceColumns> {
  const gz = await fileIsGzip(path);
  const file = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  yield* readTraceStreamColumns(file, path, gz);
}

/** Same as readTrace, for an already open byte stream (gzip if `gzip`). */
export async function* readTraceStream(input: Readable, label: string, gzip: boolean): AsyncGenerator<TraceRecord> {
  for await (const cols of readTraceStreamColumns(input, label, gzip)) for (let i = 0; i < cols.n; i++) yield cols.record(i);
}

/** Trace bytes read (and inflated) at a time. */
const CHUNK_BYTES = 1024 * 1024;
/** Records decoded per slice handed out (a few ms of decoding). */
const SLICE_RECORDS = 2048;
/** Chunks inflated ahead of the consumer. */
const READ_AHEAD = 2;
/** Bytes of a chunk joined to the record the last one cut off, to decode that record. */
const JOIN_BYTES = 64 * 1024;
/** A record longer than this is refused rather than buffered without end (msgpackr's own stream limit). */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Same as readTraceColumns, for an already open byte stream (gzip if `gzip`). */
export async function* readTraceStreamColumns(input: Readable, label: string, gzip: boolean): AsyncGenerator<TraceColumns> {
  // Inflated ahead (up to READ_AHEAD chunks) while the consumer works on the last one: a replay otherwise waits
  // for each chunk. (zlib streams take the stream options too; @types/node lists only zlib's own.)
  const bytes: Readable = gzip ? input.pipe(createGunzip({ chunkSize: CHUNK_BYTES, highWaterMark: READ_AHEAD * CHUNK_BYTES } as ZlibOptions)) : input;
  // errors of the file stage reach the loop through the gzip stage
  if (bytes !== input) input.on('error', (e) => bytes.destroy(e));
  // uint64 / int64 (what most msgpack libraries write for integers of 2^32 and more) as numbers, not BigInt:
  // validateRecord then judges them like any number (above 2^53 they are not safe integers and are refused).
  const unpackr = new Unpackr({ useRecords: false, int64AsType: 'number' });
  /** The start of a record that continues in the next chunk (a copy). */
  let held: Buffer | undefined;
  let index = 0;
  /** The columns handed out last: refilled with the next chunk (the consumer asked for it, so it is done with them). */
  let last: TraceColumns | undefined;
  const check = (rec: TraceRecord, at: number): void => {
    if (at === 0 && rec.type !== 'header') throw new TraceError('E_TRACE_FORMAT', `${label}: first record is "${rec.type}", not the header`);
    if (at > 0 && rec.type === 'header') throw new TraceError('E_TRACE_FORMAT', `${label}: second header at record ${at}`);
  };
  try {
    for await (const chunk of streamChunks(bytes, READ_AHEAD)) {
      if (chunk.length === 0) continue;
      // Write data are views of `source`: chunks are fresh buffers and `held` a copy, never reused.
      let source = chunk;
      let lead: TraceRecord | undefined;
      if (held) {
        // The record the last chunk cut off, joined with the head of this one and decoded on its own
        // (copying each 1 MiB chunk behind it cost more than decoding it); a long one the old way.
        const head = Buffer.concat([held, chunk.subarray(0, Math.min(chunk.length, JOIN_BYTES))]);
        const one = decodeRecord(head, 0, index, unpackr, check);
        if (one) {
          lead = one.record;
          source = chunk.subarray(one.end - held.length);
        } else if (head.length < held.length + chunk.length) source = Buffer.concat([held, chunk]);
        else {
          if (head.length > MAX_RECORD_BYTES) throw new TraceError('E_TRACE_FORMAT', `${label}: record ${index} is longer than ${MAX_RECORD_BYTES} bytes`);
          held = head;
          continue;
        }
        held = undefined;
      }
      // A slice of the chunk at a time: a replay decodes while it has windows in flight, and one 1 MiB
      // chunk decoded in one go (tens of ms) left the daemon without a next window meanwhile.
      for (let from = 0; ; lead = undefined) {
        const { columns, rest, error } = decodeChunk(source, index, unpackr, check, last, lead, from, SLICE_RECORDS);
        last = columns;
        index += columns.n;
        const more = error === undefined && columns.n === SLICE_RECORDS && rest < source.length;
        let failure = error;
        if (failure === undefined && !more && rest < source.length) {
          if (source.length - rest > MAX_RECORD_BYTES) failure = new TraceError('E_TRACE_FORMAT', `${label}: record ${index} is longer than ${MAX_RECORD_BYTES} bytes`);
          else held = Buffer.from(source.subarray(rest));
        }
        // The records before a bad one are the reader's, as when they came one at a time.
        if (columns.n > 0) yield columns;
        if (failure !== undefined) throw failure;
        if (!more) break;
        from = rest;
      }
    }
    if (held) throw Object.assign(new Error('Unexpected end of MessagePack data'), { incomplete: true });
  } catch (e) {
    if (e instanceof TraceError) throw new TraceError(e.code, e.message.startsWith(label) ? e.message : `${label}: ${e.message}`, e.location);
    const err = e as NodeJS.ErrnoException & { incomplete?: boolean };
    if (err.incomplete || err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
      // Every record whole but the gzip stream without its end (a copy cut short): name the last record read, not one that is not there.
      if (!err.incomplete && !held && index > 0) throw new TraceError('E_TRACE_TRUNCATED', `${label}: the gzip stream is cut short after record ${index - 1} (its end is missing)`);
      throw new TraceError('E_TRACE_TRUNCATED', `${label}: trace ends inside a record (record ${index})`);
    }
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR') throw traceReadError(label, err);
    if (err.code?.startsWith('Z_')) throw new TraceError('E_TRACE_FORMAT', `${label}: gzip data is corrupt (${err.message})`);
    throw new TraceError('E_TRACE_FORMAT', `${label}: not a msgpack trace at record ${index} (${err.message})`);
  } finally {
    input.destroy();
    if (bytes !== input) bytes.destroy();
  }
  if (index === 0) throw new TraceError('E_TRACE_FORMAT', `${label}: empty file, no header`);
}

/** Read only the header of a trace. */
export async function readTraceHeader(path: string): Promise<HeaderRecord> {
  for await (const rec of readTrace(path)) return rec as HeaderRecord;
  throw new TraceError('E_TRACE_FORMAT', `${path}: empty file, no header`);
}

