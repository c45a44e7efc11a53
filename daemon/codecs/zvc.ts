import type { Codec, CodecModel } from './codec.ts';
import { DTYPES, dtypeBits, type Dtype } from './dtype.ts';
import { corrupt } from './errors.ts';
import { checkNoParams, checkSupported } from './support.ts';
import { zvcCoders } from './zvc-wasm.ts';

/**
 * Zero-value compression (cDMA, Rhu et al. 2018): a 1-bit non-zero mask per
 * value (LSB-first within each mask byte, value i at bit i&7 of byte i>>3),
 * followed by the non-zero values packed at their own width (nibbles low
 * first for 4-bit data, little-endian words for 16-bit dtypes).
 */
function encode8(src: Uint8Array, out: Uint8Array): number {
  const n = src.length;
  const maskBytes = (n + 7) >>> 3;
  out.fill(0, 0, maskBytes);
  let w = maskBytes;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    if (v !== 0) {
      out[i >>> 3] |= 1 << (i & 7);
      out[w++] = v;
    }
  }
  return w;
}

function decode8(src: Uint8Array, out: Uint8Array): void {
  const n = out.length;
  const maskBytes = (n + 7) >>> 3;
  if (src.length < maskBytes) throw corrupt(`ZVC block of ${src.length} bytes is shorter than its ${maskBytes}-byte mask`);
  let r = maskBytes;
  for (let i = 0; i < n; i++) {
    if (src[i >>> 3] & (1 << (i & 7))) {
      if (r >= src.length) throw corrupt('ZVC mask announces more non-zero values than the block holds');
      const v = src[r++];
      if (v === 0) throw corrupt('ZVC value stream holds a zero where the mask says non-zero');
      out[i] = v;
    } else out[i] = 0;
  }
  if (r !== src.length) throw corrupt(`ZVC block has ${src.length - r} bytes after its last value`);
}

function encode16(src: Uint8Array, out: Uint8Array): number {
  const n = src.length >>> 1;
  const maskBytes = (n + 7) >>> 3;
  out.fill(0, 0, maskBytes);
  let w = maskBytes;
  for (let i = 0; i < n; i++) {
    const lo = src[2 * i];
    const hi = src[2 * i + 1];
    if ((lo | hi) !== 0) {
      out[i >>> 3] |= 1 << (i & 7);
      out[w++] = lo;
      out[w++] = hi;
    }
  }
  return w;
}

function decode16(src: Uint8Array, out: Uint8Array): void {
  const n = out.length >>> 1;
  const maskBytes = (n + 7) >>> 3;
  if (src.length < maskBytes) throw corrupt(`ZVC block of ${src.length} bytes is shorter than its ${maskBytes}-byte mask`);
  let r = maskBytes;
  for (let i = 0; i < n; i++) {
    if (src[i >>> 3] & (1 << (i & 7))) {
      if (r + 2 > src.length) throw corrupt('ZVC mask announces more non-zero values than the block holds');
      const lo = src[r++];
      const hi = src[r++];
      if ((lo | hi) === 0) throw corrupt('ZVC value stream holds a zero where the mask says non-zero');
      out[2 * i] = lo;
      out[2 * i + 1] = hi;
    } else {
      out[2 * i] = 0;
      out[2 * i + 1] = 0;
    }
  }
  if (r !== src.length) throw corrupt(`ZVC block has ${src.length - r} bytes after its last value`);
}

function encode4(src: Uint8Array, out: Uint8Array): number {
  const n = src.length * 2;
  const maskBytes = (n + 7) >>> 3;
  out.fill(0, 0, maskBytes);
  let w = maskBytes;
  let half = false; // a nibble waiting for its partner in out[w]
  for (let i = 0; i < n; i++) {
    const v = (src[i >>> 1] >>> ((i & 1) << 2)) & 15;
    if (v !== 0) {
      out[i >>> 3] |= 1 << (i & 7);
      if (half) {
        out[w++] |= v << 4;
        half = false;
      } else {
        out[w] = v;
        half = true;
      }
    }
  }
  return half ? w + 1 : w;
}

function decode4(src: Uint8Array, out: Uint8Array): void {
  const n = out.length * 2;
  const maskBytes = (n + 7) >>> 3;
  if (src.length < maskBytes) throw corrupt(`ZVC block of ${src.length} bytes is shorter than its ${maskBytes}-byte mask`);
  out.fill(0);
  let r = maskBytes;
  let half = false;
  for (let i = 0; i < n; i++) {
    if (src[i >>> 3] & (1 << (i & 7))) {
      if (r >= src.length) throw corrupt('ZVC mask announces more non-zero values than the block holds');
      let v: number;
      if (half) {
        v = src[r++] >>> 4;
        half = false;
      } else {
        v = src[r] & 15;
        half = true;
      }
      if (v === 0) throw corrupt('ZVC value stream holds a zero where the mask says non-zero');
      out[i >>> 1] |= v << ((i & 1) << 2);
    }
  }
  if (half) {
    if (src[r] >>> 4 !== 0) throw corrupt('ZVC padding nibble is not zero');
    r++;
  }
  if (r !== src.length) throw corrupt(`ZVC block has ${src.length - r} bytes after its last value`);
}

/** Block coders: the wasm ones where they are on (zvc-wasm.ts), or the JS ones alone (the reference, for tests and `bench speed`). */
type Coders = 'wasm' | 'js';

function model(dtype: Dtype, coders: Coders): CodecModel {
  const bits = dtypeBits(dtype);
  const encJs = bits === 4 ? encode4 : bits === 16 ? encode16 : encode8;
  const decJs = bits === 4 ? decode4 : bits === 16 ? decode16 : decode8;
  const { encode: enc, decode: dec } = coders === 'wasm' ? zvcCoders(bits, encJs, decJs) : { encode: encJs, decode: decJs };
  return {
    codec: 'zvc',
    dtype,
    params: new Uint8Array(0),
    // mask (one bit per value) plus every value
    maxEncodedBytes: (n) => n + Math.ceil((n * 8) / bits / 8) + 1,
    encodeBlock: enc,
    decodeBlock: dec,
    describe: () => 'none (1-bit mask + non-zero values)',
  };
}

function zvcWith(coders: Coders): Codec {
  const codec: Codec = {
    name: 'zvc',
    id: 3,
    // Float dtypes as their bit patterns: +0 is the zero value (-0 is stored as non-zero).
    dtypes: DTYPES,
    fit(_data, dtype) {
      checkSupported(codec, dtype);
      return model(dtype, coders);
    },
    load(params, dtype) {
      checkSupported(codec, dtype);
      checkNoParams('zvc', params);
      return model(dtype, coders);
    },
  };
  return codec;
}

export const zvc: Codec = zvcWith('wasm');
/** ZVC with the JS coders only: the reference the wasm coders must match. */
export const zvcJs: Codec = zvcWith('js');
