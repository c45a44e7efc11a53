import type { Request } from '../../protocol/types.ts';
import { TraceWriter } from './writer.ts';

/**
 * `serve --record FILE`: every request the daemon accepts, as a trace
 * (protocol/trace.md), in arrival order, each op and region tagged with the
 * connection it came on (`conn`, numbered from 0 in connection order) and the
 * nanoseconds since recording began (`t`).
 *
 * Memory stays bounded by backpressure, not by dropping: while the file
 * stream is behind (`behind`), sessions stop reading their sockets, exactly
 * as for saturated lanes, and resume on `drained()`. Nothing is lost, and a
 * slow disk slows the clients down. If the file cannot be written at all
 * (disk full), recording stops with one message on stderr; the daemon keeps
 * serving.
 *
 * A `writev` / `readv` is recorded as its elements, each a write or read
 * record, in array order (those refused at admission left out).
 *
 * What is not in the trace: `hello` and `stats` (no trace record for them),
 * reads and writes of zero bytes (the format requires len > 0), and requests
 * refused at admission (malformed, out of region, overlapping region, ...),
 * so the recording replays without those errors.
 */
export class RequestRecorder {
  private readonly writer: TraceWriter;
  private readonly t0 = process.hrtime.bigint();
  private nextConn = 0;
  private failed = false;
  private drainWait: Promise<void> | undefined;
  /** Requests written to the trace. */
  recorded = 0;

  constructor(
    readonly path: string,
    meta: Record<string, unknown> = {},
  ) {
    this.writer = new TraceWriter(path, { source: 'serve --record', meta });
  }

  /** A new connection's id in the trace. */
  openConnection(): number {
    return this.nextConn++;
  }

  /** True while the file is behind: callers stop reading sockets until `drained()`. */
  get behind(): boolean {
    return !this.failed && this.writer.needsDrain;
  }

  /** One promise for every waiting session (not one 'drain' listener each). */
  drained(): Promise<void> {
    this.drainWait ??= this.writer.drained().then(
      () => {
        this.drainWait = undefined;
      },
      (e: unknown) => {
        this.drainWait = undefined;
        this.fail(e);
      },
    );
    return this.drainWait;
  }

  /** Append an accepted request of connection `conn`; a vector as its elements, but those `refused` at admission. */
  record(conn: number, req: Request, refused?: Uint8Array): void {
    if (this.failed) return;
    const t = Number(process.hrtime.bigint() - this.t0);
    try {
      switch (req.op) {
        case 'region': {
          const { id: _id, op: _op, ...spec } = req;
          this.writer.region({ ...spec, conn });
          break;
        }
        case 'write':
          if (req.data.length === 0) return;
          this.writer.op({ op: 'write', t, conn, addr: req.addr, len: req.data.length, data: req.data });
          break;
        case 'read':
          if (req.len === 0) return;
          this.writer.op({ op: 'read', t, conn, addr: req.addr, len: req.len });
          break;
        case 'writev': {
          // As its elements: a replay makes the same accesses in the same order (protocol 4.10).
          let at = 0;
          for (let i = 0; i < req.addrs.length; i++) {
            const len = req.lens[i];
            if (len > 0 && !refused?.[i]) {
              this.writer.op({ op: 'write', t, conn, addr: req.addrs[i], len, data: req.data.subarray(at, at + len) });
              this.recorded++;
            }
            at += len;
          }
          return;
        }
        case 'readv':
          for (let i = 0; i < req.addrs.length; i++) {
            if (req.lens[i] > 0 && !refused?.[i]) {
              this.writer.op({ op: 'read', t, conn, addr: req.addrs[i], len: req.lens[i] });
              this.recorded++;
            }
          }
          return;
        case 'fence':
        case 'flush':
          // The trace format has no flush: a fence orders the same way, and the daemon writes back on fences too.
          this.writer.op({ op: 'fence', t, conn });
          break;
        case 'free':
          this.writer.op({ op: 'free', t, conn, name: req.name });
          break;
        default:
          return; // hello, stats
      }
      this.recorded++;
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Flush, append the end record and close the file. A file that takes no
   * data (stalled disk, unread FIFO) does not hold shutdown up for more than
   * `timeoutMs`: the trace is then left incomplete (no end record).
   */
  async close(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
      timer.unref();
    });
    try {
      const r = await Promise.race([this.writer.close().then(() => 'closed' as const), timedOut]);
      if (r === 'timeout') process.stderr.write(`shimpack: --record ${this.path}: file still not written after ${timeoutMs} ms; the trace is incomplete\n`);
    } catch (e) {
      if (!this.failed) throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    process.stderr.write(`shimpack: --record ${this.path}: ${(e as Error).message}; recording stopped\n`);
  }
}
