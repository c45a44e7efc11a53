import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { TrafficRow } from '../../bench/traffic.ts';
import { WIRE_CODECS, type WireCodec } from '../../../protocol/types.ts';
import { CliError, EXIT_USAGE, choiceOption, intOption } from '../io.ts';
import { createProgress } from '../progress.ts';

export function intList(name: string, min: number, max: number): (v: string) => number[] {
  const one = intOption(name, min, max);
  return (v) => {
    const list = v.split(',').map((x) => one(x.trim()));
    if (list.length === 0) throw new CliError(`${name} needs at least one value`, EXIT_USAGE);
    return list;
  };
}

function formatRows(rows: readonly TrafficRow[]): string {
  const n = (v: number): string => v.toLocaleString('en-US');
  const header = ['block B', 'buffer B/lane', 'raw bursts', 'DRAM bursts', 'DRAM/raw', 'read', 'written', 'metadata', 'footprint %', 'fills', 'write-backs', 'verified'];
  const body = rows.map((r) => [
    String(r.blockBytes),
    String(r.lineBufferBytes),
    n(r.burstsRaw),
    n(r.burstsDram),
    (r.burstsRaw > 0 ? r.burstsDram / r.burstsRaw : 1).toFixed(3),
    n(r.dramReadBursts),
    n(r.dramWriteBursts),
    n(r.metadataBursts),
    (r.footprint * 100).toFixed(1),
    n(r.fills),
    n(r.writeBacks),
    r.verified ? 'yes' : 'NO',
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]): string => c.map((x, i) => x.padStart(w[i])).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n');
}

/** `shimpack bench traffic TRACE`: DRAM traffic per block size and buffer size. */
export function registerBenchTrafficCommand(bench: Command): void {
  bench
    .command('traffic')
    .description('replay a trace once per block size and line-buffer size (a fresh daemon each) and print raw against DRAM bursts and the footprint')
    .argument('<trace>', 'a shimpack trace (protocol/trace.md), plain or gzip')
    .option('--block-size <list>', 'comma-separated block sizes in bytes', intList('--block-size', 64, 1 << 20), [256, 1024, 4096])
    .option('--line-buffer-bytes <list>', 'comma-separated line-buffer sizes per lane in bytes (0: read-modify-write per access)', intList('--line-buffer-bytes', 0, 1 << 30), [65536])
    .option('--metadata-cache-bytes <n>', 'metadata cache size (default: the daemon default)', intOption('--metadata-cache-bytes', 0, 1 << 30))
    .option('--codec <codec>', `declare every region with this codec instead of the trace's (${WIRE_CODECS.join(', ')})`, choiceOption('--codec', WIRE_CODECS))
    .option('--lanes <n>', 'lanes of each daemon', intOption('--lanes', 1, 64), Math.min(2, availableParallelism()))
    .option('--json', 'print JSON rows')
    .addHelpText(
      'after',
      '\nDRAM bursts are what the memory behind the shim moves: compressed-block fills and write-backs, raw-held\nbursts, metadata lines (docs/daemon.md, "Line buffers"). Regions that declare their own blockBytes keep it.\nExit status: 0 ok and every read verified, 1 a replay failed or a read did not verify, 2 usage error.',
    )
    .action(async (trace: string, o: { blockSize: number[]; lineBufferBytes: number[]; metadataCacheBytes?: number; codec?: WireCodec; lanes: number; json?: boolean }) => {
      const total = o.blockSize.length * o.lineBufferBytes.length;
      const progress = createProgress(total, 'bench traffic');
      // Loaded when the sweep runs (it brings the client and daemon stack).
      const { runTrafficSweep } = await import('../../bench/traffic.ts');
      const rows = await runTrafficSweep({
        trace,
        blockSizes: o.blockSize,
        lineBufferBytes: o.lineBufferBytes,
        lanes: o.lanes,
        metadataCacheBytes: o.metadataCacheBytes,
        codec: o.codec,
        onStep: (done, _t, label) => progress.update(done, label),
      }).catch((e: unknown) => {
        progress.stop();
        throw new CliError(`bench traffic: ${(e as Error).message}`);
      });
      progress.stop();
      process.stdout.write((o.json ? JSON.stringify(rows, null, 1) : formatRows(rows)) + '\n');
      if (rows.some((r) => !r.verified)) throw new CliError('bench traffic: a read did not verify (see the verified column)');
    });
}
