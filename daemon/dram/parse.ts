import { readFileSync } from 'node:fs';
import { DramError } from './errors.ts';

/** What one DRAMsim3 run reports, summed over channels. Energies in pJ, as DRAMsim3 gives them. */
export interface DramSimStats {
  /** Cycles simulated (dramsim3main -c). */
  readonly cycles: number;
  readonly channels: number;
  readonly readsDone: number;
  readonly writesDone: number;
  readonly readCmds: number;
  readonly writeCmds: number;
  readonly actCmds: number;
  readonly refCmds: number;
  /** Sum over channels of DRAMsim3's average_bandwidth, GB/s over the cycles simulated. */
  readonly bandwidthGBs: number;
  readonly energyPj: {
    readonly read: number;
    readonly write: number;
    readonly activate: number;
    /** ref_energy + refb_energy (all-bank and per-bank refresh). */
    readonly refresh: number;
    /** act_stb + pre_stb + sref: standby and self-refresh, paid per cycle whatever the traffic. */
    readonly background: number;
    readonly total: number;
  };
  readonly averagePowerMw: number;
}

type Channel = Record<string, unknown>;

const num = (c: Channel, k: string, file: string): number => {
  const v = c[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DramError('E_DRAM_OUTPUT', `${file}: channel ${String(c.channel)} has no number "${k}"`);
  return v;
};

/** A per-rank statistic ({"0": x, "1": y}) summed. */
const ranks = (c: Channel, k: string): number => {
  const v = c[k];
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object') return Object.values(v as Record<string, unknown>).reduce<number>((s, x) => s + (typeof x === 'number' ? x : 0), 0);
  return 0;
};

/** Read dramsim3.json: one object per channel ("0", "1", ...), each with DRAMsim3's counters and energies. */
export function parseDramsim3Json(file: string): DramSimStats {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DramError('E_DRAM_OUTPUT', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw new DramError('E_DRAM_OUTPUT', `${file} is not a JSON object`);
  const channels = Object.entries(doc as Record<string, unknown>)
    .filter(([k, v]) => /^\d+$/.test(k) && v && typeof v === 'object')
    .map(([, v]) => v as Channel);
  if (channels.length === 0) throw new DramError('E_DRAM_OUTPUT', `${file} holds no channel statistics`);
  const sum = (k: string): number => channels.reduce((s, c) => s + num(c, k, file), 0);
  const opt = (k: string): number => channels.reduce((s, c) => s + (typeof c[k] === 'number' ? (c[k] as number) : 0), 0);
  const background = channels.reduce((s, c) => s + ranks(c, 'act_stb_energy') + ranks(c, 'pre_stb_energy') + ranks(c, 'sref_energy'), 0);
  return {
    cycles: Math.max(...channels.map((c) => num(c, 'num_cycles', file))),
    channels: channels.length,
    readsDone: sum('num_reads_done'),
    writesDone: sum('num_writes_done'),
    readCmds: sum('num_read_cmds'),
    writeCmds: sum('num_write_cmds'),
    actCmds: sum('num_act_cmds'),
    refCmds: opt('num_ref_cmds') + opt('num_refb_cmds'),
    bandwidthGBs: sum('average_bandwidth'),
    energyPj: {
      read: sum('read_energy'),
      write: sum('write_energy'),
      activate: sum('act_energy'),
      refresh: opt('ref_energy') + opt('refb_energy'),
      background,
      total: sum('total_energy'),
    },
    averagePowerMw: sum('average_power'),
  };
}

/** The fields of a DRAMsim3 .ini the runner needs. */
export interface DramConfigInfo {
  readonly path: string;
  readonly protocol: string;
  /** ns per cycle. */
  readonly tCK: number;
  readonly channels: number;
  readonly burstLength: number;
}

export function parseDramConfig(path: string): DramConfigInfo {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DramError('E_DRAM_CONFIG', `cannot read the DRAMsim3 configuration ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const field = (k: string): string | undefined => new RegExp(`^\\s*${k}\\s*=\\s*([^\\s;#]+)`, 'm').exec(text)?.[1];
  const n = (k: string, dflt?: number): number => {
    const v = field(k);
    const x = v === undefined ? dflt : Number(v);
    if (x === undefined || !(x > 0)) throw new DramError('E_DRAM_CONFIG', `${path}: no positive "${k}"`);
    return x;
  };
  return { path, protocol: field('protocol') ?? '?', tCK: n('tCK'), channels: n('channels', 1), burstLength: n('BL') };
}
