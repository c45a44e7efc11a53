import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { BlockPut, BlockRef, MemoryBackend, StoredRegion } from './backend.ts';
import { LOG_MAGIC, PUT_DATA_AT, RECORD_HEADER, REC_DELETE, REC_META, REC_PUT, encodeRecord, parseRecord } from './log-format.ts';

/**
 * When a write is acknowledged (docs/hardening.md):
 * - always: fdatasync after every batch of puts, before answering;
 * - batch:  group commit - puts go to the file at once, one fdatasync shared
 *           by everything written in the same short window, answers after it;
 * - none:   answered once in the OS page cache (survives the daemon being
 *           killed, not a power cut or kernel crash).
 */
export type SyncMode = 'always' | 'batch' | 'none';
export const SYNC_MODES: readonly SyncMode[] = ['always', 'batch', 'none'];

export interface FileBackendOptions {
  readonly sync: SyncMode;
  /** Compact when the log exceeds this and is more than twice its live bytes. */
  readonly compactMinBytes?: number;
  /** Group-commit window of sync=batch. */
  readonly batchWindowMs?: number;
}

interface Loc {
  /** File offset of the stored bytes and their length. */
  off: number;
  len: number;
  /** CRC of the record body, checked again on every read. */
  crc: number;
  recordAt: number;
}

const LOG_NAME = 'shimpack.log';
const WINDOW = 4 * 1024 * 1024;

export class LogCorruptError extends Error {}

/**
 * Persistent backend: one append-only log of records with checksums, and an
 * in-memory index (block -> file offset) rebuilt by scanning the log on open.
 * A torn or corrupt tail is cut off, never read. Rewritten blocks leave dead
 * records behind; compaction rewrites the live ones into a new file and
 * renames it over the old one (atomic), so the log stays within about twice
 * the live data.
 */
export class FileBackend implements MemoryBackend {
  readonly name = 'file';
  private fd: number;
  private size: number;
  private readonly index = new Map<number, Map<number, Loc>>();
  private readonly meta = new Map<number, Buffer>();
  private held = 0;
  private blocks = 0;
  /** Live record bytes (what compaction would keep). */
  private live = 0;
  private syncWaiters: (() => void)[] = [];
  private syncFailures: ((e: Error) => void)[] = [];
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private closed = false;
  /** Bytes cut off the tail on open (a torn record). */
  readonly recoveredTornBytes: number;
  compactions = 0;

  constructor(
    readonly dir: string,
    readonly opts: FileBackendOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, LOG_NAME);
    const fresh = !existsSync(path);
    this.fd = openSync(path, fresh ? 'w+' : 'r+');
    if (fresh || fstatSync(this.fd).size === 0) {
      writeSync(this.fd, LOG_MAGIC, 0, LOG_MAGIC.length, 0);
      fdatasyncSync(this.fd);
    } else {
      const head = Buffer.alloc(LOG_MAGIC.length);
      readSync(this.fd, head, 0, head.length, 0);
      if (!head.equals(LOG_MAGIC)) throw new LogCorruptError(`${path} is not a shimpack log`);
    }
    const fileSize = fstatSync(this.fd).size;
    const validEnd = this.scan(fileSize);
    this.recoveredTornBytes = fileSize - validEnd;
    if (validEnd < fileSize) {
      ftruncateSync(this.fd, validEnd);
      fdatasyncSync(this.fd);
    }
    this.size = validEnd;
  }

  /** Replay the log into the index; returns where the valid records end. */
  private scan(fileSize: number): number {
    let at = LOG_MAGIC.length;
    let win = Buffer.alloc(0);
    let winAt = at;
    for (;;) {
      let rec = parseRecord(win, at - winAt);
      if (!rec) {
        // Not complete in this window: read a window starting here (large enough for the record).
        const want = Math.min(fileSize - at, Math.max(WINDOW, at + RECORD_HEADER <= fileSize ? this.bodyLenAt(at) + RECORD_HEADER : 0));
        if (want <= 0) return at;
        win = Buffer.alloc(want);
        readSync(this.fd, win, 0, want, at);
        winAt = at;
        rec = parseRecord(win, 0);
        if (!rec) return at;
      }
      const abs = { ...rec, payloadAt: rec.payloadAt + winAt, end: rec.end + winAt };
      const crc = win.readUInt32LE(at - winAt + 4);
      if (rec.type === REC_PUT) this.setBlock(rec.region, rec.index, { off: abs.payloadAt, len: rec.payloadLen, crc, recordAt: at });
      else if (rec.type === REC_DELETE) this.dropRegion(rec.region);
      else if (rec.type === REC_META) this.setMeta(rec.region, Buffer.from(win.subarray(rec.payloadAt, rec.payloadAt + rec.payloadLen)));
      at = abs.end;
    }
  }

  private bodyLenAt(at: number): number {
    const h = Buffer.alloc(4);
    readSync(this.fd, h, 0, 4, at);
    return Math.min(h.readUInt32LE(0), 64 * 1024 * 1024);
  }

  private setBlock(region: number, index: number, loc: Loc): void {
    let m = this.index.get(region);
    if (!m) this.index.set(region, (m = new Map()));
    const old = m.get(index);
    if (old) {
      this.held -= old.len;
      this.live -= old.len + RECORD_HEADER + PUT_DATA_AT;
    } else this.blocks++;
    m.set(index, loc);
    this.held += loc.len;
    this.live += loc.len + RECORD_HEADER + PUT_DATA_AT;
  }

  private setMeta(region: number, bytes: Buffer): void {
    const old = this.meta.get(region);
    if (old) this.live -= old.length + RECORD_HEADER + 5;
    this.meta.set(region, bytes);
    this.live += bytes.length + RECORD_HEADER + 5;
  }

  private dropRegion(region: number): void {
    const m = this.index.get(region);
    if (m) {
      for (const l of m.values()) {
        this.held -= l.len;
        this.live -= l.len + RECORD_HEADER + PUT_DATA_AT;
      }
      this.blocks -= m.size;
      this.index.delete(region);
    }
    const old = this.meta.get(region);
    if (old) this.live -= old.length + RECORD_HEADER + 5;
    this.meta.delete(region);
  }

  private append(rec: Buffer): number {
    if (this.closed) throw new Error('file backend is closed');
    const at = this.size;
    let done = 0;
    while (done < rec.length) done += writeSync(this.fd, rec, done, rec.length - done, at + done);
    this.size += rec.length;
    return at;
  }

  getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    try {
      return Promise.resolve(
        refs.map((r) => {
          const loc = this.index.get(r.region)?.get(r.index);
          if (!loc) return undefined;
          // Not from Buffer's shared pool: the block may be kept, and must not pin the pool.
          const body = Buffer.allocUnsafeSlow(PUT_DATA_AT + loc.len);
          readSync(this.fd, body, 0, body.length, loc.recordAt + RECORD_HEADER);
          if (crc32(body) !== loc.crc) throw new LogCorruptError(`block ${r.region}:${r.index} fails its checksum on read`);
          return new Uint8Array(body.buffer, body.byteOffset + PUT_DATA_AT, loc.len);
        }),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  putMany(puts: readonly BlockPut[]): Promise<void> {
    try {
      for (const p of puts) {
        const rec = encodeRecord(REC_PUT, p.ref.region, p.ref.index, p.bytes);
        const at = this.append(rec);
        this.setBlock(p.ref.region, p.ref.index, { off: at + RECORD_HEADER + PUT_DATA_AT, len: p.bytes.length, crc: rec.readUInt32LE(4), recordAt: at });
      }
      this.maybeCompact();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.durable();
  }

  putRegion(region: number, meta: Uint8Array): Promise<void> {
    try {
      this.append(encodeRecord(REC_META, region, 0, meta));
      this.setMeta(region, Buffer.from(meta));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.durable();
  }

  listRegions(): StoredRegion[] {
    return [...this.meta].map(([id, meta]) => ({
      id,
      meta,
      blocks: [...(this.index.get(id) ?? new Map<number, Loc>())].map(([index, l]) => ({ index, storedLen: l.len, mode: this.modeOf(l) })),
    }));
  }

  private modeOf(l: Loc): number {
    if (l.len === 0) return -1;
    const b = Buffer.alloc(1);
    readSync(this.fd, b, 0, 1, l.off);
    return b[0];
  }

  deleteRegion(region: number): Promise<void> {
    if (!this.index.has(region) && !this.meta.has(region)) return Promise.resolve();
    try {
      this.append(encodeRecord(REC_DELETE, region, 0, new Uint8Array(0)));
      this.dropRegion(region);
      this.maybeCompact();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.durable();
  }

  /** Resolves when what was appended so far is as durable as the sync mode promises. */
  private durable(): Promise<void> {
    if (this.opts.sync === 'none') return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      this.syncWaiters.push(resolve);
      this.syncFailures.push(reject);
    });
    if (this.opts.sync === 'always') this.syncNow();
    else this.syncTimer ??= setTimeout(() => this.syncNow(), this.opts.batchWindowMs ?? 2);
    return p;
  }

  /** One fdatasync for every waiter so far; waiters added meanwhile get the next one. */
  private syncNow(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.syncing || this.syncWaiters.length === 0) return;
    this.syncing = true;
    const ok = this.syncWaiters.splice(0);
    const fail = this.syncFailures.splice(0);
    const generation = this.compactions;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      // A compaction meanwhile closed this fd after syncing everything into the new file.
      if (err && generation === this.compactions) for (const f of fail) f(err);
      else for (const w of ok) w();
      if (this.syncWaiters.length) this.syncNow();
    });
  }

  /** Rewrite the live records into a fresh file when dead ones dominate. */
  private maybeCompact(): void {
    const min = this.opts.compactMinBytes ?? 64 * 1024 * 1024;
    if (this.size < min || this.size < 2 * this.live + LOG_MAGIC.length) return;
    this.compact();
  }

  compact(): void {
    const path = join(this.dir, LOG_NAME);
    const tmp = `${path}.compact`;
    const out = openSync(tmp, 'w');
    let at = 0;
    const write = (b: Buffer): number => {
      const start = at;
      let done = 0;
      while (done < b.length) done += writeSync(out, b, done, b.length - done, at + done);
      at += b.length;
      return start;
    };
    write(LOG_MAGIC);
    for (const [region, meta] of this.meta) write(encodeRecord(REC_META, region, 0, meta));
    const moved: [Loc, number, number][] = [];
    for (const [region, m] of this.index) {
      for (const [index, loc] of m) {
        const body = Buffer.allocUnsafe(PUT_DATA_AT + loc.len);
        readSync(this.fd, body, 0, body.length, loc.recordAt + RECORD_HEADER);
        if (crc32(body) !== loc.crc) throw new LogCorruptError(`block ${region}:${index} fails its checksum during compaction`);
        const head = Buffer.allocUnsafe(RECORD_HEADER);
        head.writeUInt32LE(body.length, 0);
        head.writeUInt32LE(loc.crc, 4);
        const recAt = write(Buffer.concat([head, body]));
        moved.push([loc, recAt, index]);
      }
    }
    fdatasyncSync(out);
    renameSync(tmp, path);
    try {
      const dfd = openSync(this.dir, 'r');
      fdatasyncSync(dfd);
      closeSync(dfd);
    } catch {
      /* directories cannot be synced on every platform */
    }
    closeSync(this.fd);
    this.fd = out;
    // out was opened write-only: reopen for reads and appends.
    closeSync(out);
    this.fd = openSync(path, 'r+');
    for (const [loc, recAt] of moved) {
      loc.recordAt = recAt;
      loc.off = recAt + RECORD_HEADER + PUT_DATA_AT;
    }
    this.size = at;
    this.compactions++;
    // Everything appended before is now in a synced file.
    const ok = this.syncWaiters.splice(0);
    this.syncFailures.splice(0);
    for (const w of ok) w();
  }

  /** Bytes the log file holds (valid records). */
  get logBytes(): number {
    return this.size;
  }

  bytesHeld(): number {
    return this.held;
  }

  blocksHeld(): number {
    return this.blocks;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.opts.sync !== 'none') await new Promise<void>((r) => fdatasync(this.fd, () => r()));
    clearTimeout(this.syncTimer);
    for (const w of this.syncWaiters.splice(0)) w();
    this.closed = true;
    closeSync(this.fd);
  }
}
