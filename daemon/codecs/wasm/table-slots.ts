/**
 * Slots of wasm memory that hold a model's coder tables, cached by the model's
 * identity and reused round-robin: a lane worker codes blocks of several
 * regions interleaved, so a table is written once per slot, not per block.
 * Shared by the APack, SCC and fpack wrappers; the tables' layout is theirs.
 */
export class TableSlots<K extends object> {
  private readonly slotOf = new WeakMap<K, number>();
  private readonly owner: (K | undefined)[];
  private next = 0;

  constructor(
    /** Address of slot 0. */
    readonly base: number,
    /** Bytes per slot. */
    readonly bytes: number,
    count: number,
  ) {
    this.owner = new Array<K | undefined>(count).fill(undefined);
  }

  /** The slot holding `key`'s tables, or -1 when they must be written. */
  find(key: K): number {
    const s = this.slotOf.get(key);
    return s !== undefined && this.owner[s] === key ? s : -1;
  }

  /** The slot the next tables go into (the oldest). */
  take(): number {
    const s = this.next;
    this.next = (s + 1) % this.owner.length;
    return s;
  }

  /** Byte address of slot `s`. */
  at(s: number): number {
    return this.base + s * this.bytes;
  }

  /** Slot `s` now holds `key`'s tables (called once they are written, so a failed write leaves no owner). */
  own(s: number, key: K): void {
    this.owner[s] = key;
    this.slotOf.set(key, s);
  }
}
