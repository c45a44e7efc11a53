import type { Codec, CodecName } from './codec.ts';
import { CodecError } from './errors.ts';
import { apack, apackJs } from './apack/index.ts';
import { ebpc, ebpcJs } from './ebpc/index.ts';
import { fpack, fpackJs } from './fpack/index.ts';
import { raw } from './raw.ts';
import { scc, sccJs } from './scc/index.ts';
import { zvc, zvcJs } from './zvc.ts';

export const CODECS: readonly Codec[] = [apack, ebpc, zvc, raw, scc, fpack];

/**
 * The same codecs with their JS block coders only, for the codecs whose
 * default path is WebAssembly (wasm/): the reference those coders match bit
 * for bit, measured beside them by `bench speed` and compared by the tests.
 */
export const JS_CODECS: readonly Codec[] = [apackJs, ebpcJs, zvcJs, sccJs, fpackJs];

export function codecByName(name: string): Codec {
  const c = CODECS.find((x) => x.name === name);
  if (!c) throw new CodecError('E_BAD_ARGUMENT', `unknown codec "${name}" (known: ${CODECS.map((x) => x.name).join(', ')})`);
  return c;
}

export function codecById(id: number): Codec {
  const c = CODECS.find((x) => x.id === id);
  if (!c) throw new CodecError('E_CORRUPT', `unknown codec id ${id}`);
  return c;
}

export type { Codec, CodecName };
