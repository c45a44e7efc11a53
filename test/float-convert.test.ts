import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_DATA_DIR } from '../daemon/dataset/manifest.ts';
import { bf16FromF32Bits, convertF32, fp16FromF32Bits, fp8FromF32Bits, fp8Scale } from '../daemon/dataset/float-convert.ts';

const FLOAT_DIR = resolve(DEFAULT_DATA_DIR, '../data-float');
const TOOLS = join(FLOAT_DIR, 'tools');
const hasFloat = existsSync(join(FLOAT_DIR, 'manifest.json'));
const hex = (v: number, w: number): string => `0x${(v >>> 0).toString(16).padStart(w, '0')}`;

describe('float32 -> bf16 / fp16 / fp8 conversion (data-float rules)', { skip: !hasFloat && 'no ../shared/data-float' }, () => {
  it('matches every test vector of data-float/tools/testvectors.json', () => {
    const tv = JSON.parse(readFileSync(join(TOOLS, 'testvectors.json'), 'utf8')) as {
      vectors: { f32: string; bf16: string; fp16: string; e4m3_scale1: string; e5m2_scale1: string }[];
      tensor_tests: { name: string; f32: string[]; bf16?: string[]; fp16?: string[]; e4m3: { scale: number; codes: string[] }; e5m2: { scale: number; codes: string[] } }[];
    };
    let checked = 0;
    for (const v of tv.vectors) {
      const u = parseInt(v.f32, 16) >>> 0;
      assert.equal(hex(bf16FromF32Bits(u), 4), v.bf16, `${v.f32} bf16`);
      assert.equal(hex(fp16FromF32Bits(u), 4), v.fp16, `${v.f32} fp16`);
      assert.equal(hex(fp8FromF32Bits(u, 1, 'e4m3'), 2), v.e4m3_scale1, `${v.f32} e4m3`);
      assert.equal(hex(fp8FromF32Bits(u, 1, 'e5m2'), 2), v.e5m2_scale1, `${v.f32} e5m2`);
      checked += 4;
    }
    for (const t of tv.tensor_tests) {
      const bits = Uint32Array.from(t.f32, (x) => parseInt(x, 16) >>> 0);
      for (const f of ['e4m3', 'e5m2'] as const) {
        const s = fp8Scale(bits, f);
        assert.equal(s, t[f].scale, `${t.name} ${f} scale`);
        bits.forEach((u, i) => assert.equal(hex(fp8FromF32Bits(u, s, f), 2), t[f].codes[i], `${t.name} ${f} ${i}`));
        checked += bits.length + 1;
      }
      if (t.bf16) bits.forEach((u, i) => assert.equal(hex(bf16FromF32Bits(u), 4), t.bf16![i]));
      if (t.fp16) bits.forEach((u, i) => assert.equal(hex(fp16FromF32Bits(u), 4), t.fp16![i]));
    }
    assert.ok(checked > 250, `${checked} checks`);
  });

  it('gives the bytes of the data set\'s own convert.cjs on real tensors, in all four formats', () => {
    const manifest = JSON.parse(readFileSync(join(FLOAT_DIR, 'manifest.json'), 'utf8')) as { tensors: { file: string; kind: string; bytes: number }[] };
    // one weight and one activation map, the smallest of each
    const pick = ['weight', 'activation'].map((k) => manifest.tensors.filter((t) => t.kind === k).sort((a, b) => a.bytes - b.bytes)[0]);
    const dir = mkdtempSync(join(tmpdir(), 'shimpack-conv-'));
    try {
      for (const t of pick) {
        const f32 = new Uint8Array(readFileSync(join(FLOAT_DIR, t.file)));
        for (const f of ['bf16', 'fp16', 'e4m3', 'e5m2'] as const) {
          const out = join(dir, `x.${f}`);
          const said = execFileSync(process.execPath, [join(TOOLS, 'convert.cjs'), join(FLOAT_DIR, t.file), '--to', f, '-o', out], { encoding: 'utf8' });
          const mine = convertF32(f32, f);
          assert.ok(Buffer.from(mine.data).equals(readFileSync(out)), `${t.file} ${f}`);
          if (mine.scale !== undefined) assert.match(said, new RegExp(`scale ${mine.scale}\\b`));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
