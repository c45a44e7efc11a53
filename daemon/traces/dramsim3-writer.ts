import type { DramLineFormat } from './dram-line-format.ts';

/**
 * DRAMsim3 traces as its trace front end reads them (and dramsim3.ts
 * imports): `0xADDR READ|WRITE CYCLE`. No comment lines: dramsim3main reads
 * the file with `>>` and would take a comment for a request.
 */
export const dramsim3Format: DramLineFormat = {
  name: 'dramsim3',
  timed: true,
  line: (cycle, write, addr) => `0x${addr.toString(16).toUpperCase()} ${write ? 'WRITE' : 'READ'} ${cycle}`,
};
