import type { CodecName } from '../codecs/codec.ts';
import type { Dtype } from '../codecs/dtype.ts';
import type { Calibration, RegionKind } from '../../protocol/types.ts';
import { decodeFrame, encodeFrame } from '../../protocol/wire.ts';
import type { Region } from './region.ts';

/**
 * A region's declaration as a persistent backend keeps it: everything needed
 * to serve its blocks after a restart (address, codec, block size, the codec
 * parameters and how they were obtained, the address space).
 */
export interface RegionMeta {
  readonly v: 1;
  readonly space: string;
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly dtype: Dtype;
  readonly kind: RegionKind;
  readonly codec: CodecName;
  readonly blockBytes: number;
  readonly calibration: Calibration;
  readonly params?: Uint8Array;
  /** The region's stride, when declared with one (absent in metadata written before strides existed). */
  readonly stride?: number;
}

export function encodeRegionMeta(r: Region, space: string): Uint8Array {
  const m: RegionMeta = { v: 1, space, name: r.name, base: r.base, size: r.size, dtype: r.dtype, kind: r.kind, codec: r.codec, blockBytes: r.blockBytes, calibration: r.calibration, params: r.params, ...(r.stride === undefined ? {} : { stride: r.stride }) };
  return encodeFrame(m).slice();
}

export function decodeRegionMeta(bytes: Uint8Array): RegionMeta {
  const m = decodeFrame(bytes) as RegionMeta;
  if (m === null || typeof m !== 'object' || m.v !== 1 || typeof m.name !== 'string') throw new Error('region metadata is not version 1');
  return { ...m, space: m.space ?? '', params: m.params ? new Uint8Array(m.params) : undefined, stride: typeof m.stride === 'number' ? m.stride : undefined };
}
