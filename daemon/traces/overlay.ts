/**
 * Bytes a trace wrote that differ from its region's payload function (data
 * carried by DRAMSys STL writes). Kept sparsely in 4 KiB pages with a mask, so
 * a read's expected bytes are payload bytes patched by what was written.
 * Memory grows with the footprint of such writes only.
 */
const PAGE = 4096;

interface Page {
  readonly data: Uint8Array;
  readonly mask: Uint8Array;
}

export class WriteOverlay {
  private readonly pages = new Map<number, Page>();

  get empty(): boolean {
    return this.pages.size === 0;
  }

  /** Remember `bytes` at addr. */
  write(addr: number, bytes: Uint8Array): void {
    this.walk(addr, bytes.length, true, (page, at, i, n) => {
      page!.data.set(bytes.subarray(i, i + n), at);
      page!.mask.fill(1, at, at + n);
    });
  }

  /** Forget [addr, addr+len): it now holds payload bytes again. */
  clear(addr: number, len: number): void {
    if (this.pages.size === 0) return;
    this.walk(addr, len, false, (page, at, _i, n) => {
      page?.mask.fill(0, at, at + n);
    });
  }

  /** Patch `out` (the bytes at addr by payload) with remembered writes. */
  apply(addr: number, out: Uint8Array): void {
    if (this.pages.size === 0) return;
    this.walk(addr, out.length, false, (page, at, i, n) => {
      if (!page) return;
      for (let k = 0; k < n; k++) if (page.mask[at + k]) out[i + k] = page.data[at + k];
    });
  }

  private walk(addr: number, len: number, create: boolean, fn: (page: Page | undefined, at: number, i: number, n: number) => void): void {
    let i = 0;
    while (i < len) {
      const a = addr + i;
      const key = Math.floor(a / PAGE);
      const at = a - key * PAGE;
      const n = Math.min(len - i, PAGE - at);
      let page = this.pages.get(key);
      if (!page && create) {
        page = { data: new Uint8Array(PAGE), mask: new Uint8Array(PAGE) };
        this.pages.set(key, page);
      }
      fn(page, at, i, n);
      i += n;
    }
  }
}
