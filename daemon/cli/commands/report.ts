import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { WIRE_CODECS, type WireCodec } from '../../../protocol/types.ts';
import { SHADOW_CODECS, parseShadowList } from '../../config.ts';
import { ReportError } from '../../report/errors.ts';
import { parseMemoryChoice, type MemoryChoice } from '../../report/memory-list.ts';
import { CliError, EXIT_USAGE, choiceOption, intOption, writeOutput } from '../io.ts';
import { createProgress, type Progress } from '../progress.ts';
import { intList } from './bench-traffic.ts';
import { asCli } from './trace.ts';

interface ReportCliOptions {
  output: string;
  blockSize: number;
  lineBufferBytes: number;
  lanes: number;
  codec?: WireCodec;
  memory?: MemoryChoice[];
  /** A list, absent (the default list) or false (--no-shadow). */
  shadow?: string[] | false;
  shadowSample: number;
  cacheDir?: string;
  sweep?: boolean;
  sweepBlockSizes?: number[];
  sweepLineBufferBytes?: number[];
  dramsim3?: string;
  dramConfig?: string[];
  title?: string;
  quiet?: boolean;
}

const list = (name: string) => (v: string): string[] => {
  const items = v.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (items.length === 0) throw new CliError(`${name} needs at least one value`, EXIT_USAGE);
  return items;
};

function memoryList(v: string): MemoryChoice[] {
  try {
    return list('--memory')(v).map(parseMemoryChoice);
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(e.message.startsWith('--memory') ? e.message : `--memory: ${e.message}`, EXIT_USAGE);
    throw e;
  }
}

function shadowList(v: string): string[] {
  try {
    const codecs = parseShadowList(v);
    if (codecs.length === 0) throw new Error('--shadow needs at least one codec (or --no-shadow)');
    return codecs;
  } catch (e) {
    throw new CliError(`--${(e as Error).message.replace(/^-*/, '')}`, EXIT_USAGE);
  }
}

const DEFAULT_SHADOW = ['apack', 'ebpc', 'scc', 'zvc'];
const DEFAULT_MEMORY = ['hbm2', 'ddr4'];

/**
 * `shimpack report TRACE -o report.html`: replay a trace through an embedded
 * daemon (and, when asked, sweep, DRAMsim3) and write one self-contained
 * HTML page with the charts (docs/report.md).
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('replay a trace through an embedded daemon and write one self-contained HTML page: raw against DRAM bursts per layer and region, footprint per codec, energy and time per memory type, the block-size and buffer sweep, DRAMsim3 results')
    .argument('<trace>', 'a shimpack trace (protocol/trace.md), plain or gzip')
    .requiredOption('-o, --output <file>', 'the HTML page to write (- for standard output)')
    .option('--block-size <n>', 'bytes per coded block for regions that do not declare their own', intOption('--block-size', 64, 1 << 20), 4096)
    .option('--line-buffer-bytes <n>', 'line buffer per lane in bytes (0: read-modify-write per access)', intOption('--line-buffer-bytes', 0, 1 << 30), 65536)
    .option('--lanes <n>', 'lanes of the embedded daemon', intOption('--lanes', 1, 64), Math.min(2, availableParallelism()))
    .option('--codec <codec>', `declare every region with this codec instead of the trace's (${WIRE_CODECS.join(', ')})`, choiceOption('--codec', WIRE_CODECS))
    .option('--memory <list>', 'memory types for the energy and time section, comma-separated: hbm2, hbm3, ddr4, ddr5, lpddr4, lpddr5, gddr6, or custom:PJ_PER_BIT:GB_PER_S (default: hbm2,ddr4)', memoryList)
    .option('--shadow <codecs>', `codecs the lanes also code sampled blocks with, for the footprint per codec: ${SHADOW_CODECS.join(', ')} (default: ${DEFAULT_SHADOW.join(',')})`, shadowList)
    .option('--no-shadow', 'no shadow coding (no footprint per codec)')
    .option('--shadow-sample <n>', 'shadow-code one block in N', intOption('--shadow-sample', 1, 1_000_000), 1)
    .option('--sweep', 'also replay once per block size and line-buffer size (as bench traffic does)')
    .option('--sweep-block-sizes <list>', 'block sizes of the sweep, comma-separated bytes (default: 256,1024,4096)', intList('--sweep-block-sizes', 64, 1 << 20))
    .option('--sweep-line-buffer-bytes <list>', 'line-buffer sizes per lane of the sweep, comma-separated bytes (default: 0,65536)', intList('--sweep-line-buffer-bytes', 0, 1 << 30))
    .option('--dramsim3 <dir>', 'DRAMsim3 source folder: run the raw and the compressed streams through it (with --dram-config)')
    .option('--dram-config <names>', 'DRAMsim3 configuration names, comma-separated (e.g. HBM2_8Gb_x128,DDR4_8Gb_x8_3200)', list('--dram-config'))
    .option('--cache-dir <dir>', 'where DRAMsim3 is built (default: $SHIMPACK_CACHE_DIR, else ~/.cache/shimpack)')
    .option('--title <text>', 'the page title (default: the trace\'s model or file name)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nThe page opens offline: Chart.js (from node_modules) and the data are inlined. Sections this run has\n' +
        'no data for (no --sweep, no --dramsim3, --no-shadow) say so instead of showing numbers.\n' +
        'Examples:\n' +
        '  shimpack trace gen --model faceapi-tiny-face-detector -o tiny.trace.gz\n' +
        '  shimpack report tiny.trace.gz -o tiny.html\n' +
        '  shimpack report tiny.trace.gz -o tiny.html --sweep --sweep-block-sizes 256,1024,4096 --memory hbm2,ddr4,lpddr4',
    )
    .action(async (trace: string, o: ReportCliOptions) =>
      asCli(async () => {
        if ((o.dramsim3 === undefined) !== (o.dramConfig === undefined)) {
          throw new CliError('--dramsim3 DIR and --dram-config NAME go together', EXIT_USAGE);
        }
        if (o.dramsim3 !== undefined && !(existsSync(o.dramsim3) && statSync(o.dramsim3).isDirectory())) {
          throw new CliError(`--dramsim3: ${o.dramsim3} is not a folder`);
        }
        // Fail now rather than after minutes of replay.
        if (o.output !== '-' && !existsSync(dirname(resolve(o.output)))) throw new CliError(`cannot write ${o.output}: its folder does not exist`);
        // Giving the sweep's lists asks for the sweep.
        const sweep = o.sweep === true || o.sweepBlockSizes !== undefined || o.sweepLineBufferBytes !== undefined;
        let bar: Progress | undefined;
        let step = '';
        const onStep = (label: string, done: number, total: number): void => {
          if (o.quiet) return;
          const name = label.split(':')[0];
          if (total === 0) {
            // Steps without a count (the DRAMsim3 build and runs): one line each.
            bar?.stop();
            bar = undefined;
            step = '';
            process.stderr.write(`report ${label}\n`);
            return;
          }
          if (name !== step) {
            bar?.stop();
            step = name;
            bar = createProgress(total, `report ${name}`);
          }
          bar?.update(done, label.includes(':') ? label.slice(label.indexOf(':') + 2) : '');
        };
        try {
          // Loaded when the command runs: the client and daemon stack.
          const { collectReport } = await import('../../report/collect.ts');
          const { renderReport } = await import('../../report/render.ts');
          const { loadAssets } = await import('../../report/assets.ts');
          const assets = loadAssets();
          const data = await collectReport({
            trace,
            blockBytes: o.blockSize,
            lineBufferBytes: o.lineBufferBytes,
            lanes: o.lanes,
            codec: o.codec,
            memory: o.memory ?? DEFAULT_MEMORY.map(parseMemoryChoice),
            shadow: o.shadow === false ? undefined : { codecs: o.shadow ?? DEFAULT_SHADOW, sample: o.shadowSample },
            sweep: sweep ? { blockSizes: o.sweepBlockSizes ?? [256, 1024, 4096], lineBufferBytes: o.sweepLineBufferBytes ?? [0, 65536] } : undefined,
            dramsim3: o.dramsim3 !== undefined && o.dramConfig !== undefined ? { dir: o.dramsim3, configs: o.dramConfig, cacheDir: o.cacheDir } : undefined,
            title: o.title,
            onStep,
          });
          bar?.stop();
          const html = renderReport(data, assets);
          await writeOutput(o.output, new TextEncoder().encode(html));
          if (o.output !== '-' && !o.quiet) {
            const missing = (['shadow', 'energy', 'sweep', 'dramsim3'] as const).filter((k) => data[k].state === 'absent');
            process.stderr.write(`report: wrote ${o.output} (${(html.length / 1024).toFixed(0)} KiB)${missing.length > 0 ? `; without data: ${missing.join(', ')}` : ''}\n`);
          }
        } catch (e) {
          bar?.stop();
          if (e instanceof ReportError) throw new CliError(`${e.code}: ${e.message}`);
          throw e;
        }
      }),
    );
}
