import { basename, dirname } from 'node:path';
import { TraceError, syntaxError } from './errors.ts';
import type { RegionKind } from './format.ts';
import { isBlankOrComment, readLines } from './lines.ts';
import { parseWholeNumber } from './numbers.ts';
import { concatFiles, type ByteProgress, type ImportOptions, type Importer, type SimRequest } from './sim-request.ts';

/**
 * SCALE-Sim DRAM traces (v1 to v3): `CYCLE,ADDR,ADDR,...`, one row per cycle.
 * Numbers may be float-formatted (`-3277.0`), cycles may be negative
 * (prefetch), `-1` pads empty slots, v1 ends rows with `, ` and spaces may
 * follow commas. Addresses are element indices (the per-operand offsets of
 * scale.cfg are already added); element i is byte i * --word-bytes.
 *
 * The operand comes from the file name: IFMAP (activation, read), FILTER
 * (weight, read), OFMAP (activation, written). The region is named
 * `<layer dir>/<operand>` when the file sits in a `layerN` folder.
 * Each row's elements are coalesced into the --burst-bytes lines they fall in
 * (one request per distinct line, in first-touch order), since a memory
 * controller moves lines, not single bytes. Files in the same folder (one
 * layer's IFMAP, FILTER and OFMAP) are merged by cycle; folders follow one
 * another in command-line order, each starting after the previous one ends.
 */
const OPERANDS: readonly { re: RegExp; name: string; kind: RegionKind; write: boolean }[] = [
  { re: /IFMAP/i, name: 'ifmap', kind: 'activation', write: false },
  { re: /FILTER/i, name: 'filter', kind: 'weight', write: false },
  { re: /OFMAP/i, name: 'ofmap', kind: 'activation', write: true },
];

interface Head {
  req: SimRequest;
  it: AsyncIterator<SimRequest>;
  order: number;
}

export class ScalesimImporter implements Importer {
  readonly format = 'scalesim' as const;
  readonly defaultKind = 'activation' as const;
  readonly notes = new Map<string, number>();

  requests(files: readonly string[], opts: ImportOptions, progress?: ByteProgress): AsyncIterable<SimRequest> {
    const groups = new Map<string, string[]>();
    for (const f of files) {
      const d = dirname(f);
      const g = groups.get(d);
      if (g) g.push(f);
      else groups.set(d, [f]);
    }
    const dirs = [...groups.keys()];
    // each folder acts as one "file" of the concatenation
    return concatFiles(dirs, progress, (d, onBytes) => this.layer(groups.get(d)!, opts, onBytes));
  }

  private async *layer(files: readonly string[], opts: ImportOptions, progress: ByteProgress): AsyncGenerator<SimRequest> {
    if (opts.burstBytes % opts.wordBytes !== 0) {
      throw new TraceError('E_IMPORT_INPUT', `--burst-bytes ${opts.burstBytes} must be a multiple of --word-bytes ${opts.wordBytes}`);
    }
    const done = new Array<number>(files.length).fill(0);
    const report = (): void => progress(done.reduce((a, b) => a + b, 0));
    const heads: Head[] = [];
    for (let i = 0; i < files.length; i++) {
      const it = this.file(files[i], opts, (n) => {
        done[i] = n;
        report();
      })[Symbol.asyncIterator]();
      const first = await it.next();
      if (!first.done) heads.push({ req: first.value, it, order: i });
    }
    // k-way merge by cycle; ties keep the command-line order of the files
    while (heads.length > 0) {
      let best = 0;
      for (let i = 1; i < heads.length; i++) {
        const a = heads[i].req.cycle;
        const b = heads[best].req.cycle;
        if (a < b || (a === b && heads[i].order < heads[best].order)) best = i;
      }
      const h = heads[best];
      yield h.req;
      const next = await h.it.next();
      if (next.done) heads.splice(best, 1);
      else h.req = next.value;
    }
  }

  private async *file(file: string, opts: ImportOptions, onBytes: (n: number) => void): AsyncGenerator<SimRequest> {
    const base = basename(file);
    const operand = OPERANDS.find((o) => o.re.test(base));
    if (!operand) throw new TraceError('E_IMPORT_INPUT', `${file}: cannot tell the operand: a SCALE-Sim trace file name contains IFMAP, FILTER or OFMAP`);
    const layer = basename(dirname(file));
    const name = /^layer\d+$/i.test(layer) ? `${layer}/${operand.name}` : operand.name;
    const { burstBytes, wordBytes } = opts;
    const lines: number[] = [];
    for await (const { no, text } of readLines(file, onBytes)) {
      if (isBlankOrComment(text)) continue;
      const fields = text.split(',');
      if (fields.length > 1 && fields[fields.length - 1].trim() === '') fields.pop(); // v1 trailing comma
      if (fields.length < 2) throw syntaxError(file, no, '"CYCLE,ADDR[,ADDR...]"', text);
      const cycle = parseWholeNumber(fields[0]);
      if (cycle === undefined) throw syntaxError(file, no, 'a whole-number cycle (e.g. -3277.0) as field 1', text);
      lines.length = 0;
      for (let i = 1; i < fields.length; i++) {
        const a = parseWholeNumber(fields[i]);
        if (a === undefined || a < -1) throw syntaxError(file, no, `an element address >= 0 or -1 padding as field ${i + 1}`, text);
        if (a === -1) continue;
        const line = Math.floor((a * wordBytes) / burstBytes);
        if (!lines.includes(line)) lines.push(line);
      }
      for (const line of lines) {
        yield { cycle, write: operand.write, addr: line * burstBytes, len: burstBytes, operand: name, operandKind: operand.kind };
      }
    }
  }
}
