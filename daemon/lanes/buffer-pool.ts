/**
 * Reusable ArrayBuffers in power-of-two size classes. Lane batches and their
 * results used to allocate a fresh buffer of 64-130 KiB each; that external
 * memory is what drove V8 into frequent full (mark-compact) collections under
 * load, whose pauses made the write-ack tail. Buffers travel main thread ->
 * worker -> main thread and back into a pool instead.
 */
const MIN_CLASS = 12; // 4 KiB
const MAX_CLASS = 30;

export class BufferPool {
  private readonly free: ArrayBuffer[][] = Array.from({ length: MAX_CLASS + 1 }, () => []);

  /** @param perClass buffers kept per size class; more are left to the GC */
  constructor(private readonly perClass = 8) {}

  /** A buffer of at least `bytes` (its contents are whatever it held before). */
  take(bytes: number): ArrayBuffer {
    const c = sizeClass(bytes);
    if (c > MAX_CLASS) return new ArrayBuffer(bytes);
    return this.free[c].pop() ?? new ArrayBuffer(2 ** c);
  }

  /** Hand a buffer back; only exact class sizes are kept (others came from elsewhere). */
  give(buf: ArrayBuffer): void {
    const n = buf.byteLength;
    if (n === 0 || (n & (n - 1)) !== 0) return;
    const c = Math.log2(n);
    if (c < MIN_CLASS || c > MAX_CLASS) return;
    const list = this.free[c];
    if (list.length < this.perClass) list.push(buf);
  }
}

function sizeClass(bytes: number): number {
  return bytes <= 1 << MIN_CLASS ? MIN_CLASS : Math.ceil(Math.log2(bytes));
}
