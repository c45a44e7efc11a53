import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeContainer, encodeContainer } from '../daemon/codecs/container.ts';
import { CODECS } from '../daemon/codecs/index.ts';
import { strideFromShape } from '../daemon/codecs/stride.ts';
import { loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { DATA_DIR, hasData } from './helpers.ts';

// Byte-exact round trip of every tensor of the public data set through every
// codec that supports its dtype, at the default 4 KiB blocks.
describe('every tensor of ../shared/data round-trips', { skip: !hasData && 'no ../shared/data' }, () => {
  const ds = hasData ? loadDataset(DATA_DIR) : { dir: '', tensors: [] };
  // scc is left out here: test/scc-dataset.test.ts round-trips every tensor
  // through it (fitted once each) together with its footprint and ideal-size checks.
  // fpack takes float dtypes only: test/fpack-dataset.test.ts round-trips ../shared/data-float through it.
  for (const codec of CODECS.filter((c) => c.name !== 'raw' && c.name !== 'scc' && c.name !== 'fpack')) {
    it(`${codec.name}: all ${ds.tensors.length} tensors`, () => {
      let bytes = 0;
      for (const t of ds.tensors) {
        const data = readTensor(ds, t);
        // The stride (for scc; the other codecs ignore it) comes from the manifest's shape and layout.
        const codecOptions = { stride: strideFromShape(t.shape, t.layout), kind: t.kind };
        const c = encodeContainer(data, { codec: codec.name, dtype: t.dtype, codecOptions });
        const back = decodeContainer(c).data;
        assert.ok(Buffer.from(back.buffer, back.byteOffset, back.length).equals(data), `${codec.name} changed ${t.file}`);
        bytes += data.length;
      }
      assert.equal(bytes, ds.tensors.reduce((s, t) => s + t.bytes, 0));
    });
  }
});
