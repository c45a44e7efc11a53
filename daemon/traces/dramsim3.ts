import { syntaxError } from './errors.ts';
import { isBlankOrComment, readLines } from './lines.ts';
import { parseHexAddress, parseWholeNumber } from './numbers.ts';
import { concatFiles, type ByteProgress, type ImportOptions, type Importer, type SimRequest } from './sim-request.ts';

/**
 * DRAMsim3 traces: `ADDR OP CYCLE`, white space of any width between fields.
 * ADDR is hex (DRAMsim3 reads it with std::hex, so `0x` is optional), OP is
 * READ or WRITE in any case, or a DRAMSim2 packet type (P_MEM_RD, P_FETCH,
 * P_LOCK_RD are reads; P_MEM_WR, P_LOCK_WR, BOFF are writes). CYCLE is a
 * decimal count, float-formatted accepted. Requests are --burst-bytes long.
 * `#` starts a comment line.
 */
const WRITES = new Set(['WRITE', 'W', 'P_MEM_WR', 'P_LOCK_WR', 'BOFF']);
const READS = new Set(['READ', 'R', 'P_MEM_RD', 'P_FETCH', 'P_LOCK_RD']);

export class Dramsim3Importer implements Importer {
  readonly format = 'dramsim3' as const;
  readonly defaultKind = 'activation' as const;
  readonly notes = new Map<string, number>();

  requests(files: readonly string[], opts: ImportOptions, progress?: ByteProgress): AsyncIterable<SimRequest> {
    return concatFiles(files, progress, (f, onBytes) => this.file(f, opts, onBytes));
  }

  private async *file(file: string, opts: ImportOptions, onBytes: (n: number) => void): AsyncGenerator<SimRequest> {
    for await (const { no, text } of readLines(file, onBytes)) {
      if (isBlankOrComment(text)) continue;
      const f = text.trim().split(/\s+/);
      if (f.length !== 3) throw syntaxError(file, no, 'three fields "ADDR READ|WRITE CYCLE"', text);
      const addr = parseHexAddress(f[0]);
      if (addr === undefined) throw syntaxError(file, no, 'a hex address (0x1F00 or 1F00) as field 1', text);
      const op = f[1].toUpperCase();
      const write = WRITES.has(op);
      if (!write && !READS.has(op)) throw syntaxError(file, no, 'READ or WRITE (or P_MEM_RD/P_MEM_WR) as field 2', text);
      const cycle = parseWholeNumber(f[2]);
      if (cycle === undefined || cycle < 0) throw syntaxError(file, no, 'a cycle count >= 0 as field 3', text);
      yield { cycle, write, addr, len: opts.burstBytes };
    }
  }
}
