import { Observable, map, type Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import type { DaemonConfig } from '../config.ts';
import type { DaemonMetrics } from '../metrics/metrics.ts';
import type { AccessListener, Engine } from '../pipeline/engine.ts';
import type { VectorListener } from '../pipeline/vector.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';
import type { Access } from './access.ts';
import { requestId, validateRequest } from '../pipeline/validate.ts';
import { toProtocolError } from '../pipeline/wire-error.ts';
import { ERROR_CODES, PROTOCOL_VERSION, type ErrorCode, type Op, type Request, type Response, type VectorFailure } from '../../protocol/types.ts';
import { decodeFrame } from '../../protocol/wire.ts';
import { frameMalformation } from '../../protocol/frame-check.ts';
import { packResponses } from './response-frames.ts';
import type { RequestRecorder } from '../traces/request-recorder.ts';

/** One request read off a frame, or the reason it cannot be one. */
type Ingress = {
  readonly raw: unknown;
  readonly tooLarge: boolean;
  /** Held once for a table fitted ahead (Engine.fitAhead): admitted without asking again. */
  readonly fitted?: boolean;
  /** When it was first admitted (its latency counts the wait). */
  readonly since?: number;
};

type PauseReason = 'lanes' | 'inflight' | 'send-buffer' | 'record' | 'fit';

export interface SessionHost {
  readonly shuttingDown: boolean;
  /** Token check and address space for hello (daemon/server/access.ts). */
  readonly access: Access;
  /** `serve --record`: where accepted requests go. */
  readonly recorder?: RequestRecorder;
}

function errorResponse(id: number | null, code: ErrorCode, message?: string): Response {
  return { id, ok: false, code, message: message ?? ERROR_CODES[code] };
}

/** A fence's (or flush's) wait: it goes on when the requests admitted before it are answered. */
class FenceWait {
  constructor(
    public remaining: number,
    readonly record: InFlight,
    /** flush: the region named, if any. */
    readonly region: string | undefined,
  ) {}
}

/**
 * An admitted request not answered yet. Writes and reads (nearly all the
 * traffic) hear from the engine through accessDone, so a request costs this
 * one object rather than a chain of promises.
 */
class InFlight implements AccessListener, VectorListener {
  /** Fences admitted after this request, waiting for it. */
  fences: FenceWait[] | undefined;
  constructor(
    readonly session: Session,
    readonly id: number,
    readonly op: Op,
    /** Write data or read length, counted against --conn-inflight-bytes. */
    readonly bytes: number,
    readonly t0: number,
  ) {}

  accessDone(error: Error | undefined, data?: Uint8Array): void {
    this.session.complete(this, error ? this.session.fail(this.id, error) : data ? { id: this.id, ok: true, data } : { id: this.id, ok: true });
  }

  vectorDone(failed: VectorFailure[], data: Uint8Array | undefined): void {
    this.session.complete(this, data ? { id: this.id, ok: true, data, failed } : { id: this.id, ok: true, failed });
  }
}

/**
 * One WebSocket connection: an RxJS pipeline from frames to responses.
 *
 *   frames -> requests (a frame may hold a batch) -> admit (checks, then the
 *   engine hands block jobs to the lanes, synchronously and in order) ->
 *   completion (any order) -> coalesced response frames
 *
 * RxJS has no backpressure of its own, so the session pauses the socket
 * (TCP then pushes back on the client) while its unanswered requests, its
 * unsent responses or the lanes are over their bounds.
 */
export class Session {
  private helloDone = false;
  private inflightCount = 0;
  private inflightBytes = 0;
  private sendBytes = 0;
  private readonly outstanding = new Set<InFlight>();
  /** drain(): called once nothing is outstanding. */
  private settledWaiters: (() => void)[] = [];
  private egress: Response[] = [];
  /** Read data in `egress`, not yet packed into frames: answers served from the line buffers come faster than a turn ends. */
  private egressBytes = 0;
  private flushQueued = false;
  private paused = false;
  private waitingForLanes = false;
  /** Requests held, in arrival order, while a table one of them needs is fitted off the main thread (Engine.fitAhead). */
  private fitQueue: Ingress[] | undefined;
  private waitingForRecorder = false;
  /** This connection's id in a `--record` trace. */
  private readonly recordConn: number;
  private sendWaiters: (() => void)[] = [];
  private subscription?: Subscription;
  private lastFrameAt = performance.now();
  /**
   * Since when the connection is idle for --idle-timeout-ms: the later of its
   * last frame and the answer to its last outstanding request (time spent
   * waiting for the daemon's own answers is not the client's idleness).
   */
  private idleSince = performance.now();
  /** Address space chosen at hello. */
  private space = '';
  private idleTimer?: NodeJS.Timeout;
  /** Frames that arrived while paused, not yet admitted. */
  private held: { data: Buffer; isBinary: boolean }[] = [];
  private emitFrame: (f: { data: Buffer; isBinary: boolean }) => void = () => {};

  constructor(
    private readonly ws: WebSocket,
    private readonly engine: Engine,
    private readonly metrics: DaemonMetrics,
    private readonly config: DaemonConfig,
    private readonly host: SessionHost,
  ) {
    this.recordConn = host.recorder?.openConnection() ?? -1;
  }

  start(): void {
    this.armIdle();
    const frames$ = new Observable<{ data: Buffer; isBinary: boolean }>((sub) => {
      const onMessage = (data: Buffer, isBinary: boolean): void => {
        this.lastFrameAt = this.idleSince = performance.now();
        // ws.pause() stops reading the socket, but frames already received
        // are still emitted: hold them (their bytes are bounded by one socket
        // read) and admit them on resume.
        if (this.paused) this.held.push({ data, isBinary });
        else sub.next({ data, isBinary });
      };
      this.emitFrame = (f) => sub.next(f);
      const onClose = (): void => sub.complete();
      this.ws.on('message', onMessage);
      this.ws.once('close', onClose);
      return () => {
        this.ws.off('message', onMessage);
        this.ws.off('close', onClose);
      };
    });
    // Completion in any order: each request is answered when it is done
    // (admit responds at once, or when the engine or a promise reports).
    // The requests of a frame are admitted in order, in one pass rather than
    // one inner observable per request.
    this.subscription = frames$.pipe(map((f) => this.parseFrame(f.data, f.isBinary))).subscribe({
      next: (items) => {
        for (const item of items) {
          if (this.fitQueue) this.fitQueue.push(item);
          else this.admit(item);
        }
      },
    });
  }

  /** Unsent response bytes (metrics). */
  get bufferedBytes(): number {
    return this.sendBytes;
  }

  /**
   * Resolves once every request read so far is answered, no frame arrived
   * for `quietMs` (frames in transit when shutdown began still get their
   * E_SHUTTING_DOWN answers), and the responses were handed to the socket.
   */
  async drain(quietMs = 50): Promise<void> {
    for (;;) {
      while (this.outstanding.size > 0) await new Promise<void>((r) => this.settledWaiters.push(r));
      if ((this.held.length > 0 || this.fitQueue) && this.ws.readyState === this.ws.OPEN) {
        // Frames held for backpressure still get answers (E_SHUTTING_DOWN).
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const idle = performance.now() - this.lastFrameAt;
      if (idle >= quietMs || this.ws.readyState !== this.ws.OPEN) break;
      await new Promise((r) => setTimeout(r, quietMs - idle));
    }
    await new Promise<void>((r) => queueMicrotask(r));
    this.flush();
    if (this.sendBytes > 0 && this.ws.readyState === this.ws.OPEN) await new Promise<void>((r) => this.sendWaiters.push(r));
  }

  /** Close the connection once nothing was in flight and no frame came for --idle-timeout-ms. */
  private armIdle(delay = this.config.idleTimeoutMs): void {
    const ms = this.config.idleTimeoutMs;
    if (!ms) return;
    this.idleTimer = setTimeout(() => {
      const quiet = performance.now() - this.idleSince;
      if (this.outstanding.size === 0 && quiet >= ms) this.ws.close(4008, 'idle timeout');
      else this.armIdle(this.outstanding.size === 0 ? ms - quiet : ms);
    }, Math.max(1, delay));
    this.idleTimer.unref();
  }

  stop(): void {
    clearTimeout(this.idleTimer);
    this.subscription?.unsubscribe();
  }

  private parseFrame(data: Buffer, isBinary: boolean): Ingress[] {
    if (!isBinary) return [{ raw: null, tooLarge: false }];
    let msg: unknown;
    try {
      // msgpackr accepts more than the protocol (0xc1, extension types): check first.
      const why = frameMalformation(data);
      if (why !== undefined) throw new Error(why);
      msg = decodeFrame(data);
    } catch (e) {
      // Nothing in it can be answered by id: say so, then close (the only error that closes).
      this.respond(errorResponse(null, 'E_MALFORMED', `frame is not msgpack: ${(e as Error).message}`));
      this.flush();
      this.ws.close(1007, 'frame is not msgpack');
      return [];
    }
    const tooLarge = data.length > this.config.maxFrameBytes;
    const items = Array.isArray(msg) ? msg : [msg];
    return items.map((raw) => ({ raw, tooLarge }));
  }

  /** Check and start one request; it is answered (respond) now or when it is done. */
  private admit(item: Ingress): void {
    if (item.tooLarge) {
      return this.respond(errorResponse(requestId(item.raw), 'E_FRAME_TOO_LARGE', `frame is larger than maxFrameBytes (${this.config.maxFrameBytes})`));
    }
    let req: Request;
    try {
      req = validateRequest(item.raw);
    } catch (e) {
      return this.respond(this.fail(requestId(item.raw), e));
    }
    if (this.host.shuttingDown) return this.respond(errorResponse(req.id, 'E_SHUTTING_DOWN'));
    const t0 = item.since ?? performance.now();
    try {
      // Pausing the socket bounds frames, not the requests inside one batch frame: a hard cap does.
      if (this.inflightCount >= this.config.maxOutstanding && (req.op === 'write' || req.op === 'read' || req.op === 'free' || req.op === 'writev' || req.op === 'readv')) {
        return this.respond(errorResponse(req.id, 'E_BUSY', `${this.inflightCount} requests of this connection are unanswered (--max-outstanding ${this.config.maxOutstanding})`));
      }
      if ((req.op === 'write' || req.op === 'writev') && this.helloDone && !item.fitted) {
        // A write that completes a context-codec region's calibration window: its table is fitted first, off the main thread.
        const ahead = this.engine.fitAhead(req, this.space);
        if (ahead) return this.holdForFit({ ...item, fitted: true, since: t0 }, ahead);
      }
      if (req.op === 'write' || req.op === 'read') {
        if (!this.helloDone) throw this.noHello(req.op);
        const rec = new InFlight(this, req.id, req.op, req.op === 'write' ? req.data.length : req.len, t0);
        // Throws (nothing started) or takes the request: then accessDone follows exactly once.
        if (req.op === 'write') this.engine.write(req, this.space, rec);
        else this.engine.read(req, this.space, rec);
        this.accepted(req, rec);
        return;
      }
      if (req.op === 'writev' || req.op === 'readv') {
        if (!this.helloDone) throw this.noHello(req.op);
        // One request of --max-outstanding / --conn-inflight; its bytes count like a write's data or a read's length (protocol 4.10).
        let bytes = 0;
        if (req.op === 'writev') bytes = req.data.length;
        else for (let i = 0; i < req.lens.length; i++) bytes += req.lens[i];
        const rec = new InFlight(this, req.id, req.op, bytes, t0);
        const v = req.op === 'writev' ? this.engine.writev(req, this.space, rec) : this.engine.readv(req, this.space, rec);
        this.accepted(req, rec, v.refused);
        return;
      }
      if ((req.op === 'fence' || req.op === 'flush') && this.helloDone && this.outstanding.size > 0) {
        // Goes on once every request admitted before it is answered; the fence is
        // outstanding meanwhile, so a later fence or a drain waits for it too.
        const rec = new InFlight(this, req.id, req.op, 0, t0);
        const wait = new FenceWait(this.outstanding.size, rec, req.op === 'flush' ? req.region : undefined);
        for (const o of this.outstanding) (o.fences ??= []).push(wait);
        this.accepted(req, rec);
        return;
      }
      const result = this.dispatch(req);
      if (!(result instanceof Promise)) {
        this.host.recorder?.record(this.recordConn, req);
        this.metrics.requestDuration.observe({ op: req.op }, (performance.now() - t0) / 1000);
        return this.respond(result);
      }
      const rec = new InFlight(this, req.id, req.op, 0, t0);
      this.accepted(req, rec);
      result.then(
        (r) => this.complete(rec, r),
        (e: unknown) => this.complete(rec, this.fail(rec.id, e)),
      );
    } catch (e) {
      this.respond(this.fail(req.id, e));
    }
  }

  /** Accepted (nothing threw): record it in arrival order and count it until it completes. */
  private accepted(req: Request, rec: InFlight, refused?: Uint8Array): void {
    this.host.recorder?.record(this.recordConn, req, refused);
    this.inflightCount++;
    this.inflightBytes += rec.bytes;
    this.metrics.inflightRequests.inc();
    this.outstanding.add(rec);
    this.checkPressure();
  }

  /**
   * A request is done. Its slot is freed before the answer is queued: a
   * client that sends its next request the moment it reads an answer never
   * meets E_BUSY.
   */
  complete(rec: InFlight, r: Response): void {
    this.outstanding.delete(rec);
    if (this.outstanding.size === 0) this.idleSince = performance.now();
    this.inflightCount--;
    this.inflightBytes -= rec.bytes;
    this.metrics.inflightRequests.dec();
    this.metrics.requestDuration.observe({ op: rec.op }, (performance.now() - rec.t0) / 1000);
    this.respond(r);
    if (rec.fences) for (const f of rec.fences) if (--f.remaining === 0) this.writeBack(f.record, f.region);
    if (this.outstanding.size === 0 && this.settledWaiters.length) for (const w of this.settledWaiters.splice(0)) w();
    this.checkPressure();
  }

  /** A fence or flush whose earlier requests are answered: the buffered blocks go to the backend, then it is answered. */
  private writeBack(rec: InFlight, region: string | undefined): void {
    this.engine.flush(this.space, region).then(
      () => this.complete(rec, { id: rec.id, ok: true }),
      (e: unknown) => this.complete(rec, this.fail(rec.id, e)),
    );
  }

  private noHello(op: string): ProtocolError {
    return new ProtocolError('E_NO_HELLO', `"${op}" before hello: hello must be the first request on a connection`);
  }

  private dispatch(req: Request): Response | Promise<Response> {
    if (req.op === 'hello') {
      if (this.helloDone) throw new ProtocolError('E_ALREADY_HELLO', 'hello already done on this connection');
      if (req.version !== PROTOCOL_VERSION) throw new ProtocolError('E_VERSION', `this daemon speaks protocol version ${PROTOCOL_VERSION}, not ${req.version}`);
      this.space = this.host.access.admit(req.token, req.space);
      this.helloDone = true;
      return {
        id: req.id,
        ok: true,
        version: PROTOCOL_VERSION,
        server: 'shimpack',
        lanes: this.engine.lanes,
        codecs: this.engine.codecNames,
        maxFrameBytes: this.config.maxFrameBytes,
        blockBytes: this.config.blockSize,
        burstBytes: this.config.burstBytes,
        channel: this.engine.channel.index,
        channels: this.engine.channel.channels,
        channelGranule: this.engine.channel.granule,
      };
    }
    if (!this.helloDone) throw this.noHello(req.op);
    const id = req.id;
    switch (req.op) {
      case 'region':
        return this.engine.declareRegion(req, this.space);
      case 'stats': {
        const { region } = req;
        // Figures include every acknowledged write: buffered blocks are written back first (a failure there is
        // answered by the next fence or flush; the stats still come).
        if (region !== undefined) this.engine.stats(id, region, this.space); // E_NO_SUCH_REGION before any work
        return this.engine.flush(this.space, region).then(
          () => this.engine.stats(id, region, this.space),
          () => this.engine.stats(id, region, this.space),
        );
      }
      case 'fence':
        return this.engine.flush(this.space).then(() => ({ id, ok: true }));
      case 'flush':
        return this.engine.flush(this.space, req.region).then(() => ({ id, ok: true }));
      case 'free':
        return this.engine.free(req.name, this.space).then(() => ({ id, ok: true }));
      default:
        throw new ProtocolError('E_INTERNAL', `"${req.op}" is not dispatched here`);
    }
  }

  fail(id: number | null, e: unknown): Response {
    const p = toProtocolError(e);
    return errorResponse(id, p.code, p.message);
  }

  private respond(r: Response): void {
    if (!r.ok) this.metrics.errors.inc({ code: r.code });
    this.egress.push(r);
    if (r.ok && 'data' in r) this.egressBytes += r.data.length;
    if (!this.flushQueued) {
      // Once per event-loop turn, not per microtask: answers of every lane
      // batch committed in this turn share one frame (one socket write).
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Send every queued response: as few frames as fit, each at most
   * maxFrameBytes (a map alone, an array when there are several).
   */
  private flush(): void {
    this.flushQueued = false;
    if (this.egress.length === 0) return;
    const list = this.egress;
    this.egress = [];
    this.egressBytes = 0;
    if (this.ws.readyState !== this.ws.OPEN) return;
    const frames = packResponses(list, this.config.maxFrameBytes, () => this.metrics.errors.inc({ code: 'E_TOO_LARGE' }));
    for (const frame of frames) {
      const n = frame.length;
      this.sendBytes += n;
      this.ws.send(frame, { binary: true }, () => {
        this.sendBytes -= n;
        if (this.sendBytes === 0) for (const w of this.sendWaiters.splice(0)) w();
        this.checkPressure();
      });
    }
    this.checkPressure();
  }

  /**
   * Hold this request and every later one of the connection, in order,
   * until `ahead` settles, then admit them: the other connections are served
   * meanwhile (the socket pauses, as for backpressure).
   */
  private holdForFit(item: Ingress, ahead: Promise<void>): void {
    this.fitQueue = [item];
    this.checkPressure();
    void ahead.then(() => {
      const queue = this.fitQueue ?? [];
      this.fitQueue = undefined;
      // a closed connection's held requests go nowhere, as its held frames
      if (this.ws.readyState !== this.ws.OPEN) return;
      for (let i = 0; i < queue.length; i++) {
        // one of them may need a table of its own: the rest wait behind it
        if (this.fitQueue) {
          (this.fitQueue as Ingress[]).push(...queue.slice(i));
          break;
        }
        this.admit(queue[i]);
      }
      this.checkPressure();
    });
  }

  /** Pause reading this socket while any bound is exceeded; resume when none is. */
  private checkPressure(): void {
    let reason: PauseReason | undefined;
    if (this.engine.scheduler.saturated()) reason = 'lanes';
    else if (this.inflightCount >= this.config.connInflightRequests || this.inflightBytes >= this.config.connInflightBytes) reason = 'inflight';
    else if (this.sendBytes + this.egressBytes >= this.config.sendBufferBytes) reason = 'send-buffer';
    else if (this.host.recorder?.behind) reason = 'record';
    else if (this.fitQueue) reason = 'fit';
    if (reason && !this.paused) {
      this.paused = true;
      this.ws.pause();
      this.metrics.socketPauses.inc({ reason });
    } else if (!reason && this.paused) {
      this.paused = false;
      // Admit held frames first (in order); one of them may pause us again.
      while (!this.paused && this.held.length > 0) this.emitFrame(this.held.shift() as { data: Buffer; isBinary: boolean });
      if (!this.paused) this.ws.resume();
    }
    if (reason === 'lanes' && !this.waitingForLanes) {
      this.waitingForLanes = true;
      this.engine.scheduler.whenDrained().then(() => {
        this.waitingForLanes = false;
        this.checkPressure();
      });
    }
    if (reason === 'record' && !this.waitingForRecorder && this.host.recorder) {
      this.waitingForRecorder = true;
      this.host.recorder.drained().then(() => {
        this.waitingForRecorder = false;
        this.checkPressure();
      });
    }
  }
}
