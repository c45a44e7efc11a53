import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../protocol/wire.ts';

export interface WireResponse {
  readonly id: number | null;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly data?: Uint8Array;
}

/**
 * A bare WebSocket speaking frames directly (fuzzing sends what no client
 * would build). `exchange` sends a frame and then a fence with a private id,
 * and returns every answer that came before the fence's: the fence is
 * answered after everything sent before it, so the set is complete.
 */
export class RawConnection {
  private inbox: WireResponse[] = [];
  private wake?: () => void;
  closedWith: number | undefined;
  /** Fence ids far above what the fuzzer uses (ids must be non-negative integers). */
  private fenceId = 2 ** 52;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = decodeFrame(data) as WireResponse | WireResponse[];
      for (const r of Array.isArray(m) ? m : [m]) this.inbox.push(r);
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closedWith = code;
      this.wake?.();
    });
    ws.on('error', () => {});
  }

  static async open(url: string): Promise<RawConnection> {
    // A zero masking key: frames are still masked as RFC 6455 requires of a client, but neither ws here
    // nor the daemon's ws then XORs every byte (the fuzzer sends MiB-sized frames; the key guards
    // browsers against proxy cache poisoning, nothing a fuzzer on loopback needs).
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30, generateMask: (mask: Buffer) => void mask.fill(0) });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawConnection(ws);
  }

  get open(): boolean {
    return this.closedWith === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  send(data: Uint8Array | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  /** Send `frame`, then a fence; resolve with the answers before the fence's, or 'closed'. */
  async exchange(data: Uint8Array | string, binary: boolean, timeoutMs = 10_000): Promise<WireResponse[] | 'closed'> {
    const fence = this.fenceId++;
    this.send(data, binary);
    if (this.open) this.send(encodeFrame({ op: 'fence', id: fence }));
    // One timer per exchange (not one per wake-up): the fuzzer runs about a thousand exchanges a second.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.wake?.();
    }, timeoutMs);
    try {
      for (let from = 0; ; ) {
        for (let at = from; at < this.inbox.length; at++) {
          if (this.inbox[at].id !== fence) continue;
          const got = this.inbox.slice(0, at);
          this.inbox = this.inbox.slice(at + 1);
          return got;
        }
        from = this.inbox.length;
        if (this.closedWith !== undefined) return 'closed';
        if (timedOut) throw new Error(`no answer within ${timeoutMs} ms`);
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Everything received and not yet taken (after a close: the answers sent before it). */
  drainInbox(): WireResponse[] {
    const all = this.inbox;
    this.inbox = [];
    return all;
  }

  async call(req: Record<string, unknown>): Promise<WireResponse> {
    const r = await this.exchange(encodeFrame(req), true);
    if (r === 'closed' || r.length !== 1) throw new Error(`call ${String(req.op)}: ${r === 'closed' ? 'connection closed' : `${r.length} answers`}`);
    return r[0];
  }

  close(): void {
    this.ws.terminate();
  }
}
