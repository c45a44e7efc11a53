import { createRequire } from 'node:module';
import type WsWebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  type ErrorResponse,
  type HelloResponse,
  type ReadResponse,
  type ReadvResponse,
  type VectorFailure,
  type WritevResponse,
  type RegionRequest,
  type RegionResponse,
  type RequestBody,
  type Response,
  type StatsResponse,
  type SuccessResponse,
} from '../../protocol/types.ts';
import { decodeFrame, encodeFrame } from '../../protocol/wire.ts';
import { arrayHead, encodeVectorRequest, vectorFrameBound } from '../../protocol/vector-frame.ts';
import { ShimpackError } from './errors.ts';
import { FramePool } from './frame-pool.ts';

// ws through require(), not an ES import: an import of CommonJS makes Node parse the source of each
// module ws's ESM wrapper imports for its exports (cjs-module-lexer), and V8 then compiles that parser
// hot, ~80-120 ms of a short-lived client's CPU (a cold replay's) on a core the daemon could use.
const WebSocket = createRequire(import.meta.url)('ws') as typeof WsWebSocket;

/** An encoded request at least this long is sent as a frame of its own, not joined into a batch frame. */
const SEPARATE_FRAME_BYTES = 32 * 1024;

type WebSocket = WsWebSocket;

export interface ConnectOptions {
  /** Sent in hello, shown in the daemon's logs. */
  readonly client?: string;
  readonly token?: string;
  /** Address space to work in (hello's `space`; by default the token's own, or the unnamed default space). */
  readonly space?: string;
  /**
   * Send requests issued in the same tick as one batch frame (default true).
   * Fewer frames, same semantics: the daemon applies batch members in order.
   * A vector of 32 KiB or more goes as a frame of its own, and so then do
   * the others of its tick, in order (joining would copy it once more).
   */
  readonly autoBatch?: boolean;
  /**
   * Mask frames with an all-zero key (default: only for loopback URLs).
   * RFC 6455 masking protects proxies between client and server from cache
   * poisoning; on loopback there are none, and masking every byte in
   * JavaScript costs the client and the daemon (which skips unmasking a zero
   * key) a pass over every payload byte.
   */
  readonly zeroMask?: boolean;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
  } catch {
    return false;
  }
}

function zeroMaskKey(mask: Buffer): void {
  mask.fill(0);
}

interface Pending {
  resolve(r: SuccessResponse): void;
  reject(e: ShimpackError): void;
}

/**
 * Promise-based client of protocol v1. Requests are pipelined: each call
 * sends at once and resolves when its own response arrives, in whatever order
 * the daemon answers. The daemon applies a connection's requests in the order
 * sent, so `await Promise.all([c.write(a, x), c.read(a, n)])` reads x.
 */
export class ShimpackClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Requests to send at the end of the tick: bodies, or (vectors) their encoded maps. */
  private queue: (Record<string, unknown> | Uint8Array)[] = [];
  private flushQueued = false;
  private closed = false;
  /** The daemon's hello answer: lanes, codecs, limits. */
  hello!: HelloResponse;

  private constructor(
    private readonly ws: WebSocket,
    private readonly autoBatch: boolean,
    /** Large vector frames' buffers, reused (only where ws sends frames as they are: the all-zero mask). */
    private readonly frames: FramePool | undefined,
  ) {
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('close', () => this.failAll('E_CLOSED', 'connection closed'));
    ws.on('error', (e) => this.failAll('E_CLOSED', e.message));
  }

  /** Open a connection to `url` (ws://host:port/) and do hello. */
  static async connect(url: string, opts: ConnectOptions = {}): Promise<ShimpackClient> {
    const zero = opts.zeroMask ?? isLoopbackUrl(url);
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024, ...(zero ? { generateMask: zeroMaskKey } : {}) });
    ws.binaryType = 'nodebuffer';
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (e) => reject(new ShimpackError('E_CONNECT', `cannot connect to ${url}: ${e.message}`)));
    });
    const c = new ShimpackClient(ws, opts.autoBatch ?? true, zero ? new FramePool() : undefined);
    c.hello = (await c.request({ op: 'hello', version: PROTOCOL_VERSION, client: opts.client, token: opts.token, ...(opts.space === undefined ? {} : { space: opts.space }) })) as HelloResponse;
    return c;
  }

  region(spec: Omit<RegionRequest, 'id' | 'op'>): Promise<RegionResponse> {
    return this.request({ op: 'region', ...spec }) as Promise<RegionResponse>;
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    await this.request({ op: 'write', addr, data });
  }

  /** The bytes come back as a view into the received frame. */
  async read(addr: number, len: number): Promise<Uint8Array> {
    return ((await this.request({ op: 'read', addr, len })) as ReadResponse).data;
  }

  /**
   * Burst vector write (protocol section 4.8): element i writes
   * data[sum(lens[0..i)), + lens[i]) at addrs[i], in order, each as a single
   * write would. Resolves once every applied element is committed, with the
   * elements that did not apply (empty when all did); rejects only when the
   * request as a whole is refused (E_BAD_FIELD, E_TOO_LARGE, E_BUSY, ...).
   */
  async writev(addrs: ArrayLike<number>, lens: ArrayLike<number>, data: Uint8Array): Promise<VectorFailure[]> {
    const r = (await this.vectorRequest('writev', addrs, lens, data)) as WritevResponse;
    return r.failed;
  }

  /**
   * Burst vector read (section 4.9): `data` holds element i at
   * sum(lens[0..i)); a failed element's bytes are zero and it is listed in
   * `failed`. The bytes are a view into the received frame.
   */
  async readv(addrs: ArrayLike<number>, lens: ArrayLike<number>): Promise<{ data: Uint8Array; failed: VectorFailure[] }> {
    const r = (await this.vectorRequest('readv', addrs, lens)) as ReadvResponse;
    return { data: r.data, failed: r.failed };
  }

  stats(region?: string): Promise<StatsResponse> {
    return this.request(region === undefined ? { op: 'stats' } : { op: 'stats', region }) as Promise<StatsResponse>;
  }

  async fence(): Promise<void> {
    await this.request({ op: 'fence' });
  }

  /** Like fence, then the daemon codes and stores every buffered block (of `region`, or of the address space). */
  async flush(region?: string): Promise<void> {
    await this.request(region === undefined ? { op: 'flush' } : { op: 'flush', region });
  }

  async free(name: string): Promise<void> {
    await this.request({ op: 'free', name });
  }

  /** Send any request body (an id is added) and resolve with its success response. */
  request(body: RequestBody | Record<string, unknown>): Promise<SuccessResponse> {
    return this.enqueue((id) => ({ ...body, id }));
  }

  /**
   * A writev / readv, encoded straight from the caller's arrays (protocol/vector-frame.ts); values that
   * encoder does not take go through msgpackr as plain arrays (typed arrays would become extension types,
   * which the protocol does not use), and the daemon judges them.
   */
  private vectorRequest(op: 'writev' | 'readv', addrs: ArrayLike<number>, lens: ArrayLike<number>, data?: Uint8Array): Promise<SuccessResponse> {
    return this.enqueue((id) => {
      const into = this.frames?.take(vectorFrameBound(addrs.length, data ? data.length : 0));
      const frame = encodeVectorRequest(op, id, addrs, lens, data, into);
      if (into) this.frames!.hold(frame, into);
      return frame ?? (data ? { op, addrs: Array.from(addrs), lens: Array.from(lens), data, id } : { op, addrs: Array.from(addrs), lens: Array.from(lens), id });
    });
  }

  /** Send one frame; the buffer of a pooled frame goes back to the pool once ws has written it. */
  private sendFrame(frame: Uint8Array): void {
    const pool = this.frames;
    if (!pool?.holds(frame)) {
      this.ws.send(frame, { binary: true });
      return;
    }
    this.ws.send(frame, { binary: true }, () => pool.release(frame));
  }

  private enqueue(make: (id: number) => Record<string, unknown> | Uint8Array): Promise<SuccessResponse> {
    if (this.closed) return Promise.reject(new ShimpackError('E_CLOSED', 'connection closed'));
    const id = this.nextId++;
    const p = new Promise<SuccessResponse>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push(make(id));
    if (!this.autoBatch) this.sendQueued();
    else if (!this.flushQueued) {
      // At the end of the event-loop turn, not the microtask: requests issued by the continuations of
      // every answer in one frame (replay, pipelined emulators) then share one frame and one socket write.
      this.flushQueued = true;
      setImmediate(() => this.sendQueued());
    }
    return p;
  }

  /**
   * Send raw bytes as one frame (tests of malformed input). Responses with
   * ids are matched as usual; those with id null go to `onOrphanError`.
   */
  sendRawFrame(frame: Uint8Array): void {
    this.ws.send(frame, { binary: true });
  }

  /** Errors the daemon could not tie to a request id (malformed frames). */
  onOrphanError: (e: ShimpackError) => void = () => {};

  /** Requests sent and not yet answered. */
  get inflight(): number {
    return this.pending.size;
  }

  /** Bytes of frames sent but still queued on the socket, not yet taken by the kernel (ws's bufferedAmount). */
  get unsentBytes(): number {
    return this.ws.bufferedAmount;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.sendQueued();
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }

  private sendQueued(): void {
    this.flushQueued = false;
    if (this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    if (q.length === 1) {
      const only = q[0];
      if (only instanceof Uint8Array) this.sendFrame(only);
      else this.ws.send(encodeFrame(only), { binary: true });
      return;
    }
    if (!q.some((m) => m instanceof Uint8Array)) {
      this.ws.send(encodeFrame(q), { binary: true });
      return;
    }
    if (q.some((m) => m instanceof Uint8Array && m.length >= SEPARATE_FRAME_BYTES)) {
      // Large vectors go as frames of their own: joining them copies every byte once more, in a fresh
      // buffer, which cost a replay more than the one socket write it saves.
      for (const m of q) {
        if (m instanceof Uint8Array) this.sendFrame(m);
        else this.ws.send(encodeFrame(m), { binary: true });
      }
      return;
    }
    // A batch frame is a msgpack array of the requests' maps: the encoded ones joined as they are.
    const parts = q.map((m) => (m instanceof Uint8Array ? m : encodeFrame(m)));
    this.ws.send(Buffer.concat([arrayHead(parts.length), ...parts]), { binary: true });
    // Copied into the batch frame: their buffers are free again.
    for (const m of q) if (m instanceof Uint8Array) this.frames?.release(m);
  }

  private onFrame(data: Buffer): void {
    let msg: unknown;
    try {
      msg = decodeFrame(data);
    } catch (e) {
      this.failAll('E_CLOSED', `daemon sent a frame that is not msgpack: ${(e as Error).message}`);
      this.ws.terminate();
      return;
    }
    for (const r of (Array.isArray(msg) ? msg : [msg]) as Response[]) {
      const p = r.id === null || r.id === undefined ? undefined : this.pending.get(r.id);
      if (!r.ok) {
        const err = new ShimpackError((r as ErrorResponse).code, (r as ErrorResponse).message, r.id);
        if (p) {
          this.pending.delete(r.id as number);
          p.reject(err);
        } else this.onOrphanError(err);
        continue;
      }
      if (p) {
        this.pending.delete(r.id);
        p.resolve(r);
      }
    }
  }

  private failAll(code: 'E_CLOSED', message: string): void {
    this.closed = true;
    for (const [id, p] of this.pending) p.reject(new ShimpackError(code, message, id));
    this.pending.clear();
  }
}
