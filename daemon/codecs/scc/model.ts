import type { CodecModel } from '../codec.ts';
import type { Dtype } from '../dtype.ts';
import { corrupt } from '../errors.ts';
import { NO_SELECT, decodeBlockJs, decodeBlockWith as decodeWasm, decodeSelect, encodeBlockJs, encodeBlockWith as encodeWasm, maxBlockBytes } from './coder.ts';
import { FIT_BLOCK, describeConfig, serialiseParams, type SccParams } from './config.ts';
import { buildEngine, ccPositions, type Engine } from './engine.ts';

/** An SCC model: the parsed header, its compiled engines and the channel class per block position. */
export interface SccModel extends CodecModel {
  readonly codec: 'scc';
  readonly sccParams: SccParams;
}

// Scratch for the second encoding of a switched block, per thread.
let alt = new Uint8Array(0);

/**
 * `coders`: the wasm coders where they are on (coder.ts), or the JS reference
 * coders alone (for tests and `bench speed`).
 */
export function modelFromParams(p: SccParams, dtype: Dtype, params: Uint8Array = serialiseParams(p), coders: 'wasm' | 'js' = 'wasm'): SccModel {
  const encodeBlockWith = coders === 'wasm' ? encodeWasm : encodeBlockJs;
  const decodeBlockWith = coders === 'wasm' ? decodeWasm : decodeBlockJs;
  const engines: Engine[] = p.configs.map((c) => buildEngine(c, p.stride));
  let ccAt = ccPositions(p, FIT_BLOCK);
  const ccFor = (n: number): Uint8Array => {
    if (ccAt.length < n) ccAt = ccPositions(p, n);
    return ccAt;
  };
  const maxBytes = (rawBytes: number): number => (p.kind === 'raw' ? rawBytes : Math.max(rawBytes, ...engines.map((e) => maxBlockBytes(e, rawBytes))));
  return {
    codec: 'scc',
    dtype,
    params,
    sccParams: p,
    maxEncodedBytes: maxBytes,
    encodeBlock(src, out) {
      if (p.kind === 'raw') {
        out.set(src);
        return src.length;
      }
      const cc = ccFor(src.length);
      if (p.kind === 'single') return encodeBlockWith(engines[0], cc, src, out, NO_SELECT);
      // Block switch: code with both configurations and keep the smaller.
      const n0 = encodeBlockWith(engines[0], cc, src, out, 0);
      if (alt.length < out.length) alt = new Uint8Array(out.length);
      const n1 = encodeBlockWith(engines[1], cc, src, alt, 1);
      if (n1 < n0) {
        out.set(alt.subarray(0, n1));
        return n1;
      }
      return n0;
    },
    decodeBlock(src, out) {
      if (p.kind === 'raw') {
        if (src.length !== out.length) throw corrupt(`SCC raw block holds ${src.length} bytes, expected ${out.length}`);
        out.set(src);
        return;
      }
      const cc = ccFor(out.length);
      if (p.kind === 'single' || out.length === 0) return decodeBlockWith(engines[0], cc, src, out, NO_SELECT);
      const sel = decodeSelect(src);
      decodeBlockWith(engines[sel], cc, src, out, sel);
    },
    describe() {
      const head = `stride ${p.stride}, ${p.kind === 'raw' ? 'stored raw' : p.kind === 'single' ? 'one configuration' : 'per-block switch between two configurations'}`;
      const cfgs = p.configs.map((c, i) => `${p.configs.length > 1 ? `config ${i}: ` : ''}${describeConfig(c)}`);
      return [head, ...cfgs, `header ${params.length} bytes`].join('; ');
    },
  };
}
