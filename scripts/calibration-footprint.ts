/**
 * Footprint of APack weight regions under different first writes: one write
 * of the whole tensor, a zero-length write first, 64-byte bursts, 100 zero
 * bytes first. Shows how much the way a region is first written changes its
 * table (see protocol/README.md §4.2, calibration).
 *
 *   node dist/scripts/calibration-footprint.js [model] [count]
 */
import { ShimpackClient } from '../clients/ts/index.ts';
import { configWith } from '../daemon/config.ts';
import { loadDataset, readTensor } from '../daemon/dataset/manifest.ts';
import { startDaemon } from '../daemon/server/daemon.ts';

const model = process.argv[2] ?? 'faceapi-ssd-mobilenetv1';
const count = Number(process.argv[3] ?? 4);
const ds = loadDataset();
const tensors = ds.tensors
  .filter((t) => t.model === model && t.kind === 'weight' && t.dtype === 'int8' && t.bytes >= 65536)
  .slice(0, count);

const d = await startDaemon(configWith({ host: '127.0.0.1', port: 0, lanes: 2 }));
const c = await ShimpackClient.connect(d.url);
let base = 0;
const pct = (s: { storedBytes: number; rawBytesStored: number }): string => ((100 * s.storedBytes) / s.rawBytesStored).toFixed(1);

type Writer = (addr: number, data: Uint8Array) => Promise<unknown>;
const ways: Record<string, Writer> = {
  'one write': (a, data) => c.write(a, data),
  'empty first': async (a, data) => {
    await c.write(a, new Uint8Array(0));
    await c.write(a, data);
  },
  '64 B bursts': (a, data) => {
    const ps: Promise<unknown>[] = [];
    for (let o = 0; o < data.length; o += 64) ps.push(c.write(a + o, data.subarray(o, o + 64)));
    return Promise.all(ps);
  },
  '100 zeros first': async (a, data) => {
    await c.write(a, new Uint8Array(100));
    await c.write(a, data);
  },
};

console.log(['tensor', 'bytes', ...Object.keys(ways)].join('\t'));
for (const t of tensors) {
  const data = readTensor(ds, t);
  const row = [t.layer.slice(0, 40), String(data.length)];
  for (const [way, write] of Object.entries(ways)) {
    const name = `${way} ${t.file}`;
    await c.region({ name, base, size: data.length, dtype: 'int8', kind: 'weight', codec: 'apack' });
    await write(base, data);
    const back = await c.read(base, data.length);
    if (Buffer.compare(Buffer.from(back), Buffer.from(data)) !== 0) throw new Error(`${name}: read back differs`);
    row.push(`${pct((await c.stats(name)).regions[0])}%`);
    base += data.length + 65536;
  }
  console.log(row.join('\t'));
}
await c.close();
await d.close();
