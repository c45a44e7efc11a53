import type { Command } from 'commander';
import { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../../codecs/block-size.ts';
import { CODEC_NAMES } from '../../codecs/codec.ts';
import type { GroupSummary, RatioReport } from '../../bench/ratio.ts';
import type { SpeedClock, SpeedReport } from '../../bench/speed.ts';
import { DEFAULT_DATA_DIR, DatasetError, loadDataset, type Dataset } from '../../dataset/manifest.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FLOAT_FORMATS, isFloatFormat, type FloatFormat } from '../../dataset/float-convert.ts';
import { CliError, EXIT_USAGE, intOption } from '../io.ts';
import { createProgress } from '../progress.ts';

const pct = (x: number | undefined): string => (x === undefined ? '-' : (x * 100).toFixed(1));

/** `--format bf16,fp16` or `all`: the float formats a float32 data set is read as. */
function parseFormats(v: string): FloatFormat[] {
  if (v === 'all') return Object.keys(FLOAT_FORMATS) as FloatFormat[];
  const list = v.split(',').map((x) => x.trim());
  for (const f of list) if (!isFloatFormat(f)) throw new CliError(`--format takes all or a comma-separated list of ${Object.keys(FLOAT_FORMATS).join(', ')}; got "${f}"`, EXIT_USAGE);
  return list as FloatFormat[];
}

function isFloatSet(dir: string): boolean {
  try {
    const m = JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as { tensors?: { dtype?: string }[] };
    return Array.isArray(m.tensors) && m.tensors.some((t) => t.dtype === 'float32');
  } catch {
    return false; // loadDataset reports it
  }
}

function dataset(dir: string, format?: string) {
  try {
    // A float32 set is read in every format unless --format narrows it; an 8-bit set takes none.
    const formats = format !== undefined ? parseFormats(format) : isFloatSet(dir) ? parseFormats('all') : undefined;
    return loadDataset(dir, formats);
  } catch (e) {
    if (e instanceof DatasetError) throw new CliError(e.message);
    throw e;
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatRatioReport(r: RatioReport): string {
  const ids = r.columns.map((c) => c.id);
  const groupRows = (gs: GroupSummary[], pick: 'weighted' | 'mean') =>
    gs.map((g) => [g.group, String(g.tensors), (g.bytes / 1e6).toFixed(2), ...ids.map((id) => pct(g[pick][id]))]);
  const header = ['group', 'tensors', 'MB', ...ids];
  const out = [
    `Footprint in % of the raw size (lower is better), ${r.blockSize}-byte blocks, all metadata included.`,
    `Columns: ${r.columns.map((c) => `${c.id} = ${c.label}`).join('; ')}.`,
    '',
    'Byte-weighted (sum stored / sum raw):',
    table(header, [...groupRows(r.classes, 'weighted'), ...groupRows(r.kinds, 'weighted')]),
    '',
    'Unweighted mean over tensors:',
    table(header, [...groupRows(r.classes, 'mean'), ...groupRows(r.kinds, 'mean')]),
    '',
    `APack paper (averages over its models): weights ${pct(r.paper.weights)} %, activations ${pct(r.paper.activations)} %.`,
  ];
  const gaps = r.classes.filter((g) => g.weighted.apack !== undefined && g.weighted.h0 !== undefined);
  if (gaps.length) {
    out.push('APack above the order-0 bound (byte-weighted): ' +
      gaps.map((g) => `${g.group} +${((g.weighted.apack - g.weighted.h0) * 100).toFixed(2)} pt (${(((g.weighted.apack / g.weighted.h0) - 1) * 100).toFixed(1)} % relative)`).join('; ') + '.');
  }
  const dp = r.classes.filter((g) => g.weighted.apack !== undefined && g.weighted['apack-heuristic'] !== undefined);
  if (dp.length) {
    out.push('DP table gain over the paper heuristic (byte-weighted): ' +
      dp.map((g) => `${g.group} ${((g.weighted['apack-heuristic'] - g.weighted.apack) * 100).toFixed(2)} pt`).join('; ') + '.');
  }
  const fp = r.classes.filter((g) => g.weighted.fpack !== undefined && g.weighted['brotli-11'] !== undefined);
  if (fp.length) {
    out.push('fpack against brotli-11' + (fp.some((g) => g.weighted['zstd-19'] !== undefined) ? ' and zstd-19' : '') + ' at the same block size (byte-weighted): ' +
      fp.map((g) => `${g.group} ${(g.weighted.fpack * 100).toFixed(2)} % vs ${(g.weighted['brotli-11'] * 100).toFixed(2)} %${g.weighted['zstd-19'] !== undefined ? ` / ${(g.weighted['zstd-19'] * 100).toFixed(2)} %` : ''}`).join('; ') + '.');
  }
  const ctx = r.classes.filter((g) => g.weighted.scc !== undefined && g.weighted['brotli-11'] !== undefined);
  if (ctx.length) {
    out.push('SCC against brotli-11 at the same block size (byte-weighted): ' +
      ctx.map((g) => `${g.group} ${(g.weighted.scc * 100).toFixed(2)} % vs ${(g.weighted['brotli-11'] * 100).toFixed(2)} % (${((g.weighted.scc - g.weighted['brotli-11']) * 100).toFixed(2)} pt)`).join('; ') + '.');
  }
  return out.join('\n');
}

export function formatSpeedReport(r: SpeedReport): string {
  return [
    `Single-core block throughput, ${r.blockSize}-byte blocks, ${r.tensors} tensors (${(r.corpusBytes / 1e6).toFixed(1)} MB); ${r.note}.`,
    table(
      ['codec', 'encode MB/s', 'decode MB/s', 'footprint %', 'blocks'],
      r.rows.map((x) => [x.codec, x.encodeMBps.toFixed(1), x.decodeMBps.toFixed(1), pct(x.footprint), String(x.blocks)]),
    ),
  ].join('\n');
}

/** --seconds: a number of seconds from 0 to 600, decimals allowed. */
/** bench speed --clock: what a measurement's time is. */
function clockOption(v: string): SpeedClock {
  if (v !== 'wall' && v !== 'cpu') throw new CliError(`--clock takes wall or cpu, got "${v}"`, EXIT_USAGE);
  return v;
}

function codecListOption(v: string): string[] {
  const list = v.split(',').map((x) => x.trim());
  const bad = list.filter((x) => !(CODEC_NAMES as readonly string[]).includes(x));
  if (bad.length || list.length === 0) throw new CliError(`--codecs takes a comma-separated list of ${CODEC_NAMES.join(', ')}; got "${v}"`, EXIT_USAGE);
  return list;
}

function secondsOption(v: string): number {
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 0 && n <= 600)) throw new CliError(`--seconds must be a number of seconds from 0 to 600 (e.g. 0.3), got "${v}"`, EXIT_USAGE);
  return n;
}

/** --model / --tensor: the tensors of the data set to measure (all when neither is given). */
function subset(ds: Dataset, o: { model?: string[]; tensor?: string[] }): Dataset {
  if (!o.model?.length && !o.tensor?.length) return ds;
  const models = new Set(ds.tensors.map((t) => t.model));
  for (const m of o.model ?? []) {
    if (!models.has(m)) throw new CliError(`--model ${m}: no such model in the data set (it has ${[...models].join(', ')})`, EXIT_USAGE);
  }
  const tensors = ds.tensors.filter((t) => (!o.model?.length || o.model.includes(t.model)) && (!o.tensor?.length || o.tensor.some((part) => t.file.includes(part))));
  if (tensors.length === 0) throw new CliError(`no tensor of ${o.model?.length ? `model ${o.model.join(', ')}` : 'the data set'} has a file name containing ${o.tensor!.map((x) => `"${x}"`).join(' or ')}`, EXIT_USAGE);
  return { ...ds, tensors };
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerBenchCommands(bench: Command): void {
  bench
    .command('ratio')
    .description('footprint of every codec on every tensor of a data set, with the order-0 bound, zlib-9 and brotli-11')
    .option('--data <dir>', 'data set folder holding manifest.json', DEFAULT_DATA_DIR)
    .option('-b, --block-size <bytes>', 'block size', intOption('--block-size', MIN_BLOCK_SIZE, MAX_BLOCK_SIZE), DEFAULT_BLOCK_SIZE)
    .option('--no-brotli', 'skip brotli-11 (the slowest column)')
    .option('--zstd', 'add zstd -19 per block, through the zstd tool (Debian package zstd; Node 20\'s zlib has no zstd)')
    .option('--format <list>', 'float data sets: the formats to convert to, all (default) or a comma-separated list of bf16, fp16, e4m3, e5m2')
    .option('--max-mb <mb>', 'use an evenly spread subset of at most this many MB (per format for a float set)', intOption('--max-mb', 1, 1 << 20))
    .option('--model <id>', 'only this model\'s tensors (repeat for several)', collect)
    .option('--tensor <text>', 'only tensors whose file name contains this text (repeat for several)', collect)
    .option('--json', 'print the full report (per tensor and per group) as JSON')
    .addHelpText('after', '\nThe data set format is that of ../shared/data (see its README). EBPC is reported on the stored\nlayout and, for NHWC activations, reordered to channel-major as in the EBPC paper. SCC takes\nthe stride of each tensor from the shape and layout and its kind from the manifest.\n\nA float data set (../shared/data-float: float32 tensors) is read in each --format by its conversion\nrules; classes are then per format (activations, float weights, weights from u8 codes). fpack is\nreported with the stride from shape and layout; fp8 also through APack and SCC over its bytes\n(apack-u8, scc-u8) and fpack\'s split mode alone (fpack-split).\n\nExamples:\n  shimpack bench ratio --model faceapi-tiny-face-detector --tensor conv --no-brotli\n  shimpack bench ratio --data ../shared/data-float --zstd')
    .action(async (o: { data: string; blockSize: number; brotli: boolean; zstd?: boolean; format?: string; maxMb?: number; json?: boolean; model?: string[]; tensor?: string[] }) => {
      // Loaded on use: the benches and codecs would cost every other command's start.
      const { runRatioBench, defaultColumns, spreadSubset } = await import('../../bench/ratio.ts');
      const { zstdAvailable } = await import('../../bench/reference.ts');
      const ds = subset(dataset(o.data, o.format), o);
      if (o.zstd && !zstdAvailable()) throw new CliError('--zstd needs the zstd tool on the PATH (Debian: apt-get install zstd)');
      const maxBytes = o.maxMb === undefined ? undefined : o.maxMb * 1e6;
      const progress = createProgress(spreadSubset(ds.tensors, maxBytes).length, 'bench ratio');
      const report = runRatioBench(ds, {
        blockSize: o.blockSize,
        maxBytes,
        columns: defaultColumns({ brotli: o.brotli, zstd: o.zstd === true }),
        onTensor: (done, _total, t) => progress.update(done, t.file.split('/').pop()),
      });
      progress.stop();
      process.stdout.write((o.json ? JSON.stringify(report, null, 1) : formatRatioReport(report)) + '\n');
    });

  bench
    .command('speed')
    .description('single-core encode and decode MB/s per codec (a codec that runs in WebAssembly also with its JS coders alone, "NAME (js)"), with zlib deflate level 1 / inflate as reference')
    .option('--data <dir>', 'data set folder holding manifest.json', DEFAULT_DATA_DIR)
    .option('-b, --block-size <bytes>', 'block size', intOption('--block-size', MIN_BLOCK_SIZE, MAX_BLOCK_SIZE), DEFAULT_BLOCK_SIZE)
    .option('--seconds <s>', 'minimum time per measurement, in seconds (decimals allowed, e.g. 0.3)', secondsOption, 1)
    .option('--max-mb <mb>', 'use an evenly spread subset of at most this many MB (per format for a float set)', intOption('--max-mb', 1, 1 << 20))
    .option('--format <list>', 'float data sets: the formats to convert to, all (default) or a comma-separated list of bf16, fp16, e4m3, e5m2')
    .option('--reference <dir>', 'float data sets: an 8-bit data set whose APack speed is measured in the same run', DEFAULT_DATA_DIR)
    .option('--no-reference', 'float data sets: no 8-bit reference row')
    .option('--clock <wall|cpu>', 'time measurements by the wall clock, or by the CPU time of this process (user + system, all its threads): on a shared machine a wall-clock time also counts the moments the bench waited for a core', clockOption, 'wall')
    .option('--codecs <list>', 'only these codecs (comma-separated, e.g. ebpc or ebpc,scc), each with its "(js)" row; zlib is always measured', codecListOption)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nRows named "CODEC (js)" time the JS block coders alone, beside the default (WebAssembly) ones.\nA float data set gets a row per codec and format, APack over the fp8 bytes as uint8, and APack on\nthe 8-bit --reference set (default ../shared/data), all in the same run.\n\nExample: shimpack bench speed --data ../shared/data-float --max-mb 2 --seconds 1\n         shimpack bench speed --codecs ebpc --clock cpu   (EBPC: wasm and js rows, one run)')
    .action(async (o: { data: string; blockSize: number; seconds: number; maxMb?: number; format?: string; reference: string | false; clock: SpeedClock; codecs?: string[]; json?: boolean }) => {
      const { runSpeedBench } = await import('../../bench/speed.ts');
      const { CODECS, JS_CODECS } = await import('../../codecs/index.ts');
      const ds = dataset(o.data, o.format);
      const floatSet = ds.tensors.some((t) => t.floatFormat !== undefined);
      const reference = floatSet && o.reference !== false ? dataset(o.reference) : undefined;
      // One step per measured row: codecs and their JS twins (per format), the APack extras and zlib.
      const formats = new Set(ds.tensors.map((t) => t.floatFormat)).size;
      const counted = (list: readonly { name: string }[]): number => list.filter((c) => o.codecs === undefined || o.codecs.includes(c.name)).length;
      const progress = createProgress((counted(CODECS) + counted(JS_CODECS)) * formats + 4, 'bench speed');
      let n = 0;
      const report = runSpeedBench(ds, {
        blockSize: o.blockSize,
        minSeconds: o.seconds,
        maxBytes: o.maxMb === undefined ? undefined : o.maxMb * 1e6,
        reference,
        clock: o.clock,
        codecs: o.codecs,
        onStep: (what) => progress.update(++n, what),
      });
      progress.stop();
      process.stdout.write((o.json ? JSON.stringify(report, null, 1) : formatSpeedReport(report)) + '\n');
    });
}
