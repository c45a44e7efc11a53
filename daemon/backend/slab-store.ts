/**
 * Byte strings kept in a few large buffers instead of one ArrayBuffer each.
 *
 * Why: a stored block lives until it is overwritten, typically a fraction of
 * a second under steady traffic. One ArrayBuffer per block survives the young
 * generation, dies in the old one, and its bytes count as external memory,
 * which V8 adds to the old generation's size: the daemon then ran a full
 * mark-compact every 100-300 ms with 15 MB of live heap (docs/daemon.md).
 * Slots in slabs are reused in place, so steady traffic allocates nothing.
 *
 * Size classes: multiples of 64 bytes up to 1 KiB, then 16 classes per
 * power of two (so a slot wastes under 1/16 of its size, and there are at
 * most CLASS_COUNT classes whatever the block size). Each class carves slabs
 * of about SLAB_BYTES (at least 4 slots) into equal slots. New strings go to
 * the class's lowest-numbered slab with room, so the others drain; a slab
 * whose slots are all free is given back, except that a class keeps one
 * empty slab while all such kept slabs stay under SPARE_BYTES in total.
 * Strings longer than MAX_SLOT_BYTES get a buffer of their own (class 0).
 *
 * A handle names (class, slot) in one number: slot * CLASS_COUNT + class.
 */
const SLAB_BYTES = 256 * 1024;
const SPARE_BYTES = 4 * 1024 * 1024;
/** Largest slot: 256 KiB (blocks up to that size, header and length included). */
const MAX_SLOT_LOG2 = 18;
const MAX_SLOT_BYTES = 2 ** MAX_SLOT_LOG2;
/** Classes 1-16: 64..1024 bytes; then 16 per power of two up to MAX_SLOT_BYTES. */
const CLASS_COUNT = 17 + (MAX_SLOT_LOG2 - 10) * 16;
/** Bytes in front of each string in its slot: its length. */
const LEN_BYTES = 4;

/** The class of a slot that holds `need` bytes, and that slot's size. */
function classOf(need: number): { id: number; slotBytes: number } {
  if (need <= 1024) {
    const n = Math.max(1, Math.ceil(need / 64));
    return { id: n, slotBytes: n * 64 };
  }
  const e = Math.ceil(Math.log2(need)) - 1; // 2^e < need <= 2^(e+1)
  const step = 2 ** (e - 4);
  const k = Math.ceil(need / step); // 17..32
  return { id: 16 + (e - 10) * 16 + (k - 16), slotBytes: k * step };
}

/** Bytes held in kept empty slabs, over all classes. */
interface SpareBudget {
  bytes: number;
}

class SizeClass {
  readonly slotsPerSlab: number;
  private readonly slabs: (Uint8Array | undefined)[] = [];
  private readonly lens: (DataView | undefined)[] = [];
  /** Per slab: a stack of its free slot numbers, and how many are on it. */
  private readonly freeSlots: (Int32Array | undefined)[] = [];
  private readonly freeCount: number[] = [];
  /** Slabs with a free slot (unordered; alloc takes the lowest id); openAt[s] is s's position, or -1. */
  private readonly open: number[] = [];
  private readonly openAt: number[] = [];
  /** Ids of released slabs, reused before new ones. */
  private readonly spareIds: number[] = [];
  /** The empty slab this class keeps (counted in the budget), or -1. */
  private keptEmpty = -1;
  /** Bytes of the slabs currently allocated. */
  allocatedBytes = 0;

  constructor(
    readonly slotBytes: number,
    private readonly budget: SpareBudget,
  ) {
    this.slotsPerSlab = Math.max(4, Math.floor(SLAB_BYTES / slotBytes));
  }

  alloc(): number {
    if (this.open.length === 0) this.addSlab();
    let s = this.open[0];
    for (let i = 1; i < this.open.length; i++) if (this.open[i] < s) s = this.open[i];
    if (s === this.keptEmpty) {
      this.keptEmpty = -1;
      this.budget.bytes -= this.slabBytes();
    }
    const free = this.freeSlots[s] as Int32Array;
    const k = free[--this.freeCount[s]];
    if (this.freeCount[s] === 0) this.unlistOpen(s);
    return s * this.slotsPerSlab + k;
  }

  release(slot: number): void {
    const s = Math.floor(slot / this.slotsPerSlab);
    const free = this.freeSlots[s] as Int32Array;
    free[this.freeCount[s]++] = slot - s * this.slotsPerSlab;
    if (this.freeCount[s] === 1) this.listOpen(s);
    if (this.freeCount[s] < this.slotsPerSlab) return;
    // Empty: keep it only as this class's one spare, within the shared budget.
    if (this.keptEmpty === -1 && this.budget.bytes + this.slabBytes() <= SPARE_BYTES) {
      this.keptEmpty = s;
      this.budget.bytes += this.slabBytes();
    } else this.dropSlab(s);
  }

  /** The slab holding `slot`. */
  slabOf(slot: number): Uint8Array {
    return this.slabs[Math.floor(slot / this.slotsPerSlab)] as Uint8Array;
  }

  lenView(slot: number): DataView {
    return this.lens[Math.floor(slot / this.slotsPerSlab)] as DataView;
  }

  offsetOf(slot: number): number {
    return (slot % this.slotsPerSlab) * this.slotBytes;
  }

  private slabBytes(): number {
    return this.slotsPerSlab * this.slotBytes;
  }

  private addSlab(): void {
    const s = this.spareIds.length ? (this.spareIds.pop() as number) : this.slabs.length;
    const slab = new Uint8Array(this.slabBytes());
    this.slabs[s] = slab;
    this.lens[s] = new DataView(slab.buffer);
    const free = new Int32Array(this.slotsPerSlab);
    // Hand out low slots first (pops from the end).
    for (let i = 0; i < this.slotsPerSlab; i++) free[i] = this.slotsPerSlab - 1 - i;
    this.freeSlots[s] = free;
    this.freeCount[s] = this.slotsPerSlab;
    this.openAt[s] = -1;
    this.listOpen(s);
    this.allocatedBytes += slab.length;
  }

  private dropSlab(s: number): void {
    this.unlistOpen(s);
    this.allocatedBytes -= (this.slabs[s] as Uint8Array).length;
    this.slabs[s] = undefined;
    this.lens[s] = undefined;
    this.freeSlots[s] = undefined;
    this.freeCount[s] = 0;
    this.spareIds.push(s);
  }

  private listOpen(s: number): void {
    this.openAt[s] = this.open.length;
    this.open.push(s);
  }

  private unlistOpen(s: number): void {
    const at = this.openAt[s];
    const last = this.open.pop() as number;
    if (last !== s) {
      this.open[at] = last;
      this.openAt[last] = at;
    }
    this.openAt[s] = -1;
  }
}

export class SlabStore {
  private readonly classes: (SizeClass | undefined)[] = new Array(CLASS_COUNT);
  private readonly budget: SpareBudget = { bytes: 0 };
  /** Class 0: strings too long for a slot, one buffer each. */
  private readonly large: (Uint8Array | undefined)[] = [];
  private readonly largeFree: number[] = [];
  private largeBytes = 0;

  /** Store a copy of `bytes`; returns its handle. */
  put(bytes: Uint8Array): number {
    const need = bytes.length + LEN_BYTES;
    if (need > MAX_SLOT_BYTES) {
      const id = this.largeFree.length ? (this.largeFree.pop() as number) : this.large.length;
      this.large[id] = bytes.slice();
      this.largeBytes += bytes.length;
      return id * CLASS_COUNT;
    }
    const { id: c, slotBytes } = classOf(need);
    const cls = (this.classes[c] ??= new SizeClass(slotBytes, this.budget));
    const slot = cls.alloc();
    const at = cls.offsetOf(slot);
    cls.lenView(slot).setUint32(at, bytes.length, true);
    cls.slabOf(slot).set(bytes, at + LEN_BYTES);
    return slot * CLASS_COUNT + c;
  }

  /** A copy of the string (the slot may be reused once the handle is freed). */
  get(handle: number): Uint8Array {
    const c = handle % CLASS_COUNT;
    const slot = (handle - c) / CLASS_COUNT;
    if (c === 0) return (this.large[slot] as Uint8Array).slice();
    const cls = this.classes[c] as SizeClass;
    const at = cls.offsetOf(slot);
    const len = cls.lenView(slot).getUint32(at, true);
    return cls.slabOf(slot).slice(at + LEN_BYTES, at + LEN_BYTES + len);
  }

  /** The string's length. */
  lengthOf(handle: number): number {
    const c = handle % CLASS_COUNT;
    const slot = (handle - c) / CLASS_COUNT;
    if (c === 0) return (this.large[slot] as Uint8Array).length;
    const cls = this.classes[c] as SizeClass;
    return cls.lenView(slot).getUint32(cls.offsetOf(slot), true);
  }

  /** Free the string; returns its length (what the caller stops counting as held). */
  free(handle: number): number {
    const c = handle % CLASS_COUNT;
    const slot = (handle - c) / CLASS_COUNT;
    if (c === 0) {
      const len = (this.large[slot] as Uint8Array).length;
      this.largeBytes -= len;
      this.large[slot] = undefined;
      this.largeFree.push(slot);
      return len;
    }
    const cls = this.classes[c] as SizeClass;
    const len = cls.lenView(slot).getUint32(cls.offsetOf(slot), true);
    cls.release(slot);
    return len;
  }

  /** Bytes of buffers held (slabs, kept empty ones included, and long strings): what the store costs in memory. */
  allocatedBytes(): number {
    let n = this.largeBytes;
    for (const cls of this.classes) if (cls) n += cls.allocatedBytes;
    return n;
  }
}
