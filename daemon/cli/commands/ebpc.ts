import type { Command } from 'commander';
import { CodecError } from '../../codecs/errors.ts';
import { EBPC_MAX_COUNT, checkEbpcParams, decodeEbpcStreams, ebpcStreamValueCounts, encodeEbpcStreams } from '../../codecs/ebpc/streams.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE, choiceOption, intOption, readInput, writeOutput } from '../io.ts';

/**
 * `shimpack ebpc encode|decode`: the bare two-stream EBPC code, byte for byte
 * what the reference RTL emits and consumes, for building and checking
 * hardware test-bench vectors (no shimpack framing).
 */

interface StreamOptions {
  wordBits: '8' | '16';
  block: '8' | '16';
}

function params(o: StreamOptions): { W: 8 | 16; N: 8 | 16 } {
  const W = o.wordBits === '16' ? 16 : 8;
  const N = o.block === '16' ? 16 : 8;
  try {
    checkEbpcParams(W, N);
  } catch (e) {
    if (e instanceof CodecError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  return { W, N };
}

const FILE_CONVENTIONS =
  '\nFiles: values are W-bit two\'s complement; W=8 one byte per value (uint8 bytes are read as int8),\n' +
  'W=16 int16 little-endian. Each stream is packed MSB-first into W-bit words, the last word zero-padded;\n' +
  '16-bit words are written big-endian, so the file bytes are the bit stream in order.\n' +
  'Valid (W, N): (8,8), (16,8), (16,16); the RTL needs W >= N. Maximum zero run R = 16.\n' +
  `At most ${EBPC_MAX_COUNT} values per transmission (the RTL takes count-1 in 24 bits).`;

export function registerEbpcCommands(program: Command): void {
  const ebpc = program
    .command('ebpc')
    .description('bare EBPC streams (ZNZ + BPC) as the reference hardware emits them, for RTL test benches');
  ebpc.exitOverride();

  ebpc
    .command('encode')
    .description('encode raw values into a ZNZ stream and a BPC stream')
    .argument('<in>', 'input values, or - for standard input')
    .requiredOption('--znz <file>', 'output ZNZ (zero/non-zero run-length) stream, or - for standard output')
    .requiredOption('--bpc <file>', 'output BPC (bit-plane) stream, or - for standard output')
    .option('--word-bits <bits>', 'word width W: 8 or 16', choiceOption('--word-bits', ['8', '16'] as const), '8')
    .option('--block <n>', 'bit-plane block size N: 8 or 16', choiceOption('--block', ['8', '16'] as const), '8')
    .option('-v, --verbose', 'print the value count and the unpadded stream lengths in bits on standard error')
    .addHelpText(
      'after',
      FILE_CONVENTIONS +
        '\nThe decoder needs the value count: keep it (printed with --verbose).\n' +
        'Example: shimpack ebpc encode act.bin --znz act.znz.bin --bpc act.bpc.bin -v',
    )
    .action(async (input: string, o: StreamOptions & { znz: string; bpc: string; verbose?: boolean }) => {
      const { W, N } = params(o);
      if (o.znz === '-' && o.bpc === '-') throw new CliError('--znz and --bpc cannot both be standard output', EXIT_USAGE);
      const data = readInput(input);
      const what = input === '-' ? 'standard input' : input;
      if (W === 16 && data.length % 2 !== 0) {
        throw new CliError(`${what} holds ${data.length} bytes: 16-bit words need an even byte count`, EXIT_BAD_INPUT);
      }
      const count = data.length / (W / 8);
      if (count > EBPC_MAX_COUNT) throw new CliError(`${what} holds ${count} values, more than the ${EBPC_MAX_COUNT} of one transmission`, EXIT_BAD_INPUT);
      const s = encodeEbpcStreams(data, W, N);
      await writeOutput(o.znz, s.znz);
      await writeOutput(o.bpc, s.bpc);
      if (o.verbose) {
        process.stderr.write(
          `count=${count} W=${W} N=${N} R=16 znz_bits=${s.znzBits} znz_bytes=${s.znz.length} bpc_bits=${s.bpcBits} bpc_bytes=${s.bpc.length}\n`,
        );
      }
    });

  ebpc
    .command('decode')
    .description('decode a ZNZ stream and a BPC stream back into raw values')
    .requiredOption('--znz <file>', 'ZNZ stream, or - for standard input')
    .requiredOption('--bpc <file>', 'BPC stream, or - for standard input')
    .requiredOption('--count <n>', 'number of values encoded (the streams do not carry it)', intOption('--count', 0, EBPC_MAX_COUNT))
    .requiredOption('-o, --output <file>', 'output values, or - for standard output')
    .option('--word-bits <bits>', 'word width W: 8 or 16', choiceOption('--word-bits', ['8', '16'] as const), '8')
    .option('--block <n>', 'bit-plane block size N: 8 or 16', choiceOption('--block', ['8', '16'] as const), '8')
    .addHelpText(
      'after',
      FILE_CONVENTIONS +
        '\nThe decoder is strict: a stream that ends early, has bytes after its last word, non-zero padding or\n' +
        'any symbol the encoder cannot produce is reported as corrupt (exit status 1). A --count other than\n' +
        'the number of values the ZNZ stream holds is E_COUNT_MISMATCH (exit status 1), saying how many it holds;\n' +
        'where a last zero value cannot be told from padding, both counts decode and a note says so.\n' +
        'Example: shimpack ebpc decode --znz act.znz.bin --bpc act.bpc.bin --count 8192 -o act.bin',
    )
    .action(async (o: StreamOptions & { znz: string; bpc: string; count: number; output: string }) => {
      const { W, N } = params(o);
      if (o.znz === '-' && o.bpc === '-') throw new CliError('--znz and --bpc cannot both be standard input', EXIT_USAGE);
      const znz = readInput(o.znz);
      const bpc = readInput(o.bpc);
      const values = decodeEbpcStreams(znz, bpc, o.count, W, N);
      const holds = ebpcStreamValueCounts(znz, W);
      if (holds.max > holds.min) {
        // Both counts decode these streams: say which reading was taken, so an off-by-one --count is not silent.
        process.stderr.write(
          `shimpack: note: these streams decode as ${holds.min} or ${holds.max} values (a last zero value is five zero bits, like padding); ` +
            `--count ${o.count} gives ${o.count === holds.max ? 'the longer, ending in that zero' : 'the shorter'}\n`,
        );
      }
      await writeOutput(o.output, values);
    });
}
