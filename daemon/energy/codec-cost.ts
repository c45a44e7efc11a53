/**
 * The codec engines' own time: each lane is one hardware engine coding
 * `valuesPerCycle` values per cycle at the codec clock. docs/energy.md says
 * where each rate comes from. Codec energy is not modelled: no cited per-value
 * energy of these coders was found.
 */

export interface CodecRate {
  /** Values per cycle per lane (engine). */
  readonly valuesPerCycle: number;
  readonly source: string;
}

/** Codecs that code nothing (raw) take no engine time. */
export const CODEC_RATES: Readonly<Record<string, CodecRate>> = {
  apack: { valuesPerCycle: 1, source: 'docs/scc.md "Hardware cost per lane": one value per cycle, like APack (one 16-ary arithmetic-coding step per value)' },
  scc: { valuesPerCycle: 1, source: 'docs/scc.md "Hardware cost per lane": one value per cycle' },
  ebpc: { valuesPerCycle: 1, source: 'assumption: one value per cycle, as APack and SCC (not taken from the EBPC paper)' },
  zvc: { valuesPerCycle: 1, source: 'assumption: one value per cycle, as APack and SCC' },
  fpack: { valuesPerCycle: 1, source: 'assumption: one value per cycle, as SCC, whose group + offset coder it shares' },
};

/** Default codec clock (MHz): an assumption, a typical accelerator clock. */
export const DEFAULT_CODEC_CLOCK_MHZ = 1000;

/** Engine-seconds to code `values` values with `codec` at `clockMhz` (0 for raw and unknown codecs). */
export function codecSeconds(codec: string, values: number, clockMhz: number): number {
  const rate = CODEC_RATES[codec];
  if (!rate || values === 0) return 0;
  return values / (rate.valuesPerCycle * clockMhz * 1e6);
}
