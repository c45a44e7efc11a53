import { loadDataset, readTensor, type Dataset, type TensorEntry } from '../dataset/manifest.ts';
import { crc32 } from 'node:zlib';
import { layoutName, strideFromShape } from '../codecs/stride.ts';
import { TraceError } from './errors.ts';
import type { RegionCodec } from './format.ts';
import { TraceWriter } from './writer.ts';

export interface ModelTraceOptions {
  readonly dataDir: string;
  readonly model: string;
  readonly out: string;
  /** Bytes per burst (default 64). */
  readonly burstBytes: number;
  /** Which weight files: `int8` (symmetric, every model) or `native` (the package's uint8 codes where they exist, int8 otherwise). */
  readonly weights: 'int8' | 'native';
  /** Activations of this input image (default: the model's first in the manifest). */
  readonly image?: string;
  /** Modelled DRAM bandwidth in bytes per ns (GB/s); t advances len / bandwidth per burst. */
  readonly bandwidth: number;
  /** Codec every region asks for (default: none, the daemon chooses by kind). */
  readonly codec?: RegionCodec;
  readonly gzip?: boolean;
  readonly progress?: (done: number, total: number) => void;
}

export interface ModelTracePlan {
  readonly weights: readonly TensorEntry[];
  readonly activations: readonly TensorEntry[];
  /** Per layer: the weights it reads, its input activation (index) and its output activation (index). */
  readonly layers: readonly { readonly weights: readonly number[]; readonly input?: number; readonly output?: number }[];
}

export interface ModelTraceSummary {
  readonly regions: number;
  readonly layers: number;
  readonly ops: number;
  readonly writeBytes: number;
  readonly readBytes: number;
  readonly lastT: number;
}

/** Regions start on 4 KiB boundaries, one after another from address 0. */
const REGION_ALIGN = 4096;

const order = (t: TensorEntry): number => Number(/\/(\d+)_[^/]*$/.exec(t.file)?.[1] ?? 0);

/**
 * Which tensors a model trace uses and in which layer order. A layer is one
 * recorded activation map: it reads the weights consumed since the previous
 * map up to and including its `producer_weight` (a depthwise and a pointwise
 * kernel, say), reads the previous map as input (the first layer's input is
 * the image, which the data set does not hold) and writes its own map. Weights
 * after the last map form a final layer that reads them and the last map.
 */
export function planModelTrace(ds: Dataset, model: string, weightsKind: 'int8' | 'native', image?: string): ModelTracePlan {
  const ofModel = ds.tensors.filter((t) => t.model === model);
  if (ofModel.length === 0) {
    const models = [...new Set(ds.tensors.map((t) => t.model))].join(', ');
    throw new TraceError('E_TRACE_DATA', `no model "${model}" in the data set (models: ${models})`);
  }
  const byLayer = new Map<string, TensorEntry[]>();
  for (const t of ofModel.filter((t) => t.kind === 'weight')) {
    const list = byLayer.get(t.layer) ?? [];
    list.push(t);
    byLayer.set(t.layer, list);
  }
  const weights = [...byLayer.values()]
    .map((versions) => {
      const i8 = versions.find((v) => v.dtype === 'int8');
      const native = versions.find((v) => v.dtype === 'uint8');
      return weightsKind === 'native' ? native ?? i8 ?? versions[0] : i8 ?? versions[0];
    })
    .sort((a, b) => order(a) - order(b));
  const images = [...new Set(ofModel.filter((t) => t.kind === 'activation').map((t) => t.image))];
  const img = image ?? images[0];
  if (image !== undefined && !images.includes(image)) {
    throw new TraceError('E_TRACE_DATA', `model ${model} has no activations of image "${image}" (images: ${images.join(', ')})`);
  }
  const activations = ofModel.filter((t) => t.kind === 'activation' && t.image === img).sort((a, b) => order(a) - order(b));
  const producerOf = new Map<string, number>();
  activations.forEach((a, ai) => {
    if (typeof a.producer_weight === 'string' && !producerOf.has(a.producer_weight)) producerOf.set(a.producer_weight, ai);
  });
  const layers: { weights: number[]; input?: number; output?: number }[] = activations.map((_a, ai) => ({
    weights: [],
    input: ai > 0 ? ai - 1 : undefined,
    output: ai,
  }));
  let pending: number[] = [];
  weights.forEach((w, wi) => {
    pending.push(wi);
    const layer = producerOf.get(w.layer);
    if (layer === undefined) return;
    layers[layer].weights.push(...pending);
    pending = [];
  });
  if (pending.length > 0) layers.push({ weights: pending, input: activations.length > 0 ? activations.length - 1 : undefined });
  return { weights, activations, layers };
}

const regionName = (t: TensorEntry): string => (t.kind === 'weight' ? `w:${t.layer}` : `a:${t.layer}`);

/**
 * The tensor's shape and layout name for its region record, when they give
 * a stride the daemon accepts (SCC needs one; other codecs ignore it).
 * Omitted otherwise, so an odd manifest entry cannot make replay fail.
 */
function shapeFields(t: TensorEntry): { shape: number[]; layout: string } | Record<string, never> {
  if (!Array.isArray(t.shape) || typeof t.layout !== 'string') return {};
  try {
    strideFromShape(t.shape, t.layout);
    return { shape: [...t.shape], layout: layoutName(t.layout) };
  } catch {
    return {};
  }
}

/**
 * An inference trace of one model with its real bytes: a region per weight
 * and per activation tensor (its dtype, kind weight or activation), every
 * weight written once, then per layer its weights read, its input map read
 * and its output map written, all in bursts of burstBytes. Reads carry the
 * CRC-32 of the bytes they must return. t follows a bandwidth model: each
 * burst takes len / bandwidth ns after the previous one.
 */
export async function generateModelTrace(o: ModelTraceOptions): Promise<ModelTraceSummary> {
  if (!Number.isInteger(o.burstBytes) || o.burstBytes <= 0) throw new TraceError('E_IMPORT_INPUT', '--burst-bytes must be a whole number > 0');
  let ds: Dataset;
  try {
    ds = loadDataset(o.dataDir);
  } catch (e) {
    throw new TraceError('E_TRACE_DATA', (e as Error).message);
  }
  const plan = planModelTrace(ds, o.model, o.weights, o.image);
  const tensors = [...plan.weights, ...plan.activations];
  const base = new Map<TensorEntry, number>();
  let next = 0;
  for (const t of tensors) {
    base.set(t, next);
    next += Math.ceil(t.bytes / REGION_ALIGN) * REGION_ALIGN;
  }
  const w = new TraceWriter(o.out, {
    atomic: true,
    source: 'trace gen',
    gzip: o.gzip,
    meta: { readsCarryCrc: true, data: o.dataDir, model: o.model, ...(o.codec ? { codec: o.codec } : {}), weights: o.weights, image: plan.activations[0]?.image, burstBytes: o.burstBytes, bandwidth: o.bandwidth },
  });
  try {
    for (const t of tensors) {
      w.region({
        name: regionName(t),
        base: base.get(t)!,
        // The tensor's own size (its base stays 4 KiB aligned): a last block shorter than the rest
        // holds only the tensor's bytes, so the footprint and the traffic count the same bytes.
        size: t.bytes,
        dtype: t.dtype,
        kind: t.kind,
        codec: o.codec,
        ...shapeFields(t),
        origin: `tensor ${t.file}`,
      });
    }
    let total = plan.weights.reduce((s, t) => s + t.bytes, 0);
    for (const l of plan.layers) {
      for (const i of l.weights) total += plan.weights[i].bytes;
      if (l.input !== undefined) total += plan.activations[l.input].bytes;
      if (l.output !== undefined) total += plan.activations[l.output].bytes;
    }
    let tNs = 0;
    let done = 0;
    const stream = async (t: TensorEntry, op: 'write' | 'read'): Promise<void> => {
      const bytes = readTensor(ds, t);
      const at = base.get(t)!;
      for (let off = 0; off < bytes.length; off += o.burstBytes) {
        const chunk = bytes.subarray(off, Math.min(bytes.length, off + o.burstBytes));
        const t = Math.round(tNs);
        if (op === 'write') w.op({ op, t, addr: at + off, len: chunk.length, data: chunk });
        else w.op({ op, t, addr: at + off, len: chunk.length, crc: crc32(chunk) });
        tNs += chunk.length / o.bandwidth;
        if (w.needsDrain) await w.drained();
      }
      done += bytes.length;
      o.progress?.(done, total);
    };
    for (const t of plan.weights) await stream(t, 'write');
    for (const l of plan.layers) {
      for (const i of l.weights) await stream(plan.weights[i], 'read');
      if (l.input !== undefined) await stream(plan.activations[l.input], 'read');
      if (l.output !== undefined) await stream(plan.activations[l.output], 'write');
    }
  } catch (e) {
    // No half trace is left behind (writer.ts, atomic).
    await w.abort();
    throw e;
  }
  const totals = w.totals;
  await w.close();
  return { regions: tensors.length, layers: plan.layers.length, ...totals };
}
