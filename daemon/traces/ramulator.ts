import { syntaxError } from './errors.ts';
import { isBlankOrComment, readLines } from './lines.ts';
import { parseAddress, parseDecimal, parseHexAddress } from './numbers.ts';
import { concatFiles, type ByteProgress, type ImportOptions, type Importer, type SimRequest } from './sim-request.ts';

/**
 * Ramulator 1 and 2 traces. Each line is recognised on its own, so a file may
 * be any of:
 *   DRAM mode (Ramulator 1)       `0xADDR R|W`; ADDR hex (`0x` optional), a
 *                                 missing op is a read (as Ramulator does);
 *                                 one request per cycle
 *   CPU mode (Ramulator 1, and    `N ADDR [WBADDR]`; N non-memory instructions,
 *   Ramulator 2 SimpleO3)         then a read of ADDR, then a writeback of WBADDR,
 *                                 all decimal; time advances N + 1 cycles per line
 *   LoadStoreTrace (Ramulator 2)  `LD|ST ADDR`; ADDR decimal or `0x` hex; one per cycle
 * Ops are case-insensitive. Ramulator 2's ReadWriteTrace (`R 0,1,2,100,32`)
 * holds an already decoded address vector, not an address, and is refused.
 * Requests are --burst-bytes long (a cache line).
 */
export class RamulatorImporter implements Importer {
  readonly format = 'ramulator' as const;
  readonly defaultKind = 'activation' as const;
  readonly notes = new Map<string, number>();

  requests(files: readonly string[], opts: ImportOptions, progress?: ByteProgress): AsyncIterable<SimRequest> {
    return concatFiles(files, progress, (f, onBytes) => this.file(f, opts, onBytes));
  }

  private async *file(file: string, opts: ImportOptions, onBytes: (n: number) => void): AsyncGenerator<SimRequest> {
    const len = opts.burstBytes;
    let cycle = 0;
    for await (const { no, text } of readLines(file, onBytes)) {
      if (isBlankOrComment(text)) continue;
      const f = text.trim().split(/\s+/);
      const first = f[0].toUpperCase();
      if (first === 'LD' || first === 'ST') {
        if (f.length !== 2) throw syntaxError(file, no, '"LD|ST ADDR"', text);
        const addr = parseAddress(f[1]);
        if (addr === undefined) throw syntaxError(file, no, 'a decimal or 0x-hex address after ' + first, text);
        yield { cycle: cycle++, write: first === 'ST', addr, len };
        continue;
      }
      if ((first === 'R' || first === 'W') && f.length >= 2 && f[1].includes(',')) {
        throw syntaxError(file, no, 'an address: Ramulator 2 ReadWriteTrace lines (R|W c,r,b,row,col) hold a decoded address vector and cannot be imported', text);
      }
      const op = f.length >= 2 ? f[1].toUpperCase() : undefined;
      if (f.length === 1 || (f.length === 2 && (op === 'R' || op === 'W' || op === 'READ' || op === 'WRITE'))) {
        const addr = parseHexAddress(f[0]);
        if (addr === undefined) throw syntaxError(file, no, 'a hex address (DRAM mode "0xADDR R|W")', text);
        yield { cycle: cycle++, write: op === 'W' || op === 'WRITE', addr, len };
        continue;
      }
      if (f.length === 2 || f.length === 3) {
        const n = parseDecimal(f[0]);
        const read = parseDecimal(f[1]);
        const wb = f.length === 3 ? parseDecimal(f[2]) : undefined;
        if (n === undefined || read === undefined || (f.length === 3 && wb === undefined)) {
          throw syntaxError(file, no, 'CPU-mode "N ADDR [WBADDR]" with decimal numbers, or DRAM-mode "0xADDR R|W"', text);
        }
        cycle += n + 1;
        yield { cycle, write: false, addr: read, len };
        if (wb !== undefined) yield { cycle, write: true, addr: wb, len };
        continue;
      }
      throw syntaxError(file, no, '"0xADDR R|W", "N ADDR [WBADDR]" or "LD|ST ADDR"', text);
    }
  }
}
