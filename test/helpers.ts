import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHARED } from './root.ts';
import { loadDataset, readTensor, tensorClass, type Dataset } from '../daemon/dataset/manifest.ts';

/**
 * The compiled CLI entry (what `shimpack` and `npm start` run): tests that
 * spawn the CLI run it, built fresh by test/run.sh (`npm run build`).
 */
export const CLI_JS = join(ROOT, 'dist/daemon/cli/main.js');

export { ROOT, SHARED } from './root.ts';
export const DATA_DIR = `${SHARED}data`;
export const hasData = existsSync(`${DATA_DIR}/manifest.json`);

/** A few real tensors of every class (the smallest and a large one), for quick round trips. */
export function sampleTensors(perClass = 2): { name: string; dtype: 'int8' | 'uint8'; data: Uint8Array; kind: string }[] {
  const ds: Dataset = loadDataset(DATA_DIR);
  const byClass = new Map<string, typeof ds.tensors[number][]>();
  for (const t of ds.tensors) {
    const c = tensorClass(t);
    byClass.set(c, [...(byClass.get(c) ?? []), t]);
  }
  const out: { name: string; dtype: 'int8' | 'uint8'; data: Uint8Array; kind: string }[] = [];
  for (const ts of byClass.values()) {
    const sorted = [...ts].sort((a, b) => a.bytes - b.bytes);
    const picks = [sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1]].slice(0, perClass + 1);
    for (const t of picks) out.push({ name: t.file, dtype: t.dtype as 'int8' | 'uint8', data: readTensor(ds, t), kind: t.kind });
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
