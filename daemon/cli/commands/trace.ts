import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { FLOAT_FORMATS, type FloatFormat } from '../../dataset/float-convert.ts';
import { DEFAULT_DATA_DIR } from '../../dataset/manifest.ts';
import { TraceError } from '../../traces/errors.ts';
import { REGION_CODECS, REGION_KINDS, type RegionCodec, type RegionKind } from '../../traces/format.ts';
import { IMPORT_FORMATS, type ImportFormat } from '../../traces/import-formats.ts';
import type { PayloadSource } from '../../traces/payload.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE, choiceOption, intOption } from '../io.ts';
import { createProgress } from '../progress.ts';

/**
 * `shimpack trace gen|import|info`: make shimpack traces (protocol/trace.md)
 * from a data set model or from simulator traces, and summarise them.
 */

const USAGE_CODES = new Set(['E_SYNTHETIC_SPEC']);

/** Trace errors become one-line CLI errors: usage errors exit 2, the rest 1. */
export async function asCli<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(`${e.code}: ${e.message}`, USAGE_CODES.has(e.code) ? EXIT_USAGE : EXIT_BAD_INPUT);
    throw e;
  }
}

const powerOfTwo = (name: string, min: number, max: number) => (v: string): number => {
  const n = intOption(name, min, max)(v);
  if ((n & (n - 1)) !== 0) throw new CliError(`${name} must be a power of two, got ${n}`, EXIT_USAGE);
  return n;
};

const positiveNumber = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new CliError(`${name} must be a number > 0, got "${v}"`, EXIT_USAGE);
  return n;
};

/** --from: an import format, or ramulator1 / ramulator2 (one importer reads both; daemon/traces/ramulator.ts). */
function parseImportFormat(v: string): ImportFormat {
  const lower = v.toLowerCase();
  if (lower === 'ramulator1' || lower === 'ramulator2') return 'ramulator';
  return choiceOption('--from', [...IMPORT_FORMATS, 'ramulator1', 'ramulator2'] as const)(v) as ImportFormat;
}

const mib = (n: number): string => `${(n / 1048576).toFixed(2)} MiB`;

interface GenOptions {
  data: string;
  model: string;
  burstBytes: number;
  weights: 'int8' | 'native';
  image?: string;
  bandwidth: number;
  codec?: RegionCodec;
  format?: FloatFormat;
  output: string;
  gzip?: boolean;
  quiet?: boolean;
}

interface ImportOptions {
  from: ImportFormat;
  output: string;
  data?: string;
  model?: string;
  synthetic?: string;
  burstBytes: number;
  wordBytes: number;
  clockMhz: number;
  window: number;
  kind?: RegionKind;
  maxRequests?: number;
  gzip?: boolean;
  quiet?: boolean;
}

export function registerTraceCommands(program: Command): void {
  const trace = program.command('trace').description('make and inspect shimpack traces (protocol/trace.md)');
  trace.exitOverride();

  trace
    .command('gen')
    .description('an inference trace of one model of a data set: its real weights and activations, layer by layer, in bursts')
    .requiredOption('--model <id>', 'model id in the data set manifest')
    .requiredOption('-o, --output <file>', 'output trace (.gz: gzip-compressed)')
    .option('--data <dir>', 'data set folder (manifest.json)', DEFAULT_DATA_DIR)
    .option('--burst-bytes <n>', 'bytes per burst', intOption('--burst-bytes', 1, 1 << 20), 64)
    .option('--weights <which>', 'weight files: int8 (symmetric) or native (the package\'s uint8 codes where present)', choiceOption('--weights', ['int8', 'native'] as const), 'int8')
    .option('--image <id>', 'activations of this input image (default: the model\'s first)')
    .option('--bandwidth <GB/s>', 'modelled DRAM bandwidth that spaces the bursts in time', positiveNumber('--bandwidth'), 16)
    .option('--codec <codec>', `codec every region asks for: ${REGION_CODECS.join(', ')} (default: none, the daemon chooses by kind)`, choiceOption('--codec', REGION_CODECS))
    .option('--format <format>', `float data sets (../shared/data-float): the format to convert the float32 tensors to: ${Object.keys(FLOAT_FORMATS).join(', ')} (bfloat16, float16, float8_e4m3, float8_e5m2 regions)`, choiceOption('--format', Object.keys(FLOAT_FORMATS) as FloatFormat[]))
    .option('--gzip', 'gzip the output even without a .gz name')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nA float data set (manifest dtype float32, e.g. ../shared/data-float) needs --format: every tensor\n' +
        'is converted by the data set\'s rules (round to nearest even; fp8 with a per-tensor scale) and its\n' +
        'region gets that float dtype (the daemon then picks fpack unless --codec says otherwise).\n' +
        '\nEvery region record carries its tensor\'s shape and layout, so the daemon knows its stride\n' +
        '(scc needs it; other codecs ignore it).\n' +
        '\nExamples:\n' +
        '  shimpack trace gen --data ../shared/data --model faceapi-tiny-face-detector -o tiny.trace.gz\n' +
        '  shimpack trace gen --data ../shared/data-float --format bf16 --model faceapi-tiny-face-detector -o tiny-bf16.trace.gz',
    )
    .action(async (o: GenOptions) =>
      asCli(async () => {
        let bar: ReturnType<typeof createProgress> | undefined;
        // Loaded on use, as every command's working parts: they would cost the start of all the others.
        const { generateModelTrace } = await import('../../traces/model-gen.ts');
        const s = await generateModelTrace({
          dataDir: o.data,
          model: o.model,
          out: o.output,
          burstBytes: o.burstBytes,
          weights: o.weights,
          image: o.image,
          bandwidth: o.bandwidth,
          codec: o.codec,
          format: o.format,
          gzip: o.gzip || undefined,
          progress: (done, total) => {
            bar ??= createProgress(total, 'trace gen', !o.quiet);
            bar.update(done);
          },
        });
        bar?.stop();
        process.stdout.write(
          `${o.output}: ${s.regions} regions, ${s.layers} layers, ${s.ops} ops, writes ${mib(s.writeBytes)}, reads ${mib(s.readBytes)}, ${(s.lastT / 1e6).toFixed(3)} ms of traffic\n`,
        );
      }),
    );

  trace
    .command('import')
    .description('convert simulator traces (SCALE-Sim, DRAMsim3, Ramulator 1/2, DRAMSys STL) into a shimpack trace')
    .argument('<files...>', 'simulator trace files (plain or gzip)')
    .requiredOption('--from <format>', `input format: ${IMPORT_FORMATS.join(', ')} (ramulator reads Ramulator 1 and 2 traces; ramulator1 and ramulator2 are accepted for it)`, parseImportFormat)
    .requiredOption('-o, --output <file>', 'output trace (.gz: gzip-compressed)')
    .option('--data <dir>', 'take burst data from this data set\'s tensors, by region')
    .option('--model <id>', 'with --data: only this model\'s tensors')
    .option('--synthetic <spec>', 'take burst data from a distribution: zeros, uniform, relu[:sparsity=P,mean=M], gaussian[:sigma=S,mean=U]; all take seed=N (default relu:sparsity=0.5)')
    .option('--burst-bytes <n>', 'request size where the format has none; line size for coalescing and preloads', powerOfTwo('--burst-bytes', 1, 4096), 64)
    .option('--word-bytes <n>', 'SCALE-Sim: bytes per element address', powerOfTwo('--word-bytes', 1, 8), 1)
    .option('--clock-mhz <mhz>', 'simulator clock: one cycle is 1000/mhz ns', positiveNumber('--clock-mhz'), 1000)
    .option('--window <bytes>', 'size of the aligned address windows that become regions', powerOfTwo('--window', 4096, 2 ** 30), 1 << 20)
    .option('--kind <kind>', 'kind of window regions: weight, activation or other (default: activation; SCALE-Sim FILTER traces are weight)', choiceOption('--kind', REGION_KINDS))
    .option('--max-requests <n>', 'import only the first N requests', intOption('--max-requests', 1, Number.MAX_SAFE_INTEGER))
    .option('--gzip', 'gzip the output even without a .gz name')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  shimpack trace import --from scalesim layer0/IFMAP_DRAM_TRACE.csv layer0/FILTER_DRAM_TRACE.csv layer0/OFMAP_DRAM_TRACE.csv --data ../shared/data -o l0.trace.gz\n' +
        '  shimpack trace import --from dramsim3 example.trace --synthetic relu:sparsity=0.6,seed=7 -o dramsim3.trace.gz',
    )
    .action(async (files: string[], o: ImportOptions) =>
      asCli(async () => {
        if (o.data !== undefined && o.synthetic !== undefined) throw new CliError('give --data or --synthetic, not both', EXIT_USAGE);
        if (o.model !== undefined && o.data === undefined) throw new CliError('--model needs --data', EXIT_USAGE);
        let payload: PayloadSource;
        if (o.data !== undefined) {
          const { DatasetPayload } = await import('../../traces/dataset-payload.ts');
          payload = new DatasetPayload(o.data, { model: o.model });
        } else {
          const { SyntheticPayload, parseSyntheticSpec } = await import('../../traces/synthetic.ts');
          payload = new SyntheticPayload(parseSyntheticSpec(o.synthetic ?? 'relu:sparsity=0.5'));
        }
        let total = 0;
        for (const f of files) total += await stat(f).then((s) => s.size, () => 0);
        const bar = createProgress(2 * total, `trace import (${o.from})`, !o.quiet);
        const { importTrace } = await import('../../traces/import-trace.ts');
        const s = await importTrace({
          format: o.from,
          files,
          out: o.output,
          payload,
          gzip: o.gzip || undefined,
          burstBytes: o.burstBytes,
          wordBytes: o.wordBytes,
          clockMhz: o.clockMhz,
          window: o.window,
          kind: o.kind,
          maxRequests: o.maxRequests,
          progress: (pass, done) => bar.update(pass === 1 ? done : total + done, pass === 1 ? 'scan' : 'write'),
        });
        bar.stop();
        const notes = Object.entries(s.notes).map(([k, v]) => `${k} x${v}`);
        const lines = [
          `${o.output}: ${s.requests} requests -> ${s.ops} ops (${s.setupOps} preload writes), ${s.regions.length} regions, ` +
            `writes ${mib(s.writeBytes)}, reads ${mib(s.readBytes)}, ${(s.lastT / 1e6).toFixed(3)} ms of traffic` +
            `${notes.length ? `; notes: ${notes.join(', ')}` : ''}`,
          ...s.regions.map((r) => `  region ${r.name} 0x${r.base.toString(16)} +${r.size} ${r.kind} ${r.dtype} <- ${r.origin}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  trace
    .command('info')
    .description('summarise a trace: header, regions, op counts, bytes, time span, consistency checks')
    .argument('<file>', 'a shimpack trace (plain or gzip)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, o: { json?: boolean }) =>
      asCli(async () => {
        const { traceInfo } = await import('../../traces/info.ts');
        const i = await traceInfo(file);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(i, null, 2)}\n`);
          return;
        }
        const { type: _t, format, version, created, source, ...meta } = i.header;
        const lines = [
          `${file}: ${format} v${version}, ${mib(i.fileBytes)} on disk, made ${created} by ${source}`,
          `  meta: ${JSON.stringify(meta)}`,
          `  regions: ${i.regions.length}`,
          ...i.regions.slice(0, 20).map((r) => `    ${r.name} 0x${r.base.toString(16)} +${r.size} ${r.kind} ${r.dtype}${r.codec ? ` ${r.codec}` : ''}${r.stride !== undefined ? ` stride ${r.stride}` : ''}${r.shape && r.layout ? ` ${r.layout} [${r.shape.join(',')}]` : ''}`),
          ...(i.regions.length > 20 ? [`    ... ${i.regions.length - 20} more`] : []),
          `  ops: ${i.ops.write} writes (${mib(i.writeBytes)}), ${i.ops.read} reads (${mib(i.readBytes)}, ${i.readsWithCrc} with CRC), ${i.ops.fence} fences, ${i.ops.free} frees`,
          `  connections: ${i.connections}, t ${i.firstT}..${i.lastT} ns${i.backwardsT ? `, ${i.backwardsT} ops going back in time` : ''}`,
          `  ops outside declared regions: ${i.outsideRegions}; end record: ${i.endRecord}; write data CRC-32: ${i.writeDataCrc.toString(16).padStart(8, '0')}`,
          ...(i.regionConflicts ? [`  regions declared over a live one (same name or overlapping bytes): ${i.regionConflicts}`] : []),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
