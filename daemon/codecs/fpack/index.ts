import type { Codec, CodecModel, CodecOptions } from '../codec.ts';
import { FLOAT_DTYPES, floatLayout, isFloatDtype, type Dtype, type FloatDtype } from '../dtype.ts';
import { badArgument } from '../errors.ts';
import { checkStride } from '../stride.ts';
import { checkSupported } from '../support.ts';
import { decodeBlock as decodeBlockJs, encodeBlock, maxBlockBytes } from './coder.ts';
import { buildEngine } from './engine.ts';
import { fitParams } from './fit.ts';
import { FPACK_MODES, parseParams, serialiseParams, type FpackParams } from './params.ts';
import { decodeBlock as decodeBlockWasm } from './wasm.ts';
import { REPEAT, decodeRepeatBlock, maybeRepeatBlock } from './repeat.ts';
import { decodePaletteBlock, encodePaletteBlock, maxPaletteBlockBytes, paletteIndex } from './palette.ts';

/** Block decoder: wasm's where it is on (wasm.ts), or coder.ts alone (the reference, for tests and `bench speed`). */
type Coders = 'wasm' | 'js';

/**
 * fpack, the exponent-aware float codec (docs/float.md): per value, the
 * exponent is group-coded given the class of a neighbour's exponent (x[i-S]
 * for activations, as SCC), the sign and top mantissa bits are group-coded
 * given the value's own exponent; 8-bit floats
 * may instead code the whole byte given the neighbour's exponent. Tables per
 * tensor, found by exact optimisation; blocks independent.
 */
export interface FpackModel extends CodecModel {
  readonly codec: 'fpack';
  readonly fpackParams: FpackParams;
}

/** Version-2 headers: how many of a block's last values ride in the initial rANS states. */
const tailText = (tail: number): string => (tail === 0 ? '' : `; the last ${tail} values of a block in the initial rANS states`);

function floatDtype(dtype: Dtype): FloatDtype {
  if (!isFloatDtype(dtype)) throw badArgument(`fpack codes float dtypes, not ${dtype}`);
  return dtype;
}

export function fpackModelFromParams(p: FpackParams, params: Uint8Array = serialiseParams(p), coders: Coders = 'wasm'): FpackModel {
  const e = buildEngine(p);
  const decodeBlock = coders === 'wasm' ? decodeBlockWasm : decodeBlockJs;
  const bytesPerValue = e.plan.bits / 8;
  if (p.mode === 'palette') return paletteModel(p, params, e, decodeBlock);
  // 16-bit split mode with a neighbour: blocks where most values repeat x[i-D1] may be repeat blocks (repeat.ts)
  const repeatable = p.mode === 'split' && bytesPerValue === 2 && p.distance > 0;
  const describe = (): string => {
    const kA = `${p.aClasses.length - 1}x${p.aClasses2.length - 1}`;
    const groups = p.a.vmin.length - 1;
    const nb = p.mode === 'split' ? `; B (sign + ${e.plan.mant} mantissa bits): ${p.b.length} classes over the own exponent, ${p.b.map((t) => t.vmin.length - 1).join('/')} groups` : '';
    const ctx = p.distance === 0 ? 'no neighbour' : `neighbours x[i-${p.distance}]${p.distance2 ? ` and x[i-${p.distance2}]` : ''}`;
    const states = e.states === 1 ? '1 rANS state' : `${e.states} interleaved rANS states`;
    return `${p.mode} mode, ${ctx}; A (${p.mode === 'whole' ? 'whole byte' : p.mode === 'delta' ? `byte difference to x[i-${p.distance}]` : 'exponent'}): ${kA} contexts over the neighbours' exponents, ${groups} groups${nb}; ${states} per block${tailText(e.tail)}; header ${params.length} bytes`;
  };
  return {
    codec: 'fpack',
    dtype: p.dtype,
    params,
    fpackParams: p,
    maxEncodedBytes: (rawBytes) => maxBlockBytes(e, Math.floor(rawBytes / bytesPerValue)),
    encodeBlock: (src, out) => {
      if (bytesPerValue === 2 && (src.length & 1) !== 0) throw badArgument(`a ${p.dtype} block needs an even length, got ${src.length}`);
      const normal = encodeBlock(e, src, out);
      return repeatable ? maybeRepeatBlock(e, src, out, normal) : normal;
    },
    decodeBlock: (src, out) => (repeatable && out.length > 0 && src.length > 0 && src[0] === REPEAT ? decodeRepeatBlock(e, src, out, decodeBlock) : decodeBlock(e, src, out)),
    describe,
  };
}

/** Palette mode: the index bytes through whole mode's coder, values through the palette (palette.ts). */
function paletteModel(p: FpackParams, params: Uint8Array, e: ReturnType<typeof buildEngine>, decodeIndices: typeof decodeBlockJs): FpackModel {
  const wide = floatLayout(p.dtype).bits === 16;
  // 8-bit: indices K ... 255 stand for the bytes the palette does not list, in increasing order,
  // so every byte stays codable (a region fitted on its first bytes never falls back to literal blocks)
  const listed = new Set(p.palette!);
  const full = wide ? p.palette! : [...p.palette!, ...Array.from({ length: 256 }, (_, v) => v).filter((v) => !listed.has(v))];
  const palette = Uint16Array.from(full);
  const at = paletteIndex(full);
  return {
    codec: 'fpack',
    dtype: p.dtype,
    params,
    fpackParams: p,
    maxEncodedBytes: (rawBytes) => maxPaletteBlockBytes(e, rawBytes, wide),
    encodeBlock: (src, out) => {
      if (wide && (src.length & 1) !== 0) throw badArgument(`a ${p.dtype} block needs an even length, got ${src.length}`);
      return encodePaletteBlock(e, at, wide, src, out);
    },
    decodeBlock: (src, out) => decodePaletteBlock(e, palette, wide, decodeIndices, src, out),
    describe: () => {
      const ctx = p.distance === 0 ? 'no neighbour' : `neighbours x[i-${p.distance}]${p.distance2 ? ` and x[i-${p.distance2}]` : ''}`;
      return `palette mode, ${palette.length} distinct values, ${ctx}; A (index): ${p.aClasses.length - 1}x${p.aClasses2.length - 1} contexts over the neighbours' indices, ${p.a.vmin.length - 1} groups; ${e.states === 1 ? '1 rANS state' : `${e.states} interleaved rANS states`} per block${tailText(e.tail)}; header ${params.length} bytes`;
    },
  };
}

function fpackWith(coders: Coders): Codec {
  const codec: Codec = {
    name: 'fpack',
    id: 5,
    dtypes: FLOAT_DTYPES,
    fit(data: Uint8Array, dtype: Dtype, options?: CodecOptions): FpackModel {
      checkSupported(codec, dtype);
      const d = floatDtype(dtype);
      const stride = options?.stride === undefined ? undefined : checkStride(options.stride);
      const mode = options?.fpackMode ?? 'auto';
      if (mode !== 'auto' && !(FPACK_MODES as readonly string[]).includes(mode)) throw badArgument(`unknown fpack mode "${String(mode)}" (auto | ${FPACK_MODES.join(' | ')})`);
      const p = fitParams(data, d, { stride, mode });
      return fpackModelFromParams(p, serialiseParams(p), coders);
    },
    load(params: Uint8Array, dtype: Dtype): FpackModel {
      checkSupported(codec, dtype);
      return fpackModelFromParams(parseParams(params, floatDtype(dtype)), params.slice(), coders);
    },
  };
  return codec;
}

export const fpack: Codec = fpackWith('wasm');
/** fpack with coder.ts's decoder only: the reference the wasm decoder matches bit for bit. */
export const fpackJs: Codec = fpackWith('js');

/** The parsed header of an fpack model (throws for other codecs' models). */
export function fpackParamsOf(model: CodecModel): FpackParams {
  const p = (model as Partial<FpackModel>).fpackParams;
  if (model.codec !== 'fpack' || p === undefined) throw badArgument(`model of codec ${model.codec} is not an fpack model`);
  return p;
}

export type { FpackParams, FpackMode } from './params.ts';
