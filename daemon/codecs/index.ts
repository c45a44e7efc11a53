import type { Codec, CodecName } from './codec.ts';
import { CodecError } from './errors.ts';
import { apack } from './apack/index.ts';
import { ebpc } from './ebpc/index.ts';
import { fpack } from './fpack/index.ts';
import { raw } from './raw.ts';
import { scc } from './scc/index.ts';
import { zvc } from './zvc.ts';

export const CODECS: readonly Codec[] = [apack, ebpc, zvc, raw, scc, fpack];

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
