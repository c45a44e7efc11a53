/**
 * A sparse set of burst-aligned lines: one bit per line, kept in 64 KiB-bit
 * pages that exist only where lines were added, so a trace touching a few
 * windows of a 2^48 address space costs a few KiB.
 */
const PAGE_LINES = 65536;

export class LineBitmap {
  private readonly pages = new Map<number, Uint8Array>();
  constructor(readonly lineBytes: number) {}

  /** Mark every line that [addr, addr + len) touches. */
  addRange(addr: number, len: number): void {
    const first = Math.floor(addr / this.lineBytes);
    const last = Math.floor((addr + len - 1) / this.lineBytes);
    for (let line = first; line <= last; line++) {
      const key = Math.floor(line / PAGE_LINES);
      let page = this.pages.get(key);
      if (!page) {
        page = new Uint8Array(PAGE_LINES / 8);
        this.pages.set(key, page);
      }
      const bit = line - key * PAGE_LINES;
      page[bit >> 3] |= 1 << (bit & 7);
    }
  }

  /** Line addresses (bytes) in increasing order. */
  *addresses(): Generator<number> {
    for (const key of [...this.pages.keys()].sort((a, b) => a - b)) {
      const page = this.pages.get(key)!;
      for (let byte = 0; byte < page.length; byte++) {
        if (page[byte] === 0) continue;
        for (let b = 0; b < 8; b++) {
          if (page[byte] & (1 << b)) yield (key * PAGE_LINES + byte * 8 + b) * this.lineBytes;
        }
      }
    }
  }
}
