/**
 * DRAM types for the first-order energy and time model: energy per bit moved
 * and peak bandwidth of one device, stack or channel. docs/energy.md gives the
 * source of each figure, and says which are estimates.
 */

export const MEMORY_NAMES = ['hbm2', 'hbm3', 'ddr4', 'ddr5', 'lpddr4', 'lpddr5', 'gddr6'] as const;
export type MemoryName = (typeof MEMORY_NAMES)[number];

export interface MemoryModel {
  /** A preset name, or "custom" for figures given directly. */
  readonly name: MemoryName | 'custom';
  /** Energy per bit moved over the DRAM interface, array access included (pJ). */
  readonly pjPerBit: number;
  /** Peak data bandwidth (GB/s, 10^9 bytes per second). */
  readonly gbps: number;
}

export interface MemoryPreset extends MemoryModel {
  readonly name: MemoryName;
  /** What the bandwidth is of (a stack, a device, a channel). */
  readonly unit: string;
  /** Where the energy figure comes from; `estimate` when no cited figure was found. */
  readonly energySource: string;
  readonly bandwidthSource: string;
  readonly estimate: boolean;
}

export const MEMORY_PRESETS: Readonly<Record<MemoryName, MemoryPreset>> = {
  hbm2: {
    name: 'hbm2',
    pjPerBit: 3.9,
    gbps: 256,
    unit: 'stack (1024 bits at 2 Gb/s per pin)',
    energySource: "O'Connor et al., Fine-Grained DRAM, MICRO-50 (2017): HBM2 3.9 pJ/bit",
    bandwidthSource: 'JEDEC JESD235 (HBM2): 1024-bit interface, 2 Gb/s per pin',
    estimate: false,
  },
  hbm3: {
    name: 'hbm3',
    pjPerBit: 3.9,
    gbps: 819.2,
    unit: 'stack (1024 bits at 6.4 Gb/s per pin)',
    energySource: 'estimate: no cited per-bit figure found; HBM2 value kept (conservative)',
    bandwidthSource: 'JEDEC JESD238 (HBM3): 1024-bit interface, 6.4 Gb/s per pin',
    estimate: true,
  },
  ddr4: {
    name: 'ddr4',
    pjPerBit: 15,
    gbps: 25.6,
    unit: 'channel (64 bits, DDR4-3200)',
    energySource: 'estimate: between LPDDR4 (8 pJ/bit) and GDDR5 (14 pJ/bit) of the Accelergy CACTI plug-in, rounded up for a terminated DIMM bus',
    bandwidthSource: 'JEDEC JESD79-4 (DDR4): DDR4-3200, 64-bit channel',
    estimate: true,
  },
  ddr5: {
    name: 'ddr5',
    pjPerBit: 12,
    gbps: 38.4,
    unit: 'DIMM (2 x 32-bit subchannels, DDR5-4800)',
    energySource: 'estimate: DDR4 estimate lowered for the 1.1 V supply (DDR4: 1.2 V)',
    bandwidthSource: 'JEDEC JESD79-5 (DDR5): DDR5-4800, 2 x 32-bit subchannels',
    estimate: true,
  },
  lpddr4: {
    name: 'lpddr4',
    pjPerBit: 8,
    gbps: 17.1,
    unit: 'channel (32 bits, LPDDR4-4266)',
    energySource: 'Accelergy CACTI plug-in (Wu, Emer, Sze, ICCAD 2019): LPDDR4 8 pJ/bit',
    bandwidthSource: 'JEDEC JESD209-4 (LPDDR4): 4266 MT/s, 2 x 16-bit channels',
    estimate: false,
  },
  lpddr5: {
    name: 'lpddr5',
    pjPerBit: 6,
    gbps: 25.6,
    unit: 'package (32 bits, LPDDR5-6400)',
    energySource: 'estimate: LPDDR4 8 pJ/bit lowered for the 1.05/0.5 V supplies and DVFS of LPDDR5',
    bandwidthSource: 'JEDEC JESD209-5 (LPDDR5): 6400 MT/s, 32 bits',
    estimate: true,
  },
  gddr6: {
    name: 'gddr6',
    pjPerBit: 14,
    gbps: 56,
    unit: 'device (32 bits at 14 Gb/s per pin)',
    energySource: 'estimate: the GDDR5 figure of the Accelergy CACTI plug-in and O\'Connor et al. (14 pJ/bit) kept for GDDR6',
    bandwidthSource: 'JEDEC JESD250 (GDDR6): 32-bit device, 14 Gb/s per pin',
    estimate: true,
  },
};

export function isMemoryName(s: string): s is MemoryName {
  return (MEMORY_NAMES as readonly string[]).includes(s);
}

/** Upper bounds that catch unit mistakes (pJ for nJ, MB/s for GB/s) without ruling out future parts. */
export const MAX_PJ_PER_BIT = 1000;
export const MAX_GBPS = 100_000;

/**
 * The memory model from a preset name, or from figures given directly (both
 * given: they override the preset's). Throws a RangeError saying what is wrong.
 */
export function memoryModel(name: string, pjPerBit?: number, gbps?: number): MemoryModel {
  if (!isMemoryName(name)) throw new RangeError(`memory must be one of ${MEMORY_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  const p = MEMORY_PRESETS[name];
  if (pjPerBit !== undefined && !(Number.isFinite(pjPerBit) && pjPerBit > 0 && pjPerBit <= MAX_PJ_PER_BIT)) {
    throw new RangeError(`memory pJ/bit must be a number above 0 and at most ${MAX_PJ_PER_BIT}, got ${pjPerBit}`);
  }
  if (gbps !== undefined && !(Number.isFinite(gbps) && gbps > 0 && gbps <= MAX_GBPS)) {
    throw new RangeError(`memory GB/s must be a number above 0 and at most ${MAX_GBPS}, got ${gbps}`);
  }
  if (pjPerBit === undefined && gbps === undefined) return { name: p.name, pjPerBit: p.pjPerBit, gbps: p.gbps };
  return { name: 'custom', pjPerBit: pjPerBit ?? p.pjPerBit, gbps: gbps ?? p.gbps };
}
