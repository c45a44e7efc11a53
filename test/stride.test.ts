import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodecError } from '../daemon/codecs/errors.ts';
import { checkStride, layoutName, MAX_STRIDE, strideFromShape } from '../daemon/codecs/stride.ts';
import { loadDataset } from '../daemon/dataset/manifest.ts';

describe('context stride from shape and layout', () => {
  it('is the channel count of one pixel for channels-last layouts', () => {
    assert.equal(strideFromShape([1, 64, 256, 32], 'NHWC'), 32);
    assert.equal(strideFromShape([3, 3, 16, 24], 'HWIO'), 24);
    assert.equal(strideFromShape([3, 3, 32, 2], 'HWCM'), 64);
    assert.equal(strideFromShape([1024, 10], 'IO'), 10);
    assert.equal(strideFromShape([7, 7, 3], 'hwc'), 3);
  });

  it('is 1 for channel-major layouts', () => {
    assert.equal(strideFromShape([1, 32, 64, 64], 'NCHW'), 1);
    assert.equal(strideFromShape([24, 16, 3, 3], 'OIHW'), 1);
  });

  it('reads the manifest layout strings', () => {
    assert.equal(layoutName('HWIO (kh,kw,in,out)'), 'HWIO');
    const ds = loadDataset();
    for (const t of ds.tensors) {
      const s = strideFromShape(t.shape, t.layout);
      assert.ok(s >= 1 && s <= MAX_STRIDE && t.bytes % s === 0, `${t.file}: stride ${s}`);
    }
  });

  it('rejects unknown layouts, wrong ranks, bad dimensions and huge strides', () => {
    const bad = (f: () => unknown, re: RegExp): void =>
      assert.throws(f, (e: unknown) => e instanceof CodecError && e.code === 'E_BAD_ARGUMENT' && re.test(e.message));
    bad(() => strideFromShape([1, 2, 3, 4], 'NWHC'), /unknown layout/);
    bad(() => strideFromShape([2, 3], 'NHWC'), /4 dimensions/);
    bad(() => strideFromShape([1, 2, 0, 4], 'NHWC'), /positive integers/);
    bad(() => strideFromShape([1, 2, 3, 1.5], 'NHWC'), /positive integers/);
    bad(() => strideFromShape([1, 1, 300, 300], 'HWCM'), /stride must be/);
    bad(() => checkStride(0), /stride must be/);
    bad(() => checkStride(65536), /stride must be/);
    assert.equal(checkStride(65535), 65535);
  });
});
