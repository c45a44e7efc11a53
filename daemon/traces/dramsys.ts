import { syntaxError } from './errors.ts';
import { isBlankOrComment, readLines } from './lines.ts';
import { parseHexAddress } from './numbers.ts';
import { concatFiles, type ByteProgress, type ImportOptions, type Importer, type SimRequest } from './sim-request.ts';

/**
 * DRAMSys STL traces: `CYCLE: [(LEN)] read|write 0xADDR [0xDATA]`, tabs or
 * spaces, `#` comment lines. CYCLE is absolute, or relative to the previous
 * line in `.rstl` files. The command is matched in any case (DRAMSys wants
 * lower case; users write `Write`). LEN is in bytes, --burst-bytes when absent.
 *
 * DATA is one hex number whose last two digits are the byte at the lowest
 * address (little-endian, per ../shared/traces/README.md). When a write
 * carries data, the data is what is written and its byte count is the
 * request length; a LEN that disagrees is noted (`len-differs-from-data`)
 * rather than refused, because real files (pct.stl: `(16)` with 64 bytes) do it.
 */
const LINE = /^\s*(\d+)\s*:\s*(?:\(\s*(\d+)\s*\)\s*)?([A-Za-z]+)\s+(\S+)(?:\s+(\S+))?\s*$/;

export class DramsysImporter implements Importer {
  readonly format = 'dramsys' as const;
  readonly defaultKind = 'activation' as const;
  readonly notes = new Map<string, number>();

  requests(files: readonly string[], opts: ImportOptions, progress?: ByteProgress): AsyncIterable<SimRequest> {
    this.notes.clear();
    return concatFiles(files, progress, (f, onBytes) => this.file(f, opts, onBytes));
  }

  private note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }

  private async *file(file: string, opts: ImportOptions, onBytes: (n: number) => void): AsyncGenerator<SimRequest> {
    const relative = /\.rstl(\.gz)?$/i.test(file);
    let clock = 0;
    for await (const { no, text } of readLines(file, onBytes)) {
      if (isBlankOrComment(text)) continue;
      const m = LINE.exec(text);
      if (!m) throw syntaxError(file, no, '"CYCLE: [(LEN)] read|write 0xADDR [0xDATA]"', text);
      const [, cycleText, lenText, cmd, addrText, dataText] = m;
      const command = cmd.toLowerCase();
      if (command !== 'read' && command !== 'write') throw syntaxError(file, no, 'the command read or write', text);
      const addr = parseHexAddress(addrText);
      if (addr === undefined) throw syntaxError(file, no, 'a hex address (0x400140)', text);
      let len = lenText !== undefined ? Number(lenText) : opts.burstBytes;
      if (len === 0) throw syntaxError(file, no, 'a length (LEN) > 0', text);
      let data: Uint8Array | undefined;
      if (dataText !== undefined) {
        if (command !== 'write') throw syntaxError(file, no, 'no data after a read', text);
        data = parseLittleEndianHex(dataText);
        if (!data) throw syntaxError(file, no, 'data as 0x followed by an even number of hex digits', text);
        if (lenText !== undefined && data.length !== len) this.note('len-differs-from-data');
        len = data.length;
      }
      const c = Number(cycleText);
      clock = relative ? clock + c : c;
      yield data ? { cycle: clock, write: true, addr, len, data } : { cycle: clock, write: command === 'write', addr, len };
    }
  }
}

/** `0x` + 2n hex digits → n bytes, the last two digits being byte 0. */
export function parseLittleEndianHex(s: string): Uint8Array | undefined {
  if (!/^0[xX](?:[0-9a-fA-F]{2})+$/.test(s)) return undefined;
  const digits = s.length - 2;
  const n = digits / 2;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const at = s.length - 2 * (i + 1);
    out[i] = parseInt(s.slice(at, at + 2), 16);
  }
  return out;
}
