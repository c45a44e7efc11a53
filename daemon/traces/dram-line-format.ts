/** One DRAM request as a line of a simulator's trace format (the export's side of the importers). */
export interface DramLineFormat {
  readonly name: 'dramsim3' | 'ramulator' | 'dramsys';
  /** Does the format carry each request's time? (Ramulator's DRAM mode has one request per cycle.) */
  readonly timed: boolean;
  /** The line for one burst at `cycle`, without the newline. */
  line(cycle: number, write: boolean, addr: number): string;
}
