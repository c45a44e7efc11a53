import type { Command } from 'commander';
import { WIRE_CODECS, type WireCodec } from '../../../protocol/types.ts';
import type { DramComparison, DramConfigComparison } from '../../dram/compare.ts';
import { DramError } from '../../dram/errors.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE, choiceOption, intOption } from '../io.ts';
import { asCli } from './trace.ts';

/**
 * `shimpack dram run TRACE`: the trace's DRAM-side streams, raw and
 * compressed, through DRAMsim3 (docs/dram.md).
 */

interface DramRunCliOptions {
  dramsim3: string;
  config: string[];
  codec?: WireCodec;
  keep?: string;
  lanes: number;
  cacheDir?: string;
  json?: boolean;
  quiet?: boolean;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

const n = (v: number): string => v.toLocaleString('en-US');
const nj = (pj: number): string => `${(pj / 1e6).toFixed(3)} uJ`;
const change = (raw: number, comp: number): string => (raw === 0 ? 'n/a' : `${(((comp - raw) / raw) * 100).toFixed(1)}%`);

function configTable(c: DramConfigComparison): string {
  const rows: [string, number, number, (v: number) => string][] = [
    ['read energy', c.raw.energyPj.read, c.compressed.energyPj.read, nj],
    ['write energy', c.raw.energyPj.write, c.compressed.energyPj.write, nj],
    ['activate energy', c.raw.energyPj.activate, c.compressed.energyPj.activate, nj],
    ['refresh energy', c.raw.energyPj.refresh, c.compressed.energyPj.refresh, nj],
    ['background energy', c.raw.energyPj.background, c.compressed.energyPj.background, nj],
    ['total energy', c.raw.energyPj.total, c.compressed.energyPj.total, nj],
    ['read commands', c.raw.readCmds, c.compressed.readCmds, n],
    ['write commands', c.raw.writeCmds, c.compressed.writeCmds, n],
    ['activates', c.raw.actCmds, c.compressed.actCmds, n],
    ['bandwidth (GB/s)', c.raw.bandwidthGBs, c.compressed.bandwidthGBs, (v) => v.toFixed(3)],
    ['cycles', c.raw.cycles, c.compressed.cycles, n],
  ];
  const lines = rows.map(([k, r, p, f]) => `  ${k.padEnd(20)}${f(r).padStart(18)}${f(p).padStart(18)}${change(r, p).padStart(10)}`);
  return [
    `${c.config} (${c.protocol}, ${c.channels} channel(s), ${c.clockMhz.toFixed(0)} MHz): last request sent at cycle ${n(c.lastRequestCycle)}; cycles: until DRAMsim3 had done every request (within 0.5 %)`,
    `  ${''.padEnd(20)}${'raw'.padStart(18)}${'compressed'.padStart(18)}${'change'.padStart(10)}`,
    ...lines,
    `  energy that does not scale with traffic (refresh + background): ${(c.raw.fixedEnergyShare * 100).toFixed(1)}% of raw, ${(c.compressed.fixedEnergyShare * 100).toFixed(1)}% of compressed`,
  ].join('\n');
}

export function formatDramComparison(r: DramComparison): string {
  return [
    `dram run ${r.trace} (DRAMsim3 ${r.dramsim3.key}${r.dramsim3.built ? ', built now' : ''})`,
    `  bursts: raw ${n(r.raw.bursts)} (${n(r.raw.readBursts)} read, ${n(r.raw.writeBursts)} written); compressed (${r.compressed.codec}) ${n(r.compressed.bursts)} (${n(r.compressed.readBursts)} read, ${n(r.compressed.writeBursts)} written, ${n(r.compressed.metadataBursts)} metadata): ${change(r.raw.bursts, r.compressed.bursts)}`,
    ...r.configs.map(configTable),
  ].join('\n');
}

export function registerDramCommands(program: Command): void {
  const dram = program.command('dram').description('the DRAM side behind the shim, through a real DRAM simulator (docs/dram.md)');
  dram.exitOverride();
  dram
    .command('run')
    .description('replay a trace raw and compressed, run both DRAM-side streams through DRAMsim3, and compare cycles, bandwidth and energy')
    .argument('<trace>', 'a shimpack trace (trace gen, trace import)')
    .requiredOption('--dramsim3 <dir>', 'DRAMsim3 source folder (e.g. ../shared/tools/dramsim3): built once with cmake into the cache folder')
    .requiredOption('--config <name>', 'DRAMsim3 configuration: a name in its configs/ (HBM2_8Gb_x128, DDR4_8Gb_x8_2400) or an .ini file; repeat for several', collect)
    .option('--codec <codec>', `codec of the compressed stream (default: the trace's): ${WIRE_CODECS.join(', ')}`, choiceOption('--codec', WIRE_CODECS))
    .option('--keep <dir>', 'keep the exported DRAM traces and DRAMsim3 outputs in this folder')
    .option('--lanes <n>', 'lanes of the embedded daemon (line buffers are per lane, so the stream depends on it)', intOption('--lanes', 1, 64), 2)
    .option('--cache-dir <dir>', 'where DRAMsim3 is built (default: $SHIMPACK_CACHE_DIR, else ~/.cache/shimpack)')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nThe trace is replayed twice through a daemon embedded in this command, one request at a\n' +
        'time: with codec raw (what DRAM sees without the shim) and compressed. Each DRAM-side stream\n' +
        '(fills, write-backs, metadata; docs/dram.md) runs through dramsim3main until DRAMsim3 has done\n' +
        'all of it (its cycles, within 0.5 %). Energies are DRAMsim3\'s, in pJ (printed in uJ); the\n' +
        'share that does not scale with traffic is refresh + background over the total.\n' +
        'Needs cmake, make and g++ the first time (Debian: apt-get install cmake g++ make).\n' +
        '\nExit status: 0 ok, 1 bad input, a failed build or run, 2 usage error, 70 internal error.\n' +
        'Example:\n' +
        '  shimpack dram run tiny.trace.gz --dramsim3 ../shared/tools/dramsim3 --config HBM2_8Gb_x128 --config DDR4_8Gb_x8_2400',
    )
    .action(async (trace: string, o: DramRunCliOptions) =>
      asCli(async () => {
        if (o.config.length === 0) throw new CliError('--config is required', EXIT_USAGE);
        const { runDramComparison } = await import('../../dram/compare.ts');
        let r: DramComparison;
        try {
          r = await runDramComparison({
            trace,
            dramsim3: o.dramsim3,
            configs: o.config,
            codec: o.codec,
            workDir: o.keep,
            cacheDir: o.cacheDir,
            daemon: { lanes: o.lanes },
            onProgress: o.quiet || o.json ? undefined : (line) => process.stderr.write(`${line}\n`),
          });
        } catch (e) {
          if (e instanceof DramError) throw new CliError(`${e.code}: ${e.message}`, EXIT_BAD_INPUT);
          throw e;
        }
        process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatDramComparison(r)}\n`);
      }),
    );
}
