import type { Command } from 'commander';
import type { ShimpackClient } from '../../../clients/ts/index.ts';
import type { RegionStats } from '../../../protocol/types.ts';
import { CliError, EXIT_BAD_INPUT, EXIT_USAGE } from '../io.ts';
import { parseWsUrl } from './replay.ts';

/**
 * `shimpack regions` and `shimpack free`: see and drop the regions a running
 * daemon holds in one address space, through the real client.
 */

interface ConnectCliOptions {
  url: string;
  token?: string;
  space?: string;
}

function addConnectOptions(cmd: Command): Command {
  return cmd
    .option('--url <ws-url>', 'the daemon (ws:// or wss://)', parseWsUrl, 'ws://127.0.0.1:7420/')
    .option('--token <token>', 'token for hello, if the daemon wants one')
    .option('--space <name>', 'address space (default: the token\'s own, or the unnamed default space)');
}

async function open(o: ConnectCliOptions, what: string): Promise<ShimpackClient> {
  try {
    // Loaded when the command runs: the client stack is not every CLI start's cost.
    const { ShimpackClient } = await import('../../../clients/ts/index.ts');
    return await ShimpackClient.connect(o.url, { client: `shimpack ${what}`, token: o.token, space: o.space });
  } catch (e) {
    const err = e as Error & { code?: string };
    // The client's E_CONNECT message already names the URL.
    throw new CliError(err.code === 'E_CONNECT' ? err.message.replace(/^E_CONNECT: /, '') : err.message, EXIT_BAD_INPUT);
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function formatRegions(regions: readonly RegionStats[]): string {
  if (regions.length === 0) return 'no regions';
  const rows = regions.map((r) => [
    r.name,
    hex(r.base),
    String(r.size),
    r.codec,
    r.dtype,
    r.kind,
    r.calibration,
    String(r.rawBytesStored),
    String(r.storedBytes),
    r.ratio.toFixed(3),
  ]);
  const head = ['name', 'base', 'size', 'codec', 'dtype', 'kind', 'calibration', 'raw held', 'stored', 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function registerRegionCommands(program: Command): void {
  addConnectOptions(
    program
      .command('regions')
      .description('list the regions a running daemon holds in one address space, with what each holds'),
  )
    .option('--json', 'print the stats answer (regions and totals) as JSON')
    .addHelpText(
      'after',
      '\n"ratio" is raw / stored bytes held. Asking for stats calibrates regions still waiting for their\n' +
        'table on what they were written (protocol/README.md section 4.2).\n' +
        'Example: shimpack regions --url ws://127.0.0.1:7420/',
    )
    .action(async (o: ConnectCliOptions & { json?: boolean }) => {
      const c = await open(o, 'regions');
      try {
        const st = await c.stats();
        process.stdout.write(o.json ? `${JSON.stringify({ regions: st.regions, totals: st.totals }, null, 2)}\n` : `${formatRegions(st.regions)}\n`);
      } finally {
        await c.close();
      }
    });

  addConnectOptions(
    program
      .command('free')
      .description('drop regions (and their data) from a running daemon')
      .argument('[name...]', 'names of the regions to free'),
  )
    .option('--all', 'free every region of the address space')
    .addHelpText(
      'after',
      '\nExit status 1 when a named region does not exist (the others are still freed).\n' +
        'Examples:\n  shimpack free conv1.w conv1.out\n  shimpack free --all --space sim2',
    )
    .action(async (names: string[], o: ConnectCliOptions & { all?: boolean }) => {
      if (o.all && names.length > 0) throw new CliError('give region names or --all, not both', EXIT_USAGE);
      if (!o.all && names.length === 0) throw new CliError('give the names of the regions to free, or --all', EXIT_USAGE);
      const c = await open(o, 'free');
      const failed: string[] = [];
      let freed = 0;
      try {
        const list = o.all ? (await c.stats()).regions.map((r) => r.name) : names;
        for (const name of list) {
          try {
            await c.free(name);
            freed++;
          } catch (e) {
            failed.push(`${name}: ${(e as Error).message}`);
          }
        }
      } finally {
        await c.close();
      }
      process.stderr.write(`freed ${freed} region${freed === 1 ? '' : 's'}\n`);
      if (failed.length) throw new CliError(failed.join('; '), EXIT_BAD_INPUT);
    });
}
