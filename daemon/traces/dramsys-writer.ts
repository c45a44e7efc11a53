import type { DramLineFormat } from './dram-line-format.ts';

/**
 * DRAMSys STL traces (dramsys.ts imports them): `CYCLE:\tread|write\t0xADDR`,
 * absolute cycles, no length (a burst of the memory's own size) and no data
 * (DRAMSys stores none unless asked to, and the shim's DRAM side is the
 * compressed bytes, which no DRAM simulator needs for timing or energy).
 */
export const dramsysFormat: DramLineFormat = {
  name: 'dramsys',
  timed: true,
  line: (cycle, write, addr) => `${cycle}:\t${write ? 'write' : 'read'}\t0x${addr.toString(16)}`,
};
