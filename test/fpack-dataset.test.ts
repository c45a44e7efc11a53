import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fpack } from '../daemon/codecs/fpack/index.ts';
import { contextOptions } from '../daemon/bench/context-options.ts';
import { DEFAULT_DATA_DIR, loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { FLOAT_FORMATS, type FloatFormat } from '../daemon/dataset/float-convert.ts';

const FLOAT_DIR = resolve(DEFAULT_DATA_DIR, '../data-float');
const hasFloat = existsSync(join(FLOAT_DIR, 'manifest.json'));
const BLOCK = 4096;

// Byte-exact round trip of every tensor of ../shared/data-float in all four
// formats. The model is fitted to each tensor's first 64 KiB, as the daemon
// fits a region to its first bytes written, so every later block is coded
// with a model that has not seen it.
describe('fpack round-trips every tensor of ../shared/data-float', { skip: !hasFloat && 'no ../shared/data-float' }, () => {
  for (const f of Object.keys(FLOAT_FORMATS) as FloatFormat[]) {
    it(`${f}: every tensor, 4 KiB blocks`, () => {
      const ds = loadDataset(FLOAT_DIR, [f]);
      let raw = 0;
      let coded = 0;
      const scratch = new Uint8Array(2 * BLOCK + 64);
      const out = new Uint8Array(BLOCK);
      for (const t of ds.tensors) {
        const data = readTensor(ds, t);
        assert.equal(data.length, t.bytes);
        const m = fpack.fit(data.subarray(0, 65536), t.dtype, contextOptions(t));
        for (let off = 0; off < data.length; off += BLOCK) {
          const blk = data.subarray(off, Math.min(data.length, off + BLOCK));
          const n = m.encodeBlock(blk, scratch);
          const dst = out.subarray(0, blk.length);
          m.decodeBlock(scratch.subarray(0, n), dst);
          assert.ok(Buffer.from(dst.buffer, dst.byteOffset, dst.length).equals(blk), `${t.file} block at ${off}`);
          coded += Math.min(n, blk.length);
        }
        raw += data.length;
        coded += m.params.length;
      }
      assert.equal(ds.tensors.length, 129);
      // Not a ratio target (bench ratio reports those): a sanity bound that fails if coding broke.
      assert.ok(coded < 0.85 * raw, `${f}: ${coded} of ${raw} bytes`);
    });
  }
});
