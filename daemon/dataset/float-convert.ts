import type { FloatDtype } from '../codecs/dtype.ts';

/**
 * float32 -> bfloat16 / float16 / fp8 (e4m3, e5m2) by the rules of
 * ../shared/data-float/README.md ("Converting"): round to nearest even;
 * bf16 and fp16 overflow to ±inf and turn NaN into a quiet NaN with its
 * sign; fp8 uses a per-tensor scale s = float32(amax / max) and saturates.
 * Checked against the data set's test vectors (test/float-convert.test.ts).
 */

/** Short names used on the command line. */
export const FLOAT_FORMATS = { bf16: 'bfloat16', fp16: 'float16', e4m3: 'float8_e4m3', e5m2: 'float8_e5m2' } as const satisfies Record<string, FloatDtype>;
export type FloatFormat = keyof typeof FLOAT_FORMATS;

export function isFloatFormat(s: string): s is FloatFormat {
  return Object.hasOwn(FLOAT_FORMATS, s);
}

/** Round half to even of a non-negative double. */
function roundEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const f64 = new Float64Array(1);
const f64Hi = new Uint32Array(f64.buffer, 4, 1);
/** floor(log2(a)) for a finite double a > 0, exact (subnormal doubles cannot come from float32 / float32). */
function log2Floor(a: number): number {
  f64[0] = a;
  return ((f64Hi[0] >>> 20) & 0x7ff) - 1023;
}

/** bf16 bits of the float32 with bits u. */
export function bf16FromF32Bits(u: number): number {
  u >>>= 0;
  if ((u & 0x7fffffff) >>> 0 > 0x7f800000) return ((u >>> 16) & 0x8000) | 0x7fc0;
  // Round to nearest even on the 16 bits dropped; the sum stays below 2^32 for every non-NaN u.
  return Math.floor((u + 0x7fff + ((u >>> 16) & 1)) / 65536) & 0xffff;
}

interface Grid {
  readonly mant: number;
  readonly bias: number;
  /** Largest finite magnitude and its code. */
  readonly max: number;
  readonly maxCode: number;
}

const FP16: Grid = { mant: 10, bias: 15, max: 65504, maxCode: 0x7bff };
const E4M3: Grid = { mant: 3, bias: 7, max: 448, maxCode: 0x7e };
const E5M2: Grid = { mant: 2, bias: 15, max: 57344, maxCode: 0x7b };

/**
 * The code of magnitude a (finite, >= 0) on the grid, rounded to nearest even;
 * `overflow` is returned for a result above the grid's max.
 */
function gridCode(a: number, g: Grid, overflow: number): number {
  if (a === 0) return 0;
  const emin = 1 - g.bias;
  const e = Math.max(log2Floor(a), emin);
  const ulp = 2 ** (e - g.mant);
  const q = roundEven(a / ulp) * ulp; // a / ulp is exact: ulp is a power of two
  if (q > g.max) return overflow;
  if (q === 0) return 0;
  const eq = log2Floor(q);
  if (eq < emin) return q / 2 ** (emin - g.mant); // subnormal: exponent field 0
  return ((eq + g.bias) << g.mant) | (q / 2 ** (eq - g.mant) - 2 ** g.mant);
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);
const floatOf = (u: number): number => {
  f32Bits[0] = u;
  return f32[0];
};

/** IEEE binary16 bits of the float32 with bits u. */
export function fp16FromF32Bits(u: number): number {
  u >>>= 0;
  const sign = (u >>> 16) & 0x8000;
  const a = (u & 0x7fffffff) >>> 0;
  if (a > 0x7f800000) return sign | 0x7e00;
  if (a === 0x7f800000) return sign | 0x7c00;
  return sign | gridCode(floatOf(a), FP16, 0x7c00);
}

/** The fp8 grid of a format. */
const FP8: Record<'e4m3' | 'e5m2', { grid: Grid; nan: number }> = {
  e4m3: { grid: E4M3, nan: 0x7f },
  e5m2: { grid: E5M2, nan: 0x7e },
};

/** The per-tensor fp8 scale: float32(amax / max) over the finite values, 1 when amax is 0. */
export function fp8Scale(bits: Uint32Array, format: 'e4m3' | 'e5m2'): number {
  let amax = 0;
  for (let i = 0; i < bits.length; i++) {
    const a = (bits[i] & 0x7fffffff) >>> 0;
    if (a < 0x7f800000) amax = Math.max(amax, floatOf(a));
  }
  const s = Math.fround(amax / FP8[format].grid.max);
  return s > 0 && s !== Infinity ? s : 1;
}

/** fp8 code of the float32 with bits u at scale s (a float32). */
export function fp8FromF32Bits(u: number, s: number, format: 'e4m3' | 'e5m2'): number {
  u >>>= 0;
  const { grid, nan } = FP8[format];
  const sign = (u >>> 24) & 0x80;
  const a = (u & 0x7fffffff) >>> 0;
  if (a > 0x7f800000) return sign | nan;
  if (a === 0x7f800000) return sign | grid.maxCode;
  return sign | gridCode(floatOf(a) / s, grid, grid.maxCode);
}

/** float32 bit patterns of little-endian float32 bytes. */
export function f32BitsOf(bytes: Uint8Array): Uint32Array {
  if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of float32 values`);
  const n = bytes.length / 4;
  const out = new Uint32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 4) out[i] = (bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24)) >>> 0;
  return out;
}

/** Convert little-endian float32 bytes to the format's little-endian bytes; fp8 also returns its scale. */
export function convertF32(bytes: Uint8Array, format: FloatFormat): { data: Uint8Array; scale?: number } {
  const bits = f32BitsOf(bytes);
  const n = bits.length;
  if (format === 'bf16' || format === 'fp16') {
    const f = format === 'bf16' ? bf16FromF32Bits : fp16FromF32Bits;
    const out = new Uint8Array(2 * n);
    for (let i = 0; i < n; i++) {
      const h = f(bits[i]);
      out[2 * i] = h & 255;
      out[2 * i + 1] = h >>> 8;
    }
    return { data: out };
  }
  const s = fp8Scale(bits, format);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = fp8FromF32Bits(bits[i], s, format);
  return { data: out, scale: s };
}
