import assert from 'node:assert/strict';
import { ShimpackClient } from '../clients/ts/index.ts';
import type { WireCodec } from '../protocol/types.ts';
import { loadDataset, readTensor, type TensorEntry } from '../daemon/dataset/manifest.ts';
import { DATA_DIR } from './helpers.ts';

/**
 * Steady traffic for the monitoring tests: for every codec the daemon offers,
 * a weight region and an activation region holding a real tensor from
 * ../shared/data, written and read back in chunks a few times a second, plus
 * one out-of-region read per tick so the error panels have something to show.
 */
export interface Traffic {
  /** Region names created, with their codec and kind. */
  readonly regions: readonly { name: string; codec: string; kind: string }[];
  /** Write/read rounds done so far. */
  rounds(): number;
  stop(): Promise<void>;
}

const CHUNK = 32 * 1024;
const TICK_MS = 100;
/** The daemon's default block size; the regions use it. */
const BLOCK = 4096;

/**
 * A typical tensor of its class from the data set, 128-512 KiB: an activation
 * map with about 60% zeros (post-ReLU), a weight tensor of about 4 bits of
 * entropy. Deterministic, so runs are comparable.
 */
function pick(tensors: readonly TensorEntry[], kind: 'weight' | 'activation', dtype: 'int8' | 'uint8'): TensorEntry {
  const distance = (x: TensorEntry): number => (kind === 'activation' ? Math.abs((x.zero_fraction ?? 0) - 0.6) : Math.abs((x.entropy_bits ?? 8) - 4));
  const t = [...tensors]
    .filter((x) => x.kind === kind && x.dtype === dtype && x.bytes >= 128 * 1024 && x.bytes <= 512 * 1024)
    .sort((a, b) => distance(a) - distance(b) || a.file.localeCompare(b.file))[0];
  assert.ok(t, `no ${kind} ${dtype} tensor of 128-512 KiB in ${DATA_DIR}`);
  return t;
}

export async function startTraffic(url: string): Promise<Traffic> {
  const ds = loadDataset(DATA_DIR);
  const sources = [
    { suffix: 'weights', kind: 'weight' as const, dtype: 'int8' as const, tensor: pick(ds.tensors, 'weight', 'int8') },
    { suffix: 'acts', kind: 'activation' as const, dtype: 'uint8' as const, tensor: pick(ds.tensors, 'activation', 'uint8') },
  ].map((s) => ({ ...s, data: readTensor(ds, s.tensor) }));
  const c = await ShimpackClient.connect(url, { client: 'monitoring-test' });
  const live: { name: string; codec: string; kind: string; base: number; data: Uint8Array }[] = [];
  let slot = 1;
  for (const codec of c.hello.codecs) {
    for (const s of sources) {
      const name = `${codec}-${s.suffix}`;
      const base = slot++ * 0x100_0000;
      try {
        // shape + layout give scc its stride; the other codecs accept and ignore them.
        await c.region({ name, base, size: s.data.length, dtype: s.dtype, kind: s.kind, codec: codec as WireCodec, shape: [...s.tensor.shape], layout: s.tensor.layout });
      } catch (e) {
        if ((e as { code?: string }).code === 'E_UNSUPPORTED') continue; // codec without this dtype
        throw e;
      }
      await c.write(base, s.data); // whole tensor once, so reads return real data
      live.push({ name, codec, kind: s.kind, base, data: s.data });
    }
  }
  assert.ok(live.length >= 2, `traffic needs regions, got ${live.length}`);

  let stopped = false;
  let rounds = 0;
  let failure: unknown;
  const loop = (async () => {
    let offset = 0;
    while (!stopped) {
      await Promise.all(
        live.map(async (r) => {
          // Block-aligned like an accelerator's tiles, so bytes moved equal bytes coded.
          const off = Math.floor((offset % Math.max(1, r.data.length - CHUNK)) / BLOCK) * BLOCK;
          const chunk = r.data.subarray(off, off + CHUNK);
          await c.write(r.base + off, chunk);
          const back = await c.read(r.base + off, chunk.length);
          assert.ok(Buffer.from(back).equals(Buffer.from(chunk)), `${r.name}: read back differs at ${off}`);
        }),
      );
      await c.read(0x10, 16).catch(() => undefined); // below every region: E_OUT_OF_REGION
      rounds++;
      offset += CHUNK + BLOCK;
      await new Promise((res) => setTimeout(res, TICK_MS));
    }
  })().catch((e: unknown) => {
    failure = e;
  });

  return {
    regions: live.map(({ name, codec, kind }) => ({ name, codec, kind })),
    rounds: () => rounds,
    async stop() {
      stopped = true;
      await loop;
      await c.close();
      if (failure) throw failure;
    },
  };
}
