import assert from 'node:assert/strict';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { CodecError } from '../daemon/codecs/errors.ts';

/** Block coding helpers the codec tests share: the two sides of a block, as values a test can compare. */

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What decoding a block gave: the bytes (hex), or the CodecError. */
export type Outcome = { ok: true; bytes: string } | { ok: false; code: string; message: string };

/** Decode `block` into rawLength bytes (over a filled buffer, so a byte left unwritten shows). Other errors than CodecError are thrown. */
export function decodeWith(m: CodecModel, block: Uint8Array, rawLength: number): Outcome {
  try {
    const out = new Uint8Array(rawLength).fill(0xa5);
    m.decodeBlock(block, out);
    return { ok: true, bytes: toHex(out) };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Encode one block, within maxEncodedBytes. */
export function encode(m: CodecModel, raw: Uint8Array): Uint8Array {
  const buf = new Uint8Array(m.maxEncodedBytes(raw.length));
  const n = m.encodeBlock(raw, buf);
  assert.ok(n <= m.maxEncodedBytes(raw.length), `${n} bytes, above maxEncodedBytes`);
  return buf.slice(0, n);
}
