import { MEMORY_PRESETS, isMemoryName, memoryModel, type MemoryModel } from '../energy/index.ts';

/** A memory type of the energy section: the model and what the page says about it. */
export interface MemoryChoice {
  readonly label: string;
  readonly model: MemoryModel;
  readonly source: string;
  readonly estimate: boolean;
}

/**
 * One `--memory` entry: a preset name (hbm2, ddr4, ...; daemon/energy/memory.ts)
 * or `custom:PJ_PER_BIT:GB_PER_S` for figures given directly. Throws a
 * RangeError that says what is wrong.
 */
export function parseMemoryChoice(spec: string): MemoryChoice {
  const s = spec.trim().toLowerCase();
  const custom = /^custom:([^:]+):([^:]+)$/.exec(s);
  if (custom) {
    const pj = Number(custom[1]);
    const gbps = Number(custom[2]);
    // memoryModel checks the ranges; the preset name only fills in what is not given (here: nothing).
    const model = memoryModel('hbm2', pj, gbps);
    return { label: `${pj} pJ/b, ${gbps} GB/s`, model, source: 'given on the command line', estimate: false };
  }
  if (!isMemoryName(s)) throw new RangeError(`--memory: "${spec}" is neither a memory type (${Object.keys(MEMORY_PRESETS).join(', ')}) nor custom:PJ_PER_BIT:GB_PER_S`);
  const p = MEMORY_PRESETS[s];
  return { label: s, model: memoryModel(s), source: `${p.energySource}; ${p.bandwidthSource}`, estimate: p.estimate };
}
