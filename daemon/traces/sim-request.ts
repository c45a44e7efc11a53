import type { RegionKind } from './format.ts';

/** One memory request as a simulator trace states it, before it becomes a trace op. */
export interface SimRequest {
  /** Simulator time in its own cycles; may be negative (SCALE-Sim prefetch). */
  readonly cycle: number;
  readonly write: boolean;
  /** Byte address. */
  readonly addr: number;
  /** Bytes. */
  readonly len: number;
  /** Bytes the trace itself carries for a write (DRAMSys STL), lowest address first. */
  readonly data?: Uint8Array;
  /** Requests with the same operand share a region (SCALE-Sim `layer0/ifmap`). */
  readonly operand?: string;
  readonly operandKind?: RegionKind;
}

export interface ImportOptions {
  /** Bytes per request where the format has no length; line size for coalescing and preloads. */
  readonly burstBytes: number;
  /** SCALE-Sim: bytes per element address (1 for int8/uint8 data). */
  readonly wordBytes: number;
}

/** Reports input bytes consumed by one pass over the files. */
export type ByteProgress = (bytesDone: number) => void;

/** A simulator trace format: turns its files into requests, in time order per file. */
export interface Importer {
  readonly format: 'scalesim' | 'dramsim3' | 'ramulator' | 'dramsys';
  /** Kind of window regions when requests name no operand. */
  readonly defaultKind: RegionKind;
  /** Counters of lenient fixes the last pass made (e.g. DRAMSys length/data disagreements). */
  readonly notes: Map<string, number>;
  requests(files: readonly string[], opts: ImportOptions, progress?: ByteProgress): AsyncIterable<SimRequest>;
}

/**
 * Run the files one after another, reporting bytes across all of them. Each
 * file's clock restarts at its own first cycle, so later files are shifted to
 * start one cycle after the previous file's last request: time never runs
 * backwards across files.
 */
export async function* concatFiles(
  files: readonly string[],
  progress: ByteProgress | undefined,
  one: (file: string, onBytes: (n: number) => void) => AsyncIterable<SimRequest>,
): AsyncGenerator<SimRequest> {
  let before = 0;
  let lastCycle: number | undefined;
  for (const file of files) {
    let last = 0;
    let shift: number | undefined;
    for await (const r of one(file, (n) => {
      last = n;
      progress?.(before + n);
    })) {
      shift ??= lastCycle === undefined ? 0 : lastCycle + 1 - r.cycle;
      const req = shift === 0 ? r : { ...r, cycle: r.cycle + shift };
      lastCycle = req.cycle;
      yield req;
    }
    before += last;
  }
}
