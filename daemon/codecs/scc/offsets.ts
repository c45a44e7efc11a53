/**
 * Scratch for a block's offset bits (written forwards, stored reversed at the
 * block end): one per worker thread, reused across blocks.
 */
let scratch = new Uint8Array(4096);

export function offsetScratch(values: number): Uint8Array {
  if (scratch.length < values + 8) scratch = new Uint8Array(Math.max(values + 8, 2 * scratch.length));
  return scratch;
}
