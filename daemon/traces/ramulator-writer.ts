import type { DramLineFormat } from './dram-line-format.ts';

/**
 * Ramulator's DRAM-mode trace (ramulator.ts imports it): `0xADDR R|W`, one
 * request per line and per cycle. The format has no time field, so the
 * export keeps the order of the requests but not their times.
 */
export const ramulatorFormat: DramLineFormat = {
  name: 'ramulator',
  timed: false,
  line: (_cycle, write, addr) => `0x${addr.toString(16)} ${write ? 'W' : 'R'}`,
};
