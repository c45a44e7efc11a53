import { CodecError } from './errors.ts';

/**
 * Element types a tensor can have. 4-bit types pack two values per byte, the
 * value with the lower index in the low nibble. int16 is little-endian.
 */
export const DTYPES = ['uint8', 'int8', 'uint4', 'int4', 'int16'] as const;
export type Dtype = (typeof DTYPES)[number];

/** Stable one-byte ids used in containers (never renumber). */
export const DTYPE_ID: Record<Dtype, number> = { uint8: 1, int8: 2, uint4: 3, int4: 4, int16: 5 };

export function dtypeFromId(id: number): Dtype {
  for (const d of DTYPES) if (DTYPE_ID[d] === id) return d;
  throw new CodecError('E_CORRUPT', `unknown dtype id ${id}`);
}

export function isDtype(s: string): s is Dtype {
  return (DTYPES as readonly string[]).includes(s);
}

/** Bits per element. */
export function dtypeBits(d: Dtype): 4 | 8 | 16 {
  return d === 'uint4' || d === 'int4' ? 4 : d === 'int16' ? 16 : 8;
}

/** Byte lengths must be whole elements: int16 data needs an even length. */
export function checkByteLength(d: Dtype, byteLength: number, what: string): void {
  if (d === 'int16' && byteLength % 2 !== 0) {
    throw new CodecError('E_BAD_ARGUMENT', `${what} is ${byteLength} bytes: int16 data needs an even byte length`);
  }
}
