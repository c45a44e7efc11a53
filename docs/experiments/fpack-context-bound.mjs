// What a per-value neighbour context costs APack's fastest decoder (docs/float.md, "A bound").
// Run in a checkout with fpack-context-bound.patch applied and built (npm run build:wasm && npm run build):
//   node docs/experiments/fpack-context-bound.mjs e4m3 2 64     (format, MB of the subset, contexts)
// Every fp8 tensor of bench speed's evenly spread subset is fitted and coded by APack as uint8
// (4 states); each variant of the patched decoder then decodes the same blocks, checked byte for
// byte, and is timed per tensor (CPU time, best of 7 alternating rounds).
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = (p) => pathToFileURL(resolve('dist/daemon', p)).href;
const { loadDataset, readTensor } = await import(dist('dataset/manifest.js'));
const { contextOptions } = await import(dist('bench/context-options.js'));
const { CODECS } = await import(dist('codecs/index.js'));
const { codecWasm } = await import(dist('codecs/wasm/instance.js'));

const fmt = process.argv[2] ?? 'e4m3';
const maxMb = Number(process.argv[3] ?? 2);
const k = Number(process.argv[4] ?? 64);
const ds = loadDataset(resolve('../shared/data-float'), [fmt]);
const total = ds.tensors.reduce((s, t) => s + t.bytes, 0);
const keep = Math.max(1, Math.round((ds.tensors.length * maxMb * 1e6) / total));
const sub = total <= maxMb * 1e6 ? ds.tensors : Array.from({ length: keep }, (_, i) => ds.tensors[Math.floor((i * ds.tensors.length) / keep)]);
const apack = CODECS.find((c) => c.name === 'apack');
const items = sub.map((t) => {
  const data = readTensor(ds, t);
  const model = apack.fit(data, 'uint8');
  // the neighbour at least a chunk (256 values) back, as the decoder's chunked passes need
  const d1 = Math.min(1020, Math.max(256, contextOptions(t)?.stride ?? 0));
  const scratch = new Uint8Array(model.maxEncodedBytes(4096));
  const blocks = [];
  for (let off = 0; off < data.length; off += 4096) {
    const raw = data.subarray(off, Math.min(data.length, off + 4096));
    const n = model.encodeBlock(raw, scratch);
    blocks.push({ raw, coded: n >= raw.length ? null : scratch.slice(0, n) });
  }
  return { model, blocks, d1, bytes: data.length };
});
const bytes = items.reduce((s, it) => s + it.bytes, 0);

// Context maps: a byte's bits 3..6 (e4m3's exponent) -> one of k contexts (k1 classes x k2 classes).
const heap = codecWasm.heap;
const XC1 = 0x1940000 + 0x40000;
const XC2 = XC1 + 0x400;
const CT1 = XC2 + 0x400;
const CT2 = CT1 + 16;
const k1 = Math.min(8, k);
const k2 = Math.max(1, k / k1);
const dv = new DataView(heap.buffer);
for (let b = 0; b < 256; b++) {
  const ex = (b >> 3) & 15;
  dv.setUint32(XC1 + 4 * b, (Math.min(k1 - 1, ex >> 1) * k2) << 12, true);
  dv.setUint32(XC2 + 4 * b, Math.min(k2 - 1, ex >> 2) << 12, true);
}
for (let ex = 0; ex < 16; ex++) {
  heap[CT1 + ex] = Math.min(k1 - 1, ex >> 1) * k2;
  heap[CT2 + ex] = Math.min(k2 - 1, ex >> 2);
}

// -1: the unmodified decoder (apackDecode4, two passes); the others apackDecode4Ctx's variants (see the patch)
const variants = { apack: -1, chunked: 0, 'ctx1 scalar': 1, 'ctx2 scalar': 2, 'ctx1 simd': 3, 'ctx2 simd': 4, 'ctx1 simd, split tables': 5, 'chunked, split tables': 6 };
const out = new Uint8Array(4096);
const decodeTensor = (it) => {
  for (const b of it.blocks) {
    const d = out.subarray(0, b.raw.length);
    if (!b.coded) d.set(b.raw);
    else it.model.decodeBlock(b.coded, d);
  }
};
const time = Object.fromEntries(Object.keys(variants).map((v) => [v, 0]));
for (const it of items) {
  const X = { ctx: -1, d1: it.d1, d2: 2 * it.d1, k, prepared: -1 };
  globalThis.__ctxExp = X;
  for (const [name, v] of Object.entries(variants)) {
    X.ctx = v;
    for (const b of it.blocks) {
      if (!b.coded) continue;
      const d = out.subarray(0, b.raw.length);
      it.model.decodeBlock(b.coded, d);
      if (!d.every((x, i) => x === b.raw[i])) throw new Error(`${name}: a block did not round-trip`);
    }
  }
  const best = Object.fromEntries(Object.keys(variants).map((v) => [v, Infinity]));
  for (let r = 0; r < 7; r++) {
    for (const [name, v] of Object.entries(variants)) {
      X.ctx = v;
      decodeTensor(it);
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      let reps = 0;
      do {
        decodeTensor(it);
        reps++;
      } while (performance.now() - w0 < 15);
      const c = process.cpuUsage(c0);
      best[name] = Math.min(best[name], (c.user + c.system) / 1e6 / reps);
    }
  }
  for (const v of Object.keys(variants)) time[v] += best[v];
}
console.log(`${fmt}: ${(bytes / 1e6).toFixed(2)} MB, ${items.length} tensors, ${k} contexts (decode MB/s, and / the unmodified decoder)`);
for (const v of Object.keys(variants)) console.log(`  ${v.padEnd(24)} ${(bytes / time[v] / 1e6).toFixed(1).padStart(6)}  ${(time.apack / time[v]).toFixed(3)}`);
