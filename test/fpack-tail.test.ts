import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contextOptions } from '../daemon/bench/context-options.ts';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { FLOAT_DTYPES, type FloatDtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { encodeBlock, tailChunk } from '../daemon/codecs/fpack/coder.ts';
import { buildEngine, TAIL_BITS_PER_STATE } from '../daemon/codecs/fpack/engine.ts';
import { fpack, fpackModelFromParams, fpackParamsOf } from '../daemon/codecs/fpack/index.ts';
import { parseParams, serialiseParams, type FpackMode, type FpackParams, type FpackStates } from '../daemon/codecs/fpack/params.ts';
import { DEFAULT_DATA_DIR, loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { FLOAT_FORMATS, type FloatFormat } from '../daemon/dataset/float-convert.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';
import { decodeWith, encode, toHex, type Outcome } from './codec-blocks.ts';

// fpack header version 2 (docs/float.md, blocks): a block's last values ride,
// raw, in the encoder's initial rANS states and come back from the decoder's
// final states. Version-1 blocks made before it (2 states) decode bit for
// bit; version-2 blocks round trip in every mode, state count and block
// length around the tail, on real tensors and property inputs, wasm as JS;
// final states outside their tail's range fail with E_CORRUPT in both.

const FLOAT_DIR = resolve(DEFAULT_DATA_DIR, '../data-float');
const hasFloat = existsSync(join(FLOAT_DIR, 'manifest.json'));
const SEED = 2323;
const L = 1 << 23;
const width = (d: FloatDtype): number => (d === 'bfloat16' || d === 'float16' ? 2 : 1);
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const isCorrupt = (e: unknown): boolean => e instanceof CodecError && e.code === 'E_CORRUPT';

/** coder.ts's plain block (no repeat or palette wrapping) of the bytes the block coder sees (palette mode: index bytes). */
function encodeRaw(p: FpackParams, raw: Uint8Array, tailOffsets?: readonly number[]): Uint8Array {
  const e = buildEngine(p);
  const n = raw.length / (e.plan.bits / 8);
  const buf = new Uint8Array(4 * n + 64);
  return buf.slice(0, encodeBlock(e, raw, buf, tailOffsets));
}

/** The wasm model and the JS-only model of a header. */
function pair(p: FpackParams): [CodecModel, CodecModel] {
  return [fpackModelFromParams(p), fpackModelFromParams(p, undefined, 'js')];
}

/** Both decoders give the same outcome; returns it. */
function both(p: FpackParams, block: Uint8Array, rawLength: number, what: string): Outcome {
  const [w, j] = pair(p);
  const o = decodeWith(j, block, rawLength);
  assert.deepEqual(decodeWith(w, block, rawLength), o, `${what}: wasm as JS`);
  return o;
}

/** Both decoders give `raw` back from `block`. */
function roundTrips(p: FpackParams, block: Uint8Array, raw: Uint8Array, what: string): void {
  assert.deepEqual(both(p, block, raw.length, what), { ok: true, bytes: toHex(raw) }, what);
}

/** Tail values per block of a version-2 model: 24 bits per state, values of 16 bits in 16-bit split mode, 8 otherwise. */
function tailOf(p: FpackParams): number {
  const w = p.mode === 'palette' ? 8 : width(p.dtype) * 8;
  return Math.floor((TAIL_BITS_PER_STATE * (p.states ?? 1)) / w);
}

/** The bytes the block coder sees: the index bytes in palette mode, else the raw bytes. */
function coderBytes(p: FpackParams, raw: Uint8Array): Uint8Array {
  if (p.mode !== 'palette') return raw;
  const w = width(p.dtype);
  const idx = new Uint8Array(raw.length / w);
  const pal = p.palette!;
  for (let i = 0; i < idx.length; i++) {
    const v = w === 2 ? raw[2 * i] | (raw[2 * i + 1] << 8) : raw[i];
    const k = pal.indexOf(v);
    // 8-bit values outside the palette: their index among the unlisted bytes (palette.ts); the fixtures' are all listed
    assert.ok(k >= 0, 'a fixture value outside its palette');
    idx[i] = k;
  }
  return idx;
}

interface Fixture {
  dtype: FloatDtype;
  mode: string;
  params: string;
  block: string;
  raw: string;
}

/**
 * Version-1 headers with 2 interleaved states and their blocks, made by the
 * build before version 2 (main at ac44d0c, `fpack.fit` with stride 8, the
 * given mode, on 160 values: zeros that follow zeros at the stride, a few
 * magnitudes otherwise; "repeat": 16-bit split mode on values that repeat
 * x[i-8] 70 % of the time, i.e. a repeat block).
 */
const V1_TWO_STATES: Fixture[] = [
  {
    dtype: "bfloat16",
    mode: "split",
    params: "1100080000004009e0f87e9f800494580004f0201ff8000ffc",
    block:
      "200420ffd013775d912e5d82291d8d7ddc8a50bb4a8e64f302318391c72067783201c1bcb2634b935560863b5521b7bf1aa97008774542f37bbb8397a93deb64f4ee09bc5eaf0f0d45c36fe8cfe8e1f4cf9a24173a338965a74715cceab940f9bc2297dc0cf39f396fca80",
    raw:
      "033e00000000863ecbbd4c3ea5bca63d0000000000002bbd0000083e47be0000000000000000aabc0000433d5ebe000000000000f1bd00000000000000000000000000002abd000000000000f03c0000213c00000000000000000000babe000000000000000000000000000000000000000028bc00000000000000000000000000003cbe0000fb3df73e00000000000000001c3c75bd4f3eebbc000000000000000093bcce3d82bdbcbc0000000000000000fa3c70bdc3bdc53c00000000000000008d3d7ebd333d00000000000000000000e8bd87bdcc3d000000000000000000000000e6bd243d5c3c0000a3bd000062bce53c00001dbd0000713c00000000f33c6abc0000f23e0000833e00009bbd84be000000000000000000000000cb3cb8bd00000000673c733d000000000000cebe00000000ef3caa3d000000000000",
  },
  {
    dtype: "bfloat16",
    mode: "palette",
    params: "1d000800000900003c773c003c333c663c113c223c553c883c440030082414df44a0c800",
    block:
      "1d6ff66df525424dacaefe6a4740002e6d10d13e2eebe2cd614993dc5383c57056b081c1ade34b0b68958658bb01c06001a1eb02a6699c975a09f44ec11500",
    raw:
      "553c0000003c333c0000883c773c003c00000000000000000000333c553c223c113c000000000000003c773c773c883c0000773c0000003c223c663c663c00000000553c0000003c223c003c0000663c0000773c00000000333c00000000553c0000553c00000000113c0000333c443c0000333c00000000223c0000443c00000000443c113c0000003c0000113c00000000223c00000000113c00000000333c0000883c0000663c773c773c0000663c0000113c773c003c113c00000000000000000000773c773c773c663c0000333c00000000773c883c223c663c773c000000000000773c223c333c663c0000443c00000000003c223c0000003c0000113c883c0000003c003c663c223c0000663c333c0000773c333c663c883c00000000333c0000003c003c0000553c0000553c773c333c0000003c333c0000113c0000",
  },
  {
    dtype: "bfloat16",
    mode: "repeat",
    params: "110008000013c02004f07a3f6b8000563a00021800cc4400009e0403ff0001ff80",
    block:
      "011212e238bbb9f95288ea5a4b9a48a6abe1ca80110288afeb27fbbdc20cd83566e9cd9f514f80f0672e4cd2a4d445eb0cfdb74b770cb3b513496321b86ef9df2976d251743c9f1cb03804f8",
    raw:
      "033e00000000863ecbbd4c3ea5bca63d000000000000863e00004c3ea5bca63d000000000000863e0000c43ca5bcfa3d000000000000863e0000c43ca5bcfa3d0000000000008c3e0000c43ca5bc0000000000000000fbbc0000c43ca5bc0000000000000000babd000037bca5bc0000000000000000c3bd33bd37bca5bcea3c000000000000c3bd33bd37bca5bcea3c1abd000016bcc3bd33bd48bda5bcea3c1abd000016bcb8bd33bd48bd5dbccebe1abd00000000b8bde5be48bd5dbccebe1abd000000003bbde5be48bd5dbccebea4bd000000003bbde5be48bd5dbccebea4bd000000000bbe000007be5dbccebea73c000000009c3e000000005dbc40bea73c000000009c3e000000005dbc40bea73c000000009c3e000000005dbc40bea73c000000009c3e000000005dbc40bea73c000000009c3e80be00005dbc1fbc",
  },
  {
    dtype: "float16",
    mode: "split",
    params: "110008000000304f427e0017e0004f1001ff8000ffc0",
    block:
      "1a07895eef14efd83efcef9666236dcc91db411f68bf9e037ef3bc406a1ae5a4c94a69a95a08c8f2a8a1e5ebe34a878021d750a31e1fb5ee072baa4f9d724ce75829783eab85c318a636bf133bd161ce65e6248172d1c621cb474388f38d4bc941d9bd0832edc0672e7b38779aa0",
    raw:
      "033e00000000863ecbbd4c3ea5bca63d0000000000002bbd0000083e47be0000000000000000aabc0000433d5ebe000000000000f1bd00000000000000000000000000002abd000000000000f03c0000213c00000000000000000000babe000000000000000000000000000000000000000028bc00000000000000000000000000003cbe0000fb3df73e00000000000000001c3c75bd4f3eebbc000000000000000093bcce3d82bdbcbc0000000000000000fa3c70bdc3bdc53c00000000000000008d3d7ebd333d00000000000000000000e8bd87bdcc3d000000000000000000000000e6bd243d5c3c0000a3bd000062bce53c00001dbd0000713c00000000f33c6abc0000f23e0000833e00009bbd84be000000000000000000000000cb3cb8bd00000000673c733d000000000000cebe00000000ef3caa3d000000000000",
  },
  {
    dtype: "float16",
    mode: "palette",
    params: "1d000800000900003c773c003c333c663c113c223c553c883c440030082414df44a0c800",
    block:
      "1d6ff66df525424dacaefe6a4740002e6d10d13e2eebe2cd614993dc5383c57056b081c1ade34b0b68958658bb01c06001a1eb02a6699c975a09f44ec11500",
    raw:
      "553c0000003c333c0000883c773c003c00000000000000000000333c553c223c113c000000000000003c773c773c883c0000773c0000003c223c663c663c00000000553c0000003c223c003c0000663c0000773c00000000333c00000000553c0000553c00000000113c0000333c443c0000333c00000000223c0000443c00000000443c113c0000003c0000113c00000000223c00000000113c00000000333c0000883c0000663c773c773c0000663c0000113c773c003c113c00000000000000000000773c773c773c663c0000333c00000000773c883c223c663c773c000000000000773c223c333c663c0000443c00000000003c223c0000003c0000113c883c0000003c003c663c223c0000663c333c0000773c333c663c883c00000000333c0000003c003c0000553c0000553c773c333c0000003c333c0000113c0000",
  },
  {
    dtype: "float16",
    mode: "repeat",
    params: "110008000013c0c13d0d70002800010c00ee40013c4007fe001829c2a1175179295298000d5411ac001adad0",
    block:
      "011212e238bbb9f95288ea5a4b9a48a6abe1ca80140fe0078d01722debf3371ee3558be76b14198b3b56dde495a43f81c549e415514e3d1d234421d36e289128a23f254fe595617d19a76b77",
    raw:
      "033e00000000863ecbbd4c3ea5bca63d000000000000863e00004c3ea5bca63d000000000000863e0000c43ca5bcfa3d000000000000863e0000c43ca5bcfa3d0000000000008c3e0000c43ca5bc0000000000000000fbbc0000c43ca5bc0000000000000000babd000037bca5bc0000000000000000c3bd33bd37bca5bcea3c000000000000c3bd33bd37bca5bcea3c1abd000016bcc3bd33bd48bda5bcea3c1abd000016bcb8bd33bd48bd5dbccebe1abd00000000b8bde5be48bd5dbccebe1abd000000003bbde5be48bd5dbccebea4bd000000003bbde5be48bd5dbccebea4bd000000000bbe000007be5dbccebea73c000000009c3e000000005dbc40bea73c000000009c3e000000005dbc40bea73c000000009c3e000000005dbc40bea73c000000009c3e000000005dbc40bea73c000000009c3e80be00005dbc1fbc",
  },
  {
    dtype: "float8_e4m3",
    mode: "split",
    params: "11000800000030994f20010c0002610ffc0007fe",
    block:
      "1b4bd7b69a0104725af9fe6f71de540c36b88ae4eae01e154d370680029c67c2e53cda169343cf8e8483a536397444a861276d9511408dc0cfd9437200e485e679c22fe1f8491865fa1bc33458125b5f9f95fb0574f04c2033a39a",
    raw:
      "30c14900474800c63ccc00004e410000ba3b3800cc000000ceb64100b0b6000045b5430000454c0039b24100000041000000b10000004e0000004e3d34003c32b548b400cf00b900380000004fb0300000000000c9b03f000000000046bebcb000c70000c8bf004100b136003600003fca36cc00b40000004c3e3100b1000000bb3f00c900ce3d0000ce0048003d4c0000cc00340000484000b4cab60000ba00",
  },
  {
    dtype: "float8_e4m3",
    mode: "whole",
    params: "1500080000005008c0a0b0683c80023c001f0000",
    block:
      "252c97f27c1842035ff9707a8c80407240508be374be106eae68b24a80c52abb0eeb18673d3d04737c599cf454b473c6880d52cebc48a310fbcd23045c13e947c00c81f673017c3e21319fa3709c7042b7e7cdf61bce1310268ca0",
    raw:
      "30c14900474800c63ccc00004e410000ba3b3800cc000000ceb64100b0b6000045b5430000454c0039b24100000041000000b10000004e0000004e3d34003c32b548b400cf00b900380000004fb0300000000000c9b03f000000000046bebcb000c70000c8bf004100b136003600003fca36cc00b40000004c3e3100b1000000bb3f00c900ce3d0000ce0048003d4c0000cc00340000484000b4cab60000ba00",
  },
  {
    dtype: "float8_e4m3",
    mode: "delta",
    params: "19000800001300806cc4c80cfc80",
    block:
      "106eb903f32c448b963c7e32eb2552adf12fbd484647b80bf4b606f84688873764beeb8d081bc8930001307b4bf302fdbaf4c6328c0c7f3c33ed31c9477cc27b89cd6db7349ece69c7660e8ff183ceb770fe3c7115357e3ffdb4677c94c096077d027700ceb531b03c3b71918b0e01ebc2fb3f17b4947cbf",
    raw:
      "30c14900474800c63ccc00004e410000ba3b3800cc000000ceb64100b0b6000045b5430000454c0039b24100000041000000b10000004e0000004e3d34003c32b548b400cf00b900380000004fb0300000000000c9b03f000000000046bebcb000c70000c8bf004100b136003600003fca36cc00b40000004c3e3100b1000000bb3f00c900ce3d0000ce0048003d4c0000cc00340000484000b4cab60000ba00",
  },
  {
    dtype: "float8_e4m3",
    mode: "palette",
    params: "1d0008000009003834353036373332310030080815028cac9000",
    block:
      "223f36f6d4032672b4af5cb354eb8443f6961358c6d8219c1b915a6042f3bdf1f55260949d426d87422231404005d7d2b87742c9a1319f92240a18",
    raw:
      "37330000380035353233000038003400000000000000000000000000000000000030003600000000003600383600000038340000363300003400000030000038353800000034000037360034003334003430000000343400383438300031380030313200003733363735000000323130343800003300373732373800000035380000003800353736000035310032300000003038350035343800383433343600",
  },
  {
    dtype: "float8_e5m2",
    mode: "split",
    params: "110008000000304c51e4002180004c11ff8000ffc0",
    block:
      "1b4bd7b69a0104725af9fe6f71de540c36b88ae4eae01e154d370680025c6bc2e63cea159343cf8e8443a9363a7844686117ae9921808dc0cfd543b100d446ea79c12fd1f84528a6f62bc3386811576f5f99fb0678f08c20336396",
    raw:
      "30c14900474800c63ccc00004e410000ba3b3800cc000000ceb64100b0b6000045b5430000454c0039b24100000041000000b10000004e0000004e3d34003c32b548b400cf00b900380000004fb0300000000000c9b03f000000000046bebcb000c70000c8bf004100b136003600003fca36cc00b40000004c3e3100b1000000bb3f00c900ce3d0000ce0048003d4c0000cc00340000484000b4cab60000ba00",
  },
  {
    dtype: "float8_e5m2",
    mode: "whole",
    params: "1500080000005008c0a0b0683c80023c001f0000",
    block:
      "252c97f27c1842035ff9707a8c80407240508be374be106eae68b24a80c52abb0eeb18673d3d04737c599cf454b473c6880d52cebc48a310fbcd23045c13e947c00c81f673017c3e21319fa3709c7042b7e7cdf61bce1310268ca0",
    raw:
      "30c14900474800c63ccc00004e410000ba3b3800cc000000ceb64100b0b6000045b5430000454c0039b24100000041000000b10000004e0000004e3d34003c32b548b400cf00b900380000004fb0300000000000c9b03f000000000046bebcb000c70000c8bf004100b136003600003fca36cc00b40000004c3e3100b1000000bb3f00c900ce3d0000ce0048003d4c0000cc00340000484000b4cab60000ba00",
  },
  {
    dtype: "float8_e5m2",
    mode: "delta",
    params: "1900080000130040366264067e40",
    block:
      "106eb903f32c448b963c7e32eb2552adf12fbd484647b80bf4b606f84688873764beeb8d081bc8930001307b4bf302fdbaf4c6328c0c7f3c33ed31c9477cc27b89cd6db7349ece69c7660e8ff183ceb770fe3c7115357e3ffdb4677c94c096077d027700ceb531b03c3b71918b0e01ebc2fb3f17b4947cbf",
    raw:
      "30c14900474800c63ccc00004e410000ba3b3800cc000000ceb64100b0b6000045b5430000454c0039b24100000041000000b10000004e0000004e3d34003c32b548b400cf00b900380000004fb0300000000000c9b03f000000000046bebcb000c70000c8bf004100b136003600003fca36cc00b40000004c3e3100b1000000bb3f00c900ce3d0000ce0048003d4c0000cc00340000484000b4cab60000ba00",
  },
  {
    dtype: "float8_e5m2",
    mode: "palette",
    params: "1d0008000009003834353036373332310030080815028cac9000",
    block:
      "223f36f6d4032672b4af5cb354eb8443f6961358c6d8219c1b915a6042f3bdf1f55260949d426d87422231404005d7d2b87742c9a1319f92240a18",
    raw:
      "37330000380035353233000038003400000000000000000000000000000000000030003600000000003600383600000038340000363300003400000030000038353800000034000037360034003334003430000000343400383438300031380030313200003733363735000000323130343800003300373732373800000035380000003800353736000035310032300000003038350035343800383433343600",
  },
];

const STATES: readonly FpackStates[] = [1, 2, 4];
const v1 = V1_TWO_STATES.map((g) => ({ g, p: parseParams(hex(g.params), g.dtype), raw: hex(g.raw) }));

describe('fpack header version 2: the tail in the rANS states', () => {
  it('fits write version 2; the header keeps it, version 1 parses without the field, others are E_CORRUPT', () => {
    for (const { g, p, raw } of v1) {
      assert.equal(p.version, undefined, `${g.dtype} ${g.mode}: a version-1 header parses to no version field`);
      assert.deepEqual(serialiseParams(p), hex(g.params), 'and writes back the same bytes');
      const m = fpack.fit(raw, g.dtype, { stride: 8, kind: 'activation', fpackMode: (g.mode === 'repeat' ? 'split' : g.mode) as FpackMode });
      const q = fpackParamsOf(m);
      assert.equal(q.version, 2);
      assert.equal(m.params[0] >> 4, 2, 'version in the top 4 bits');
      assert.deepEqual(parseParams(m.params, g.dtype), q);
      assert.deepEqual(serialiseParams(q), m.params);
      assert.match(m.describe?.() ?? '', new RegExp(`; the last ${tailOf(q)} values of a block in the initial rANS states;`));
      for (const bad of [0, 3, 15]) {
        const h = m.params.slice();
        h[0] = (bad << 4) | (h[0] & 15);
        assert.throws(() => parseParams(h, g.dtype), (e: unknown) => isCorrupt(e) && new RegExp(`version ${bad} is not 1 or 2`).test((e as Error).message));
      }
      assert.throws(() => serialiseParams({ ...q, version: 3 as 2 }), isCorrupt);
    }
  });

  it('version-1 blocks with two states from the build before version 2 decode bit for bit and encode the same, wasm as JS', () => {
    assert.equal(v1.length, 14);
    for (const { g, p, raw } of v1) {
      assert.equal(p.states, 2);
      const block = hex(g.block);
      roundTrips(p, block, raw, `${g.dtype} ${g.mode}`);
      const [, j] = pair(p);
      assert.equal(toHex(encode(j, raw)), g.block, `${g.dtype} ${g.mode}: the encoder of version 1 is unchanged`);
      if (g.mode === 'repeat') assert.equal(block[0], 0x01, 'a repeat block');
    }
  });

  it('a version-2 block whose tail values are all zero is the version-1 block of the values before them', () => {
    for (const { g, p, raw } of v1) {
      for (const states of STATES) {
        const one: FpackParams = { ...p, states };
        const two: FpackParams = { ...one, version: 2 };
        const t = tailOf(two);
        const bytes = coderBytes(p, raw);
        const w = bytes.length / (raw.length / width(g.dtype));
        const head = bytes.subarray(0, bytes.length - t * w);
        const zeroTail = Uint8Array.of(...head, ...new Uint8Array(t * w));
        // the encoder starts every state at L + 0: the same stream, the same bytes
        assert.equal(toHex(encodeRaw(two, zeroTail)), toHex(encodeRaw(one, head)), `${g.dtype} ${g.mode}, ${states} states`);
      }
    }
  });

  it('round trips every mode with 1, 2 and 4 states, blocks of 1 value to past the tail, wasm as JS', () => {
    let saved = 0;
    for (const { g, p, raw } of v1) {
      for (const states of STATES) {
        const q: FpackParams = { ...p, states, version: 2 };
        const [w, j] = pair(q);
        const t = tailOf(q);
        const n = raw.length / width(g.dtype);
        const sizes = new Set([1, 2, t - 1, t, t + 1, t + 2, 2 * t + 1, n - 1, n].filter((k) => k >= 1 && k <= n));
        for (const k of sizes) {
          const part = raw.subarray(raw.length - k * width(g.dtype));
          const c = encode(j, part);
          roundTrips(q, c, part, `${g.dtype} ${g.mode}, ${states} states, ${k} values (tail ${t})`);
          assert.deepEqual(decodeWith(w, encode(w, part), part.length), { ok: true, bytes: toHex(part) });
        }
        // the tail saves the coded bits of its values, less about a bit per state: more than a byte
        // unless its values are cheap to code (the fixtures' zeros)
        const [, j1] = pair({ ...p, states });
        const [b2, b1] = [encode(j, raw).length, encode(j1, raw).length];
        assert.ok(b2 <= b1 + 1, `${g.dtype} ${g.mode}, ${states} states: version 2 ${b2} bytes, version 1 ${b1}`);
        saved += b1 - b2;
      }
    }
    assert.ok(saved > 2 * v1.length * STATES.length, `version 2 saved ${saved} bytes over ${v1.length * STATES.length} blocks`);
  });

  it('repeat blocks carry the tail in their block of values that do not repeat, of every length around it', () => {
    for (const d of ['bfloat16', 'float16'] as const) {
      const g = v1.find((x) => x.g.dtype === d && x.g.mode === 'repeat')!;
      const q: FpackParams = { ...g.p, version: 2 };
      const D = q.distance;
      assert.ok(D > 0);
      const t = tailOf(q);
      const base = g.raw;
      for (let others = 0; others <= t + 1; others++) {
        // D values without a neighbour in the block, then repeats of x[i-D] but for `others` values spread over the block
        const n = 64;
        const raw = new Uint8Array(2 * n);
        raw.set(base.subarray(0, 2 * D));
        const odd = new Set(Array.from({ length: others }, (_, k) => D + Math.floor(((k + 1) * (n - D)) / (others + 1)) - 1));
        for (let i = D; i < n; i++) {
          const v = odd.has(i) ? 0x3f00 + i : raw[2 * (i - D)] | (raw[2 * (i - D) + 1] << 8);
          raw[2 * i] = v & 255;
          raw[2 * i + 1] = v >> 8;
        }
        const [, j] = pair(q);
        const c = encode(j, raw);
        assert.equal(c[0], 0x01, `${d}: ${D + others} values that do not repeat make a repeat block`);
        roundTrips(q, c, raw, `${d}: repeat block, ${D + others} values that do not repeat (tail ${t})`);
      }
    }
  });

  it('final states outside their tail bits fail with E_CORRUPT in both decoders; the largest in range decodes', () => {
    for (const { g, p, raw } of v1) {
      for (const states of STATES) {
        const q: FpackParams = { ...p, states, version: 2 };
        const t = tailOf(q);
        const bytes = coderBytes(q, raw);
        const w = bytes.length / (raw.length / width(g.dtype));
        const n = bytes.length / w;
        const bits = t * w * 8;
        for (let k = 0; k < states; k++) {
          const c = tailChunk(bits, states, k);
          assert.ok(c <= TAIL_BITS_PER_STATE);
          const what = `${g.dtype} ${g.mode}, ${states} states, state ${k} (${c} bits)`;
          // the block coder's own output length: the index bytes in palette mode
          const len = p.mode === 'palette' ? n * width(g.dtype) : bytes.length;
          const decodeAs = (offsets: number[]): Outcome => {
            const block = encodeRaw(q, bytes, offsets);
            return both(q, block, len, what);
          };
          const zeros = new Array<number>(states).fill(0);
          for (const r of [2 ** c, 2 ** 30 - 1, 2 ** 30]) {
            const o = decodeAs(zeros.map((z, s) => (s === k ? r : z)));
            assert.deepEqual(o, { ok: false, code: 'E_CORRUPT', message: `fpack rANS final state ${k} holds more than its ${c} tail bits: corrupt block` }, `${what}: ${r}`);
          }
          // below L: the encoder's first step then leaves a state the decoder renormalises past the stream
          const below = decodeAs(zeros.map((z, s) => (s === k ? -1 : z)));
          assert.equal(below.ok, false, `${what}: a state below L`);
          assert.equal((below as { code: string }).code, 'E_CORRUPT');
          // 2^c - 1: all ones, in range: the chunk's bits decode to ones (a 16-bit palette has no index 255)
          const o = decodeAs(zeros.map((z, s) => (s === k ? 2 ** c - 1 : z)));
          if (p.mode === 'palette' && width(g.dtype) === 2 && !o.ok) assert.match(o.message, /fpack palette index \d+ is outside the palette/);
          else assert.equal(o.ok, true, `${what}: the largest offset in range`);
        }
        // a block of exactly the tail: its stored states are the final states
        const block = new Uint8Array(1 + 4 * states);
        block[0] = 4 * states;
        const view = new DataView(block.buffer);
        const c0 = tailChunk(bits, states, 0);
        for (let s = 0; s < states; s++) view.setUint32(1 + 4 * s, L);
        assert.equal(both(q, block, t * w * (p.mode === 'palette' ? width(g.dtype) : 1), `${g.dtype} ${g.mode}: states only`).ok, true);
        view.setUint32(1, L + 2 ** c0);
        assert.deepEqual(both(q, block, t * w * (p.mode === 'palette' ? width(g.dtype) : 1), `${g.dtype} ${g.mode}: states only, padding set`), {
          ok: false,
          code: 'E_CORRUPT',
          message: `fpack rANS final state 0 holds more than its ${c0} tail bits: corrupt block`,
        });
      }
    }
  });

  it('round trips real tensors of all four formats in every mode with 1, 2 and 4 states, wasm as JS', { skip: !hasFloat && 'no ../shared/data-float' }, () => {
    let blocks = 0;
    let palettes = 0;
    for (const f of Object.keys(FLOAT_FORMATS) as FloatFormat[]) {
      const ds = loadDataset(FLOAT_DIR, [f]);
      // an activation map, float weights and weights from u8 codes of each format
      const picks = [ds.tensors.find((t) => t.kind === 'activation'), ...ds.tensors.filter((t) => t.kind === 'weight').filter((_, i) => i % 9 === 0)];
      for (const t of picks.filter((x) => x !== undefined)) {
        const data = readTensor(ds, t);
        const wv = width(t.dtype as FloatDtype);
        const modes: FpackMode[] = wv === 1 ? ['split', 'whole', 'delta', 'palette'] : ['split', 'palette'];
        for (const fpackMode of modes) {
          let p: FpackParams;
          try {
            p = fpackParamsOf(fpack.fit(data.subarray(0, 16384), t.dtype, { ...contextOptions(t), fpackMode }));
          } catch (e) {
            // palette mode needs at most 256 distinct values
            if (fpackMode === 'palette' && e instanceof CodecError && e.code === 'E_BAD_ARGUMENT') continue;
            throw e;
          }
          if (fpackMode === 'palette') palettes++;
          for (const states of STATES) {
            const q: FpackParams = { ...p, states };
            const [, j] = pair(q);
            const tl = tailOf(q);
            const pieces = [data.subarray(0, 4096), data.subarray(data.length - ((data.length % 4096) || 4096))];
            for (const k of [tl - 1, tl, tl + 1, 3 * tl]) if (k >= 1) pieces.push(data.subarray(4096 - k * wv, 4096));
            for (const piece of pieces) {
              roundTrips(q, encode(j, piece), piece, `${f} ${t.file} ${fpackMode}, ${states} states, ${piece.length} bytes`);
              blocks++;
            }
          }
        }
      }
    }
    assert.ok(blocks > 200, `only ${blocks} blocks`);
    assert.ok(palettes >= 4, `palette mode on ${palettes} tensors`);
  });

  it(`round trips and rejects property inputs with 1, 2 and 4 states alike in both decoders (seed ${SEED})`, () => {
    checkProperty(
      fc.property(
        fc.constantFrom(...FLOAT_DTYPES),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom<FpackMode | 'auto'>('auto', 'split', 'whole', 'delta', 'palette'),
        fc.constantFrom(...STATES),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        (d, n, seed, stride, mode, states, edits) => {
          const r = randomBytes(n * width(d), seed);
          // skewed: many zeros, few distinct values in palette runs, random bit patterns otherwise
          const few = (b: number, i: number): number => (width(d) === 2 && i % 2 === 1 ? 0x3c : b & 0x1f);
          const raw = r.map((b, i) => (r[(i * 7) % r.length] < 90 ? 0 : mode === 'palette' ? few(b, i) : b));
          const fpackMode = width(d) === 2 && (mode === 'whole' || mode === 'delta') ? 'split' : mode;
          const p = fpackParamsOf(fpack.fit(raw, d, { stride, kind: 'activation', fpackMode }));
          assert.equal(p.version, 2);
          const q: FpackParams = { ...p, states };
          const [w, j] = pair(q);
          const c = encode(j, raw);
          roundTrips(q, c, raw, `${d} ${fpackMode}, ${states} states, ${n} values`);
          assert.deepEqual(decodeWith(w, encode(w, raw), raw.length), { ok: true, bytes: toHex(raw) });
          const bad = c.slice();
          for (const [at, x] of edits) if (bad.length > 0) bad[at % bad.length] ^= x;
          both(q, bad, raw.length, `${d} ${fpackMode}, ${states} states, damaged`);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });
});
