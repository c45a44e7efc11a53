/**
 * NHWC → NCHW (channel-major) reordering of an activation map, so EBPC can be
 * compared with its paper, which measured channel-major feature maps.
 * `shape` is [1, H, W, C] (or [H, W, C]); data holds one byte per value.
 */
export function nhwcToChannelMajor(data: Uint8Array, shape: readonly number[]): Uint8Array {
  const c = shape[shape.length - 1];
  const pixels = data.length / c;
  if (!Number.isInteger(pixels)) throw new Error(`tensor of ${data.length} bytes is not a whole number of ${c}-channel pixels`);
  const out = new Uint8Array(data.length);
  for (let p = 0; p < pixels; p++) {
    const base = p * c;
    for (let ch = 0; ch < c; ch++) out[ch * pixels + p] = data[base + ch];
  }
  return out;
}
