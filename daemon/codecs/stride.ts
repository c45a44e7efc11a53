import { badArgument } from './errors.ts';

/** Largest stride a context-codec header can hold (u16). */
export const MAX_STRIDE = 65535;

/**
 * Tensor layouts shimpack knows, by the axis order of their shape, and how
 * many trailing axes make up "one pixel" (one row of the innermost channels):
 * the stride is the product of those axes. Channel-major layouts have the
 * same channel's neighbour right before a value, so their stride is 1.
 */
const LAYOUTS: Readonly<Record<string, { readonly rank: number; readonly trailing: number }>> = {
  NHWC: { rank: 4, trailing: 1 }, // activations: S = C
  NCHW: { rank: 4, trailing: 0 },
  HWC: { rank: 3, trailing: 1 },
  CHW: { rank: 3, trailing: 0 },
  HWIO: { rank: 4, trailing: 1 }, // conv weights: S = O
  HWCM: { rank: 4, trailing: 2 }, // depthwise weights: S = C·M
  OIHW: { rank: 4, trailing: 0 },
  IO: { rank: 2, trailing: 1 }, // dense weights: S = O
  OI: { rank: 2, trailing: 0 },
};

export const KNOWN_LAYOUTS: readonly string[] = Object.keys(LAYOUTS);

/**
 * The layout name of a layout string: the first word, upper-cased, so the
 * data-set manifest's "HWIO (kh,kw,in,out)" reads as HWIO.
 */
export function layoutName(layout: string): string {
  return layout.trim().split(/[\s(]/, 1)[0].toUpperCase();
}

/**
 * The context stride of a tensor from its shape and layout: the distance in
 * values to the same channel of the previous pixel. Throws E_BAD_ARGUMENT for
 * an unknown layout, a shape of the wrong rank, non-positive dimensions, or a
 * stride above MAX_STRIDE.
 */
export function strideFromShape(shape: readonly number[], layout: string): number {
  const name = layoutName(layout);
  const spec = LAYOUTS[name];
  if (!spec) throw badArgument(`unknown layout "${layout}" (known: ${KNOWN_LAYOUTS.join(', ')})`);
  if (shape.length !== spec.rank) throw badArgument(`layout ${name} needs a shape of ${spec.rank} dimensions, got ${shape.length}`);
  for (const d of shape) if (!Number.isSafeInteger(d) || d < 1) throw badArgument(`shape dimensions must be positive integers, got [${shape.join(', ')}]`);
  let s = 1;
  for (let i = shape.length - spec.trailing; i < shape.length; i++) s *= shape[i];
  checkStride(s);
  return s;
}

/** Throws E_BAD_ARGUMENT unless s is an integer 1 ... MAX_STRIDE. */
export function checkStride(s: number): number {
  if (!Number.isInteger(s) || s < 1 || s > MAX_STRIDE) throw badArgument(`stride must be an integer 1 ... ${MAX_STRIDE}, got ${s}`);
  return s;
}
