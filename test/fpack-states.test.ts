import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CodecModel } from '../daemon/codecs/codec.ts';
import { FLOAT_DTYPES, type FloatDtype } from '../daemon/codecs/dtype.ts';
import { CodecError } from '../daemon/codecs/errors.ts';
import { fpack, fpackJs, fpackModelFromParams, fpackParamsOf } from '../daemon/codecs/fpack/index.ts';
import { parseParams, serialiseParams, type FpackParams, type FpackStates } from '../daemon/codecs/fpack/params.ts';
import { randomBytes } from './helpers.ts';
import { checkProperty } from './property.ts';
import { decodeWith, encode, toHex } from './codec-blocks.ts';

// fpack's interleaved rANS states (docs/float.md, blocks): the header's 2
// state bits, blocks of the first layout (1 state, from the build before the
// field existed) that must still decode bit-exactly, new fits with 2 states,
// and corrupt multi-state blocks, wasm decoder against coder.ts.

const SEED = 4242;
const width = (d: FloatDtype): number => (d === 'bfloat16' || d === 'float16' ? 2 : 1);
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** The wasm model and the JS-only model of the same header, with `states` rANS states. */
function pair(p: FpackParams, states: FpackStates): [CodecModel, CodecModel] {
  const q: FpackParams = { ...p, states };
  return [fpackModelFromParams(q), fpackModelFromParams(q, undefined, 'js')];
}

/**
 * Blocks of the first layout (one rANS state, the header's state bits 0),
 * made by the build before the field existed (commit 9caff50, `fpack.fit`
 * with stride 8 on 300 16-bit or 600 8-bit values whose zeros follow zeros
 * at the stride): each header has 2-3 A contexts, so history and context
 * both matter.
 */
const FIRST_LAYOUT: { dtype: FloatDtype; mode: string; params: string; block: string; raw: string }[] = [
  {
    dtype: "bfloat16",
    mode: "split",
    params: "100008000013a02004e8763d69e00000560002e00042e2a0289d0403ff000280e64650",
    block:
      "2f07001626a63ec8e40034adcd574ac0c7656a0109cc7ad5cfaba4d821f210e5745c4eda80a4b0c7e60a2c5f09a8fffe55ac5bc42a04d5d70da441da1aa55bdf94b66e51933ee25b0ea89b0e78c486aa745b63be5fbaba6e6ce5785a539a64d49b418c90d63b8dfeba604d128f16cc4900678433616960c45252e1174e22152c9fb9e221422bb247900e8f0c0bd4b54629296999b7c4009ad93b05e728674514f8bf7db56621acb4d20330002519445a323bef5cdc4e24f4cc84b2dd54583991b494a684f5681bc8292e2da47fd1b2802da2fed0176235a6e8dbde9883f2cb7abd6ca82e86e6692dea412020466d31b7ffbb83733eaddcd198f0",
    raw:
      "0000ab3b0000000000000000000000000000b13b00000000000000000000de3b000042bb00000000403c00000000353c00000000eb3b00000d3c483c00000000073c000000000000d03baa3c00000000ab3b000000000000f73bca3c0000b63bdcbb463c00000000993bee3c00004b3bc33b543c00009b3b1c3be33c0000243b6a3b4e3c0000163cd83adf3c000000005f3b753c0000e93bb93a673c00000000573b0b3c0000943be63a323c00000000d4bb363c000006bc643b0d3c00000000c73be33b0000ff3bba3bc03b00000000343c000000000000943bf13b00000000d93b12bc0000803b673b08bc00000000cd3b0b3c0000963b183b143c00000000293ce13b00002e3b9c3a00000000883ba93bc93b0000fb3a9e3a00000000443b503b153c0000d9ba233a00000000c83a0e3b1e3c0000303b2f3a0000a53baaba62bb253c00005a3b663a0000db3be23a003b353c00000000b23a0000ec3b2f3b723b0cbc00000000e8ba0000453c7c3bbf3bfb3b000000006a3a0000983c00000d3ccb3b9a3b803bcc3a0000043d0000463ca23b5a3b643b773a000000000000bd3ce63be23ae23b4f3a99bb000000000000213c593bdd3b543ab03b000000000000e6bb8d3b493c4abad03b00003d3c0000b43b1b3b903c0000a43b0000713c0000da3b8f3bf43c0000d93b00000000803b5b3b8b3bf63c0000013cec3b00008dbbd33be83bb73c00007a3cc43b00003f3b593bde3b5ebc6c3c503cba3b0000373b663b253c7a3c203c203c00000000403b0000193c693c1b3cff3b00000000f7ba0000e03bb93c3e3c5bbc733c0000000000008c3b8f3c",
  },
  {
    dtype: "float16",
    mode: "split",
    params: "100008000012c0c12cdd40002b00017000e800012c4007fe00103dc860c610613c014707f04e",
    block:
      "3e07f47e2359726202c36064e32cf98ce30a919f75afc8f7f499a737cd5e4805655ca9a58079d79cb7f8db10d7cbce372c38874de291348d60d733dfc7fafc49a658ccaa813569c3691075c6a926dfe5279e251903ee19aaea8830278c1852a745981df23dd5a2a1b38fe167c674c9de4dbdc4c86abd96e7512a2687c6cb07f46827fc16b0b3f002292964859087048ac5c686160e22ab0416b07b478301746a92695252113986ca744d534d40b96be8b428a6453b8ca59886acd04685a41b4645108985fdeb3994ca1bb81909058a3c4c3ce3ad25192e27a9c01e411971611dfe8c13410ce7f680b51baaeda1b7bd2b04e4163446b6541441f27496f520900a233698db9d6fb23733e887733a63c0",
    raw:
      "0000ab2f0000000000000000000000000000b12f00000000000000000000de2f000042af00000000403000000000353000000000eb2f00000d304830000000000730000000000000d02faa3000000000ab2f000000000000f72fca300000b62fdcaf463000000000992fee3000004b2fc32f543000009b2f1c2fe3300000242f6a2f4e3000001630d82edf30000000005f2f75300000e92fb92e673000000000572f0b300000942fe62e323000000000d4af3630000006b0642f0d3000000000c72fe32f0000ff2fba2fc02f000000003430000000000000942ff12f00000000d92f12b00000802f672f08b000000000cd2f0b300000962f182f1430000000002930e12f00002e2f9c2e00000000882fa92fc92f0000fb2e9e2e00000000442f502f15300000d9ae232e00000000c82e0e2f1e300000302f2f2e0000a52faaae62af253000005a2f662e0000db2fe22e002f353000000000b22e0000ec2f2f2f722f0cb000000000e8ae000045307c2fbf2ffb2f000000006a2e0000983000000d30cb2f9a2f802fcc2e0000043100004630a22f5a2f642f772e000000000000bd30e62fe22ee22f4f2e99af0000000000002130592fdd2f542eb02f000000000000e6af8d2f49304aaed02f00003d300000b42f1b2f90300000a42f000071300000da2f8f2ff4300000d92f00000000802f5b2f8b2ff63000000130ec2f00008dafd32fe82fb73000007a30c42f00003f2f592fde2f5eb06c305030ba2f0000372f662f25307a302030203000000000402f0000193069301b30ff2f00000000f7ae0000e02fb9303e305bb073300000000000008c2f8f30",
  },
  {
    dtype: "float8_e4m3",
    mode: "split",
    params: "1000080000221c10253a6e2001190000020c02d9810000e200038b840010887fe00051e087a0",
    block:
      "4d114cfe3e1ada6d12576c04a324fe2acd82bbb1c2866847ae2d43f9182c1e9cedd08cf31dff9334ee2c3d706eeb1acf0859157a4e961e31c7e68a84fd2d93fe10387c9320eb539e16aefb71ebd4878795854446973986c67b46856bba5573a4370d564250796268b4539b82295ad7787f77a4048a66a8a56aa573b76a674e567742f35672f66672e779b71986748b5968677c5888597b5bc435e6b34b580773c2b26a5f1c62592d1d825b02ca7f1ec708a53897316c6651f3321c525f56218c6b0a3030bd25aec4b695dd25d6e5b765ddcee4447dcb516ab3ba6cb4d436c632bbe433cf2abc561a55c612bec1a454b0cdcc9d4e63464f4be4b6de4c4d6dcdacdd44b55434cebcbcd72c42683b2af83ab9c60bb180",
    raw:
      "000030000000000000002f003000000000af312d30002d00002c002c0000ac000000002eb1002f000000002b310030000000002e34002e000000002f33002c000000002e302d2e330033322d2d2f2b000000b22c2b2fa8000000352d2e2c2a002d00382f312e2a002e000030332c2d002b310033302a2a312d3200350000002f2f302f37002f002f32002c38002c003032002e00002e003230322d00002e32322d2fab332f2e00322e2f2c362d2e002faf2c2a372b2d002e002f2a372eae002e002f2a362f002f31332f2900b100302e002f2c30332d312e00302e2f002f342d00b03030002d312f00332db30000342c0000ab00002d362e33002b00002c332d3000282f2f2b342a33002a2e322d3729342e2a2d312a352935302a2d3300382a3432002f000037293634002f0000002800003032002d002b3000312f002b00292e00342e002ead290000372b002b2a290000342d002a2da60032342c002b00290030352e0029002c002e382e0029002f3200002c3300002d353031aeb500002a3333322c333200003534332e36340000003333003331000000353400303030000037330000b12e32003a352d002e2f2f003c3500312e3132303e353034002e002d3f002f34003000003e2f3136002d2d003f303234002bac004233303400002aad3f00003530002b2c4000003231002e294133003131002b00423100343400ae00403400313600312f0034003100002e0000353334310030310032353331003300ad31333230003100002e323230002e003131352f31002f003132362d30302c0000b5382f002e2d002db7382f2d2f2b003034b9002f2e2b",
  },
  {
    dtype: "float8_e5m2",
    mode: "whole",
    params: "1400080000224c08008a45a351c90d4cb6b800000100000000001700074029537b400000000e40026800002402e43d0001e024",
    block:
      "7247f9cce522255eee002faa658030df1975eeca8aa60f22c93c513e8393858fb971ff43d1a813fbbcc9ba2e09912a2a522af3a7f4e9106a507e445593abf21c5fd96b6e2c70e8e2aa026e44599d2399f65f4720075e6aa4b3d35c8189f2cda29fd34e1d2b77afd8f85589c467e70ffa29420b69cc0c7b1b546795b2c1da80ace4403a350a5ec5335828935257f749ae83684b91a5682a76814c60a54a645b2b7842ca5c53622c37ea13af073a5772688e51101a36faa1ea7744e283c972a4e1017f0c26722be0391eed7d4f8bf6d0edbb59a2029190cad47c865daa880cef9a73ebb0edec2469299fc3f8c5e1378e534cf3570dacc828a5437fe88007414f8346",
    raw:
      "000030000000000000002f003000000000af312d30002d00002c002c0000ac000000002eb1002f000000002b310030000000002e34002e000000002f33002c000000002e302d2e330033322d2d2f2b000000b22c2b2fa8000000352d2e2c2a002d00382f312e2a002e000030332c2d002b310033302a2a312d3200350000002f2f302f37002f002f32002c38002c003032002e00002e003230322d00002e32322d2fab332f2e00322e2f2c362d2e002faf2c2a372b2d002e002f2a372eae002e002f2a362f002f31332f2900b100302e002f2c30332d312e00302e2f002f342d00b03030002d312f00332db30000342c0000ab00002d362e33002b00002c332d3000282f2f2b342a33002a2e322d3729342e2a2d312a352935302a2d3300382a3432002f000037293634002f0000002800003032002d002b3000312f002b00292e00342e002ead290000372b002b2a290000342d002a2da60032342c002b00290030352e0029002c002e382e0029002f3200002c3300002d353031aeb500002a3333322c333200003534332e36340000003333003331000000353400303030000037330000b12e32003a352d002e2f2f003c3500312e3132303e353034002e002d3f002f34003000003e2f3136002d2d003f303234002bac004233303400002aad3f00003530002b2c4000003231002e294133003131002b00423100343400ae00403400313600312f0034003100002e0000353334310030310032353331003300ad31333230003100002e323230002e003131352f31002f003132362d30302c0000b5382f002e2d002db7382f2d2f2b003034b9002f2e2b",
  },
  {
    dtype: "float8_e4m3",
    mode: "delta",
    params: "180008000012050040404168d490c86c3f5fd6f800000007f8000002e00000000ea391e600012000c03d0003b982",
    block:
      "a50111686d370b30215085b283e8fef1e212798e33244625fb1a72a60558e1184d64b1051503fa17480600181c37e407cb4dab306028e3407dc5681fe48034a2eeeb0e3708002b36587bc372a9a7b0b8636815984e94a31e0930600a33287df424666e623cce7e6cc920691d56ba661de7b6acd26c800b2a489d158b5922b9a3986bac25fc17b845d1638f25b4cc5cc81cbb1248ab28e88a2cd2139fa7a97cf0f16297644536c377000a3e2f618a1bd436b2ad3b2208b1406508ee08b00176fe4c42b46fb94ba55d6ce855d7072a5d6ff061fa5b671db8b83247163d5483d176205da06f5cbb3d2686f11e96c5658185c59e98eba017b68fa5864bbeef230bc14ec46f5639ade81000a48d28",
    raw:
      "000030000000000000002f003000000000af312d30002d00002c002c0000ac000000002eb1002f000000002b310030000000002e34002e000000002f33002c000000002e302d2e330033322d2d2f2b000000b22c2b2fa8000000352d2e2c2a002d00382f312e2a002e000030332c2d002b310033302a2a312d3200350000002f2f302f37002f002f32002c38002c003032002e00002e003230322d00002e32322d2fab332f2e00322e2f2c362d2e002faf2c2a372b2d002e002f2a372eae002e002f2a362f002f31332f2900b100302e002f2c30332d312e00302e2f002f342d00b03030002d312f00332db30000342c0000ab00002d362e33002b00002c332d3000282f2f2b342a33002a2e322d3729342e2a2d312a352935302a2d3300382a3432002f000037293634002f0000002800003032002d002b3000312f002b00292e00342e002ead290000372b002b2a290000342d002a2da60032342c002b00290030352e0029002c002e382e0029002f3200002c3300002d353031aeb500002a3333322c333200003534332e36340000003333003331000000353400303030000037330000b12e32003a352d002e2f2f003c3500312e3132303e353034002e002d3f002f34003000003e2f3136002d2d003f303234002bac004233303400002aad3f00003530002b2c4000003231002e294133003131002b00423100343400ae00403400313600312f0034003100002e0000353334310030310032353331003300ad31333230003100002e323230002e003131352f31002f003132362d30302c0000b5382f002e2d002db7382f2d2f2b003034b9002f2e2b",
  },
];

describe('fpack rANS states', () => {
  for (const g of FIRST_LAYOUT) {
    it(`a ${g.dtype} ${g.mode} block of the first layout (1 state) decodes and encodes bit-exactly, wasm and JS`, () => {
      for (const codec of [fpack, fpackJs]) {
        const m = codec.load(hex(g.params), g.dtype);
        const p = fpackParamsOf(m);
        assert.equal(p.states, undefined, 'no states field: 1 state');
        assert.match(m.describe?.() ?? '', /; 1 rANS state per block;/);
        assert.equal(p.mode, g.mode);
        assert.ok((p.aClasses.length - 1) * (p.aClasses2.length - 1) > 1, 'a header with A contexts');
        assert.equal(toHex(serialiseParams(p)), g.params, 'the header written back unchanged');
        assert.deepEqual(decodeWith(m, hex(g.block), g.raw.length / 2), { ok: true, bytes: g.raw }, codec === fpack ? 'wasm' : 'js');
        assert.equal(toHex(encode(m, hex(g.raw))), g.block);
      }
    });
  }

  it('the header carries log2(states) in its 2 formerly zero bits; 8 states are refused', () => {
    const g = FIRST_LAYOUT[0];
    const p = parseParams(hex(g.params), g.dtype);
    for (const [states, bits] of [[1, 0], [2, 1], [4, 2]] as const) {
      const h = serialiseParams({ ...p, states });
      assert.equal(h[0] & 3, bits, `${states} states`);
      assert.equal(parseParams(h, g.dtype).states, states === 1 ? undefined : states);
    }
    const bad = hex(g.params);
    bad[0] |= 3;
    assert.throws(() => parseParams(bad, g.dtype), (e: unknown) => e instanceof CodecError && e.code === 'E_CORRUPT' && /8 rANS states/.test(e.message));
    assert.throws(() => serialiseParams({ ...p, states: 3 as FpackStates }), (e: unknown) => e instanceof CodecError && e.code === 'E_CORRUPT');
  });

  it('new fits get 2 states; the same tables in 1, 2 or 4 states code the same values, about 4 bytes per state apart', () => {
    for (const g of FIRST_LAYOUT) {
      const raw = hex(g.raw);
      const fitted = fpack.fit(raw, g.dtype, { stride: 8, kind: 'activation', fpackMode: g.mode as 'split' });
      assert.equal(fpackParamsOf(fitted).states, 2, `${g.dtype} ${g.mode}`);
      assert.equal(fitted.params[0] & 3, 1);
      assert.match(fitted.describe?.() ?? '', /; 2 interleaved rANS states per block;/);
      const p = parseParams(hex(g.params), g.dtype);
      const coded = new Map<number, Uint8Array>();
      for (const k of [1, 2, 4] as const) {
        const [w, j] = pair(p, k);
        const c = encode(j, raw);
        coded.set(k, c);
        assert.deepEqual(decodeWith(w, c, raw.length), { ok: true, bytes: g.raw }, `${g.dtype} ${g.mode}, ${k} states, wasm`);
        assert.deepEqual(decodeWith(j, c, raw.length), { ok: true, bytes: g.raw }, `${g.dtype} ${g.mode}, ${k} states, js`);
      }
      assert.equal(toHex(coded.get(1)!), g.block, 'the one-state layout is the first layout');
      for (const k of [2, 4]) {
        const extra = coded.get(k)!.length - coded.get(1)!.length;
        // each extra state: its 4-byte final state, less what it saves of the others' renormalisation bytes
        assert.ok(Math.abs(extra - 4 * (k - 1)) <= 2 * (k - 1), `${g.dtype} ${g.mode}: ${k} states cost ${extra} bytes`);
      }
      // the states are interleaved value by value: a block of one layout does not decode with another
      for (const [a, b] of [[1, 2], [2, 1], [2, 4], [4, 2]] as const) {
        for (const m of pair(p, b)) assert.equal(decodeWith(m, coded.get(a)!, raw.length).ok, false, `${a}-state block read as ${b} states`);
      }
    }
  });

  it('models with many A contexts (the search form of the wasm decoder) decode as in JS with 1, 2 and 4 states', () => {
    for (const g of FIRST_LAYOUT) {
      const p = parseParams(hex(g.params), g.dtype);
      const E = p.aClasses[p.aClasses.length - 1];
      // 8 x 2 classes over the neighbours' exponents: 16 contexts, each with its own count row
      // (the fitted row with its non-empty counts rotated, so every row stays valid and differs)
      const aClasses = Array.from({ length: 9 }, (_, c) => Math.round((c * E) / 8));
      const aClasses2 = [0, E >> 1, E];
      const base = p.a.counts[0];
      const live = base.flatMap((c, i) => (c > 0 ? [i] : []));
      const counts = Array.from({ length: 16 }, (_, r) => {
        const row = base.slice();
        live.forEach((i, j) => (row[i] = base[live[(j + r) % live.length]]));
        return row;
      });
      const many: FpackParams = { ...p, distance2: p.distance * 2, aClasses, aClasses2, a: { vmin: p.a.vmin, counts } };
      const raw = hex(g.raw);
      for (const k of [1, 2, 4] as const) {
        const [w, j] = pair(many, k);
        const c = encode(j, raw);
        assert.deepEqual(decodeWith(w, c, raw.length), { ok: true, bytes: g.raw }, `${g.dtype} ${g.mode}, 16 contexts, ${k} states, wasm`);
        assert.deepEqual(decodeWith(j, c, raw.length), { ok: true, bytes: g.raw });
        // and a damaged copy fails alike
        const bad = c.slice();
        bad[c.length >> 1] ^= 0x24;
        assert.deepEqual(decodeWith(w, bad, raw.length), decodeWith(j, bad, raw.length), `${g.dtype} ${g.mode}, 16 contexts, ${k} states, damaged`);
      }
    }
  });

  it('blocks of fewer values than states round trip in every mode, wasm as JS', () => {
    for (const g of FIRST_LAYOUT) {
      const p = parseParams(hex(g.params), g.dtype);
      const raw = hex(g.raw);
      for (const k of [2, 4] as const) {
        const [w, j] = pair(p, k);
        for (const values of [1, 2, 3, 4, 5, 9]) {
          const part = raw.subarray(0, values * width(g.dtype));
          const c = encode(j, part);
          assert.deepEqual(decodeWith(w, c, part.length), { ok: true, bytes: toHex(part) }, `${g.dtype} ${g.mode}, ${k} states, ${values} values`);
          assert.deepEqual(decodeWith(j, c, part.length), { ok: true, bytes: toHex(part) });
        }
      }
    }
  });

  it('rejects a rANS stream too short for its states and initial states out of range, wasm as JS', () => {
    const g = FIRST_LAYOUT[2];
    const p = parseParams(hex(g.params), g.dtype);
    const raw = hex(g.raw);
    for (const k of [2, 4] as const) {
      const [w, j] = pair(p, k);
      const good = encode(j, raw);
      // varint R of 4k - 1 bytes: shorter than the states
      const short = Uint8Array.of(4 * k - 1, ...new Uint8Array(4 * k - 1).fill(0x40), ...new Uint8Array(40));
      const o = decodeWith(j, short, raw.length);
      assert.equal(o.ok, false);
      assert.match((o as { message: string }).message, new RegExp(`shorter than its ${k} states`));
      assert.deepEqual(decodeWith(w, short, raw.length), o);
      // the varint of these blocks is 2 bytes; the states follow it
      const statesAt = good[0] >= 0x80 ? 2 : 1;
      for (let s = 0; s < k; s++) {
        for (const top of [0x80, 0x00]) {
          const bad = good.slice();
          bad.fill(0, statesAt + 4 * s, statesAt + 4 * s + 4);
          bad[statesAt + 4 * s] = top;
          const r = decodeWith(j, bad, raw.length);
          assert.deepEqual(r, { ok: false, code: 'E_CORRUPT', message: 'fpack rANS initial state is out of range' }, `state ${s} of ${k}, top byte ${top}`);
          assert.deepEqual(decodeWith(w, bad, raw.length), r);
        }
      }
    }
  });

  it(`corrupt multi-state blocks fail as in coder.ts, never silently past the rANS checks (seed ${SEED})`, () => {
    const models = FIRST_LAYOUT.map((g) => ({ g, p: parseParams(hex(g.params), g.dtype) }));
    checkProperty(
      fc.property(
        fc.constantFrom(...models),
        fc.constantFrom(2, 4),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: -6, max: 6 }),
        ({ g, p }, k, seed, edits, resize) => {
          const [w, j] = pair(p, k as FpackStates);
          // a block of the model's data, rotated so each run sees other values on other states
          const raw = hex(g.raw);
          const n = raw.length / width(g.dtype);
          const cut = (seed % n) * width(g.dtype);
          const data = Uint8Array.of(...raw.subarray(cut), ...raw.subarray(0, cut));
          const good = encode(j, data);
          const broken = new Uint8Array(Math.max(0, good.length + resize));
          broken.set(good.subarray(0, broken.length));
          for (const [at, x] of edits) if (broken.length > 0) broken[at % broken.length] ^= x;
          const o = decodeWith(j, broken, data.length);
          assert.deepEqual(decodeWith(w, broken, data.length), o, `${g.dtype} ${g.mode}, ${k} states`);
          // a damaged varint, state or renormalisation byte is caught; only raw offset bits can change a value silently
          const offsetsFrom = (good[0] & 0x7f) + (good[0] >= 0x80 ? (good[1] << 7) + 2 : 1);
          const onlyOffsets = resize === 0 && edits.every(([at]) => at % broken.length >= offsetsFrom);
          if (o.ok && o.bytes !== toHex(data)) assert.ok(onlyOffsets, `${g.dtype} ${g.mode}, ${k} states: a damaged rANS stream decoded to other bytes`);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it(`round trips property inputs with 4 states too, wasm as JS (seed ${SEED})`, () => {
    checkProperty(
      fc.property(fc.constantFrom(...FLOAT_DTYPES), fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 40 }), (d, n, seed, stride) => {
        const r = randomBytes(n * width(d), seed);
        // skewed: many zeros, the rest random bit patterns
        const raw = r.map((b, i) => (r[(i * 7) % r.length] < 100 ? 0 : b));
        const m = fpack.fit(raw, d, { stride, kind: 'activation' });
        const [w, j] = pair(fpackParamsOf(m), 4);
        const c = encode(j, raw);
        assert.deepEqual(decodeWith(w, c, raw.length), { ok: true, bytes: toHex(raw) });
        assert.deepEqual(decodeWith(j, c, raw.length), { ok: true, bytes: toHex(raw) });
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
