/** Frames from this size up to MAX_BYTES are encoded into pooled buffers (smaller ones come from Node's own pool). */
const MIN_BYTES = 16 * 1024;
const MAX_BYTES = 4 * 1024 * 1024;
/** Buffers kept per connection: the replay has up to eight vectors in flight. */
const KEPT = 8;

/**
 * Buffers for a connection's large vector frames, each used again once ws
 * has written the frame in it. A fresh 100+ KiB buffer per vector is new
 * memory that the kernel maps and zeroes on first touch, which cost a cold
 * replay about 5 % of its time (docs/daemon.md). Only for connections whose
 * frames ws sends as they are (the all-zero mask of loopback): with a real
 * mask, ws writes a masked copy and the pool would save nothing.
 */
export class FramePool {
  private readonly free: Buffer[] = [];
  /** The buffer each frame handed out sits in, until it is released. */
  private readonly owner = new WeakMap<Uint8Array, Buffer>();

  /** A buffer of at least `bytes` to encode a frame into, or undefined (size out of range: the encoder allocates). */
  take(bytes: number): Buffer | undefined {
    if (bytes < MIN_BYTES || bytes > MAX_BYTES) return undefined;
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i];
      if (b.length >= bytes) {
        this.free.splice(i, 1);
        return b;
      }
    }
    // Sizes rounded up to a power of two, so a buffer fits the next vectors of a run.
    return Buffer.allocUnsafe(2 ** Math.ceil(Math.log2(bytes)));
  }

  /** `frame` was encoded into `buffer` (from take): release(frame) gives the buffer back. Otherwise the buffer is free now. */
  hold(frame: Uint8Array | undefined, buffer: Buffer): void {
    if (frame && frame.buffer === buffer.buffer) this.owner.set(frame, buffer);
    else this.give(buffer);
  }

  /** Whether `frame` sits in a pooled buffer (release it once it is written). */
  holds(frame: Uint8Array): boolean {
    return this.owner.has(frame);
  }

  /** The frame is written (or copied elsewhere): its buffer may be used again. */
  release(frame: Uint8Array): void {
    const b = this.owner.get(frame);
    if (!b) return;
    this.owner.delete(frame);
    this.give(b);
  }

  private give(b: Buffer): void {
    if (this.free.length < KEPT) this.free.push(b);
  }
}
