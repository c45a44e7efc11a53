import WebSocket from 'ws';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { decodeFrame, encodeFrame } from '../protocol/wire.ts';

export interface WireAnswer {
  readonly id: number | null;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly data?: Uint8Array;
  readonly [k: string]: unknown;
}

/**
 * A WebSocket speaking frames directly (requests the client library would not
 * build), keeping every received frame's raw bytes so tests can check sizes
 * and encodings.
 */
export class RawSocket {
  readonly frames: Buffer[] = [];
  private readonly inbox: WireAnswer[] = [];
  private readonly waiters: ((v: WireAnswer) => void)[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(data);
      const m = decodeFrame(data);
      for (const r of (Array.isArray(m) ? m : [m]) as WireAnswer[]) {
        const w = this.waiters.shift();
        if (w) w(r);
        else this.inbox.push(r);
      }
    });
    this.closed = new Promise((r) => ws.once('close', (code) => r(code)));
  }

  static async open(d: RunningDaemon): Promise<RawSocket> {
    const ws = new WebSocket(d.url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    const s = new RawSocket(ws);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    return s;
  }

  /** Open and say hello. */
  static async hello(d: RunningDaemon): Promise<RawSocket> {
    const s = await RawSocket.open(d);
    const r = await s.call({ op: 'hello', id: 0, version: 1 });
    if (!r.ok) throw new Error(`hello failed: ${r.code}`);
    return s;
  }

  send(message: unknown): void {
    this.ws.send(encodeFrame(message));
  }

  sendBytes(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  next(): Promise<WireAnswer> {
    const r = this.inbox.shift();
    return r ? Promise.resolve(r) : new Promise((res) => this.waiters.push(res));
  }

  /** The next n answers, in arrival order. */
  async answers(n: number): Promise<WireAnswer[]> {
    const out: WireAnswer[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  async call(message: Record<string, unknown>): Promise<WireAnswer> {
    this.send(message);
    return this.next();
  }

  /** True if no answer arrives within ms. */
  async silentFor(ms: number): Promise<boolean> {
    if (this.inbox.length > 0) return false;
    let got = false;
    const w = (v: WireAnswer): void => {
      got = true;
      this.inbox.push(v);
    };
    this.waiters.push(w);
    await new Promise((r) => setTimeout(r, ms));
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    return !got;
  }

  close(): void {
    this.ws.close();
  }
}
