import { CodecError } from './errors.ts';

/**
 * Element types a tensor can have. 4-bit types pack two values per byte, the
 * value with the lower index in the low nibble. 16-bit types (int16,
 * bfloat16, float16) are little-endian. The float types are bit patterns:
 * codecs move them exactly, NaN payloads, infinities and -0 included.
 */
export const DTYPES = ['uint8', 'int8', 'uint4', 'int4', 'int16', 'bfloat16', 'float16', 'float8_e4m3', 'float8_e5m2'] as const;
export type Dtype = (typeof DTYPES)[number];

/** The floating-point dtypes. */
export const FLOAT_DTYPES = ['bfloat16', 'float16', 'float8_e4m3', 'float8_e5m2'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

/** Stable one-byte ids used in containers (never renumber). */
export const DTYPE_ID: Record<Dtype, number> = {
  uint8: 1,
  int8: 2,
  uint4: 3,
  int4: 4,
  int16: 5,
  bfloat16: 6,
  float16: 7,
  float8_e4m3: 8,
  float8_e5m2: 9,
};

export function dtypeFromId(id: number): Dtype {
  for (const d of DTYPES) if (DTYPE_ID[d] === id) return d;
  throw new CodecError('E_CORRUPT', `unknown dtype id ${id}`);
}

export function isDtype(s: string): s is Dtype {
  return (DTYPES as readonly string[]).includes(s);
}

export function isFloatDtype(d: Dtype): d is FloatDtype {
  return (FLOAT_DTYPES as readonly string[]).includes(d);
}

/** Bits per element. */
export function dtypeBits(d: Dtype): 4 | 8 | 16 {
  return d === 'uint4' || d === 'int4' ? 4 : d === 'int16' || d === 'bfloat16' || d === 'float16' ? 16 : 8;
}

/** Bytes a whole element takes (1 for 4- and 8-bit dtypes: their data is byte-aligned). */
export function dtypeAlign(d: Dtype): 1 | 2 {
  return dtypeBits(d) === 16 ? 2 : 1;
}

/**
 * The bit fields of a float dtype: `bits` wide, sign on top, then `exp`
 * exponent bits, then `mant` mantissa bits.
 */
export interface FloatLayout {
  readonly bits: 8 | 16;
  readonly exp: number;
  readonly mant: number;
}

const LAYOUTS: Record<FloatDtype, FloatLayout> = {
  bfloat16: { bits: 16, exp: 8, mant: 7 },
  float16: { bits: 16, exp: 5, mant: 10 },
  float8_e4m3: { bits: 8, exp: 4, mant: 3 },
  float8_e5m2: { bits: 8, exp: 5, mant: 2 },
};

export function floatLayout(d: FloatDtype): FloatLayout {
  return LAYOUTS[d];
}

/** Byte lengths must be whole elements: 16-bit data needs an even length. */
export function checkByteLength(d: Dtype, byteLength: number, what: string): void {
  if (dtypeAlign(d) === 2 && byteLength % 2 !== 0) {
    throw new CodecError('E_BAD_ARGUMENT', `${what} is ${byteLength} bytes: ${d} data needs an even byte length`);
  }
}
