import type { DramCause, DramObserver } from '../pipeline/dram-observer.ts';

/** One burst of the exported stream, in time order. */
export interface DramBurst {
  /** Trace time of the access that caused it, ns. */
  readonly t: number;
  readonly write: boolean;
  readonly addr: number;
  readonly cause: DramCause;
}

/** Typed arrays that grow by doubling (one event per counted run of bursts, no object each). */
class Column<A extends Float64Array | Uint32Array | Uint8Array> {
  constructor(public a: A) {}
  set(i: number, v: number): void {
    if (i >= this.a.length) {
      const b = new (this.a.constructor as new (n: number) => A)(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[i] = v;
  }
}

/**
 * The DRAM trace export's observer: records what the line buffers and the
 * engine count, with the trace time (`time`, set by the replay before each
 * op) of the mark each event carries. A write-back decided by an access
 * (completion, eviction), a fence, a flush or the end of the trace is thus
 * stamped with the time of that access, fence or last op, even though its
 * size is only known once a lane has coded the block.
 */
export class DramRecorder implements DramObserver {
  /** Trace time (ns) of the op being replayed. */
  time = 0;
  private marks = new Column(new Float64Array(1024));
  private nMarks = 0;
  private readonly evMark = new Column(new Uint32Array(1024));
  private readonly evAddr = new Column(new Float64Array(1024));
  private readonly evCount = new Column(new Uint32Array(1024));
  /** cause | write << 2 */
  private readonly evFlags = new Column(new Uint8Array(1024));
  private n = 0;
  readBursts = 0;
  writeBursts = 0;

  mark(): number {
    this.marks.set(this.nMarks, this.time);
    return this.nMarks++;
  }

  bursts(mark: number, cause: DramCause, write: boolean, addr: number, count: number): void {
    const i = this.n++;
    this.evMark.set(i, mark);
    this.evAddr.set(i, addr);
    this.evCount.set(i, count);
    this.evFlags.set(i, cause | (write ? 4 : 0));
    if (write) this.writeBursts += count;
    else this.readBursts += count;
  }

  /**
   * Every burst, in the order of the marks (the order the shim decided on
   * the traffic), events of one mark in the order they were counted;
   * `burstBytes` apart within a run.
   */
  *stream(burstBytes: number): Generator<DramBurst> {
    const order = Array.from({ length: this.n }, (_, i) => i);
    const m = this.evMark.a;
    // Array.prototype.sort is stable: events of one mark keep their order.
    order.sort((x, y) => m[x] - m[y]);
    const times = this.marks.a;
    for (const i of order) {
      const t = times[m[i]];
      const f = this.evFlags.a[i];
      const write = (f & 4) !== 0;
      const cause = (f & 3) as DramCause;
      const addr = this.evAddr.a[i];
      const count = this.evCount.a[i];
      for (let k = 0; k < count; k++) yield { t, write, addr: addr + k * burstBytes, cause };
    }
  }
}
