import type { Command } from 'commander';
import { CODEC_NAMES, type CodecName } from '../../codecs/codec.ts';
import { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../../codecs/block-size.ts';
import { DTYPES, dtypeAlign, type Dtype } from '../../codecs/dtype.ts';
import { CodecError } from '../../codecs/errors.ts';

/** The codecs and the container, loaded when a command runs: they would cost every other command's start. */
async function codecsModules() {
  const [container, index] = await Promise.all([import('../../codecs/container.ts'), import('../../codecs/index.ts')]);
  return { ...container, codecByName: index.codecByName };
}
import { KNOWN_LAYOUTS, MAX_STRIDE, strideFromShape } from '../../codecs/stride.ts';
import { CliError, EXIT_USAGE, choiceOption, intOption, readInput, writeOutput } from '../io.ts';

/** Codecs that model the data around each value at the tensor's stride (and read --stride, --kind). */
const CONTEXT_CODECS: readonly string[] = ['scc', 'fpack'];
/** Context codecs that cannot work without a stride (fpack then uses x[i-1] or no neighbour). */
const STRIDE_REQUIRED: readonly string[] = ['scc'];
const FPACK_MODE_CHOICES = ['auto', 'split', 'whole', 'delta', 'palette'] as const;
const TENSOR_KINDS = ['weight', 'activation', 'other'] as const;
type TensorKind = (typeof TENSOR_KINDS)[number];

interface CompressOptions {
  output: string;
  codec: CodecName;
  dtype: Dtype;
  blockSize: number;
  ebpcBlock: '8' | '16';
  apackSearch: 'optimal' | 'heuristic';
  stride?: number;
  shape?: number[];
  layout?: string;
  kind?: TensorKind;
  fpackMode: (typeof FPACK_MODE_CHOICES)[number];
  fitBytes?: number;
}

/** `--shape 1,56,56,64`: dimensions separated by commas (or x). */
function parseShape(v: string): number[] {
  const dims = v.split(/[,x]/).map((d) => d.trim());
  if (dims.length === 0 || dims.some((d) => !/^\d+$/.test(d) || Number(d) < 1)) {
    throw new CliError(`--shape must be positive whole numbers separated by commas (e.g. 1,56,56,64), got "${v}"`, EXIT_USAGE);
  }
  return dims.map(Number);
}

/**
 * The stride a context codec needs, from --stride or from --shape and
 * --layout (both: they must agree). Usage errors when it is missing, or when
 * these options are given to a codec that would ignore them.
 */
function contextStride(o: CompressOptions): number | undefined {
  const given = [o.stride !== undefined && '--stride', o.shape !== undefined && '--shape', o.layout !== undefined && '--layout', o.kind !== undefined && '--kind'].filter((x): x is string => x !== false);
  if (!CONTEXT_CODECS.includes(o.codec)) {
    if (given.length) throw new CliError(`${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} only for --codec ${CONTEXT_CODECS.join('/')} (${o.codec} does not use ${given.length > 1 ? 'them' : 'it'})`, EXIT_USAGE);
    return undefined;
  }
  if ((o.shape === undefined) !== (o.layout === undefined)) throw new CliError('--shape and --layout go together: give both, or --stride', EXIT_USAGE);
  let derived: number | undefined;
  if (o.shape !== undefined && o.layout !== undefined) {
    try {
      derived = strideFromShape(o.shape, o.layout);
    } catch (e) {
      if (e instanceof CodecError) throw new CliError(`--shape ${o.shape.join(',')} --layout ${o.layout}: ${e.message}`, EXIT_USAGE);
      throw e;
    }
    if (o.stride !== undefined && o.stride !== derived) throw new CliError(`--stride ${o.stride} disagrees with --shape ${o.shape.join(',')} --layout ${o.layout}, which give ${derived}`, EXIT_USAGE);
  }
  const stride = o.stride ?? derived;
  if (stride === undefined && STRIDE_REQUIRED.includes(o.codec)) {
    throw new CliError(`--codec ${o.codec} needs the tensor's stride: --stride N (the distance in values to the same channel of the previous pixel: C for NHWC activations, O for HWIO weights, C*M for HWCM), or --shape and --layout`, EXIT_USAGE);
  }
  return stride;
}

/** `shimpack compress`, `decompress` and `inspect`: whole tensors in the self-describing container. */
export function registerCompressCommands(program: Command): void {
  program
    .command('compress')
    .description('compress a tensor file into a self-describing shimpack container')
    .argument('<in>', 'input file of raw tensor bytes, or - for standard input')
    .requiredOption('-o, --output <file>', 'output container, or - for standard output')
    .option('-c, --codec <codec>', `codec: ${CODEC_NAMES.join(', ')}`, choiceOption('--codec', CODEC_NAMES), 'apack' as CodecName)
    .option('-d, --dtype <dtype>', `element type: ${DTYPES.join(', ')}`, choiceOption('--dtype', DTYPES), 'uint8' as Dtype)
    .option('-b, --block-size <bytes>', 'bytes per independently decodable block', intOption('--block-size', MIN_BLOCK_SIZE, MAX_BLOCK_SIZE), DEFAULT_BLOCK_SIZE)
    .option('--ebpc-block <n>', 'EBPC bit-plane block size (8 or 16)', choiceOption('--ebpc-block', ['8', '16'] as const), '8')
    .option('--apack-search <search>', 'APack table search: optimal (exact DP) or heuristic (the paper\'s)', choiceOption('--apack-search', ['optimal', 'heuristic'] as const), 'optimal')
    .option('--stride <n>', `scc: the tensor's stride, the distance in values to the same channel of the previous pixel (1 ... ${MAX_STRIDE}); scc needs it, or --shape and --layout`, intOption('--stride', 1, MAX_STRIDE))
    .option('--shape <dims>', 'scc: the tensor\'s dimensions, comma-separated (e.g. 1,56,56,64), with --layout instead of --stride', parseShape)
    .option('--layout <layout>', `scc: the axis order of --shape: ${KNOWN_LAYOUTS.join(', ')}`)
    .option('--fpack-mode <mode>', 'fpack: split (exponent, then sign + mantissa), whole (8-bit floats: the byte), delta (8-bit floats: the byte\'s difference to x[i-S]), palette (at most 256 distinct values: each value\'s index in a list of them, most frequent first) or auto (the smallest)', choiceOption('--fpack-mode', FPACK_MODE_CHOICES), 'auto')
    .option('--fit-bytes <n>', 'fit the table (apack, scc, fpack) to the first N bytes only, not the whole tensor; the daemon fits a region to its first 65536 bytes written, so --fit-bytes 65536 shows what it would store', intOption('--fit-bytes', 1, MAX_BLOCK_SIZE))
    .option('--kind <kind>', 'scc: what the tensor holds, which sets the configurations tried: weight (order-0, CC/x[i-S] static, x[i-1],x[i-2] adaptive), activation (P, or the per-block P/Q switch), other (the weight ones and P; the default)', choiceOption('--kind', TENSOR_KINDS))
    .addHelpText(
      'after',
      '\nSupported dtypes per codec: apack uint8/int8/uint4/int4; ebpc uint8/int8/int16; zvc and raw all; scc uint8/int8;\n' +
        'fpack bfloat16/float16/float8_e4m3/float8_e5m2.\n' +
        '4-bit data packs two values per byte (lower index in the low nibble); 16-bit dtypes are little-endian.\n' +
        'Float dtypes are bit patterns (NaN payloads, infinities and -0 come back exactly); float8_e4m3 is\n' +
        'OCP E4M3FN, float8_e5m2 OCP E5M2.\n' +
        '\nThe stride (scc, fpack): scc predicts each value from its neighbours in the same block: the\n' +
        'value before it and the same channel of the previous pixel, S values back. S is the product\n' +
        'of the innermost axes that make up one pixel: C for NHWC/HWC activations, O for HWIO and IO\n' +
        'weights, C*M for depthwise HWCM weights, 1 for channel-major layouts (NCHW, CHW, OIHW, OI).\n' +
        'Give it as --stride S, or let shimpack derive it from --shape and --layout. A wrong stride\n' +
        'still round-trips exactly; it only compresses worse. --stride, --shape, --layout and --kind\n' +
        'with another codec are a usage error (that codec would ignore them). fpack takes the stride\n' +
        'when given (its exponent contexts use x[i-S] and x[i-1]) and works without it.\n' +
        '\nExamples:\n' +
        '  shimpack compress --codec apack --dtype int8 weights.bin -o weights.shpk\n' +
        '  shimpack compress --codec scc --dtype uint8 --kind activation --stride 64 act.bin -o act.shpk\n' +
        '  shimpack compress --codec scc --dtype int8 --kind weight --shape 3,3,32,64 --layout HWIO w.bin -o w.shpk\n' +
        '  shimpack compress --codec fpack --dtype bfloat16 --stride 64 act.bf16.bin -o act.shpk',
    )
    .action(async (input: string, o: CompressOptions) => {
      const { codecByName, encodeContainer } = await codecsModules();
      const codec = codecByName(o.codec);
      if (!codec.dtypes.includes(o.dtype)) {
        throw new CliError(`codec ${o.codec} does not support dtype ${o.dtype} (it supports ${codec.dtypes.join(', ')})`, EXIT_USAGE);
      }
      const stride = contextStride(o);
      if (o.fpackMode !== 'auto' && o.codec !== 'fpack') throw new CliError('--fpack-mode is only for --codec fpack', EXIT_USAGE);
      if (dtypeAlign(o.dtype) === 2 && o.blockSize % 2 !== 0) throw new CliError(`${o.dtype} data needs an even --block-size`, EXIT_USAGE);
      const data = readInput(input);
      if (dtypeAlign(o.dtype) === 2 && data.length % 2 !== 0) throw new CliError(`${input} holds ${data.length} bytes: ${o.dtype} data needs an even length`);
      const codecOptions = {
        ebpcBlockSize: o.ebpcBlock === '16' ? 16 : 8,
        apackSearch: o.apackSearch,
        fpackMode: o.fpackMode,
        ...(stride === undefined ? {} : { stride }),
        ...(o.kind === undefined ? {} : { kind: o.kind }),
      } as const;
      // Fitted to a prefix as the daemon fits a region to its first writes (dtype-aligned: a 16-bit value is never cut).
      const fitEnd = o.fitBytes === undefined ? data.length : Math.min(data.length, o.fitBytes - (o.fitBytes % dtypeAlign(o.dtype)));
      const model = o.fitBytes === undefined ? undefined : codec.fit(data.subarray(0, fitEnd), o.dtype, codecOptions);
      const out = encodeContainer(data, { codec: o.codec, dtype: o.dtype, blockSize: o.blockSize, codecOptions, ...(model ? { model } : {}) });
      await writeOutput(o.output, out);
      if (o.output !== '-') {
        const ratio = data.length === 0 ? 1 : out.length / data.length;
        process.stderr.write(`${input}: ${data.length} -> ${out.length} bytes (footprint ${(ratio * 100).toFixed(1)} %)\n`);
      }
    });

  program
    .command('decompress')
    .description('decompress a shimpack container (all parameters come from the container)')
    .argument('<in>', 'container file, or - for standard input')
    .requiredOption('-o, --output <file>', 'output file, or - for standard output')
    .action(async (input: string, o: { output: string }) => {
      const { decodeContainer } = await codecsModules();
      const { data } = decodeContainer(readInput(input));
      await writeOutput(o.output, data);
    });

  program
    .command('inspect')
    .description('print a container\'s header, block statistics and ratio (checks every block too)')
    .argument('<file>', 'container file, or - for standard input')
    .option('--json', 'print JSON instead of text')
    .option('--blocks', 'list every block')
    .action(async (file: string, o: { json?: boolean; blocks?: boolean }) => {
      const { codecByName, decodeContainer, readContainerInfo } = await codecsModules();
      const bytes = readInput(file);
      const info = readContainerInfo(bytes);
      decodeContainer(bytes); // verifies every block against its checksum
      const codedBlocks = info.blocks.filter((b) => !b.storedRaw);
      const stored = info.blocks.reduce((s, b) => s + b.storedBytes, 0);
      const sizes = codedBlocks.map((b) => b.storedBytes / b.rawBytes);
      const model = info.wholeTensorRaw ? undefined : codecByName(info.codec).load(info.params, info.dtype);
      const summary = {
        file,
        formatVersion: info.version,
        codec: info.codec,
        dtype: info.dtype,
        blockSize: info.blockSize,
        rawBytes: info.totalBytes,
        containerBytes: info.containerBytes,
        headerBytes: info.headerBytes,
        paramsBytes: info.params.length,
        payloadBytes: stored,
        footprint: info.totalBytes === 0 ? 1 : info.containerBytes / info.totalBytes,
        ratio: info.containerBytes === 0 ? 1 : info.totalBytes / info.containerBytes,
        wholeTensorRaw: info.wholeTensorRaw,
        blocks: info.blocks.length,
        blocksStoredRaw: info.blocks.length - codedBlocks.length,
        codedBlockFootprint: sizes.length ? { min: Math.min(...sizes), mean: sizes.reduce((a, b) => a + b, 0) / sizes.length, max: Math.max(...sizes) } : null,
        params: model ? model.describe() : 'none (every block stored raw)',
        checksums: 'ok',
      };
      if (o.json) {
        const out = o.blocks ? { ...summary, blockList: info.blocks } : summary;
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const lines = [
        `file              ${file}`,
        `format            shimpack container v${info.version}`,
        `codec             ${info.codec}${info.wholeTensorRaw ? ' (whole tensor stored raw: coding did not pay)' : ''}`,
        `dtype             ${info.dtype}`,
        `block size        ${info.blockSize} bytes`,
        `raw size          ${info.totalBytes} bytes`,
        `container size    ${info.containerBytes} bytes (header+index ${info.headerBytes}, parameters ${info.params.length}, blocks ${stored})`,
        `footprint         ${(summary.footprint * 100).toFixed(2)} %  (ratio ${summary.ratio.toFixed(3)}x)`,
        `blocks            ${info.blocks.length} (${summary.blocksStoredRaw} stored raw)`,
      ];
      if (summary.codedBlockFootprint) {
        const f = summary.codedBlockFootprint;
        lines.push(`coded blocks      footprint min ${(f.min * 100).toFixed(1)} %, mean ${(f.mean * 100).toFixed(1)} %, max ${(f.max * 100).toFixed(1)} %`);
      }
      lines.push(`parameters        ${summary.params}`, `checksums         all ${info.blocks.length} blocks ok`);
      if (o.blocks) {
        lines.push('', 'block  offset      raw  stored  mode');
        info.blocks.forEach((b, i) => lines.push(`${String(i).padStart(5)}  ${String(b.offset).padStart(6)}  ${String(b.rawBytes).padStart(7)}  ${String(b.storedBytes).padStart(6)}  ${b.storedRaw ? 'raw' : 'coded'}`));
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
