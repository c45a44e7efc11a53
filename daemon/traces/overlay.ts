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

  /** The remembered bytes of [addr, addr+len) and which of them are known; undefined when none is. */
  snapshot(addr: number, len: number): { data: Uint8Array; known: Uint8Array } | undefined {
    if (this.pages.size === 0) return undefined;
    const data = new Uint8Array(len);
    const known = new Uint8Array(len);
    let any = false;
    this.walk(addr, len, false, (page, at, i, n) => {
      if (!page) return;
      data.set(page.data.subarray(at, at + n), i);
      known.set(page.mask.subarray(at, at + n), i);
      any = true;
    });
    return any ? { data, known } : undefined;
  }

  /** Whether `got` (the bytes at addr) agrees with every remembered byte in its range. */
  matches(addr: number, got: Uint8Array): boolean {
    if (this.pages.size === 0) return true;
    let ok = true;
    this.walk(addr, got.length, false, (page, at, i, n) => {
      if (!page || !ok) return;
      for (let k = 0; k < n; k++) {
        if (page.mask[at + k] && got[i + k] !== page.data[at + k]) {
          ok = false;
          return;
        }
      }
    });
    return ok;
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
