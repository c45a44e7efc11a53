/**
 * Who wants to see the DRAM-side request stream behind the shim (the DRAM
 * trace export, docs/dram.md): the line buffers and the engine tell it every
 * burst they count, synchronously, at the place they count it. Unset (the
 * daemon's normal case) it costs one property test per counted event.
 *
 * Address layout of what the shim stores (docs/dram.md, "Address layout"):
 * sectored, saving bandwidth, not capacity. Block i of a region keeps its
 * own address range; a compressed block occupies its first ceil(payload /
 * burst) bursts, a raw-held block all of them, each burst at its own
 * address. Metadata lines (one burst of METADATA_ENTRY_BYTES entries) live in
 * a range of their own at the top of the 2^48-byte address space.
 */

/** What caused a DRAM burst. */
export const DRAM_FILL = 0; // a compressed block fetched into its slot (or a raw-held block's bursts as read)
export const DRAM_WRITEBACK = 1; // a buffered block coded and stored (and the raw bursts it had to read first)
export const DRAM_METADATA = 2; // a metadata line read on a miss, or written back when dirty
export const DRAM_DIRECT = 3; // a request served without buffers (codec raw, or no line buffers)
export type DramCause = typeof DRAM_FILL | typeof DRAM_WRITEBACK | typeof DRAM_METADATA | typeof DRAM_DIRECT;

export interface DramObserver {
  /**
   * A point in the request stream. Traffic decided now but counted later (a
   * write-back's size is known once it is coded) carries the mark taken when
   * it was decided, so it can be stamped with the time of its cause.
   */
  mark(): number;
  /** `count` consecutive bursts from `addr` (burst-aligned) in one direction. */
  bursts(mark: number, cause: DramCause, write: boolean, addr: number, count: number): void;
}

/** Start of the metadata range: the top 1/32 of the 2^48-byte address space. */
export const METADATA_BASE = 2 ** 48 - 2 ** 43;

/**
 * DRAM address of the metadata line whose first entry describes the block
 * at data address `blockAddr`: one burst of metadata per `burstBytes *
 * entriesPerLine` bytes of data address space (2048 bytes for 64-byte bursts
 * and 2-byte entries), so lines of different regions never share an address
 * unless the regions share such a span.
 */
export function metadataLineAddress(blockAddr: number, burstBytes: number, entriesPerLine: number): number {
  return METADATA_BASE + Math.floor(blockAddr / (burstBytes * entriesPerLine)) * burstBytes;
}
