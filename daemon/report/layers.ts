import type { LayerTraffic, RegionTraffic } from './types.ts';

/**
 * The layer a region belongs to. Model traces (`trace gen`) name regions
 * `w:LAYER/tensor` and `a:LAYER`, so a layer's weights and its output map
 * share LAYER; any other name is its own layer.
 */
export function layerOf(region: string): string {
  const m = /^[wa]:([^/]+)/.exec(region);
  return m ? m[1] : region;
}

/** Regions added up per layer, layers in the order they first appear. */
export function groupLayers(regions: readonly RegionTraffic[]): LayerTraffic[] {
  const byLayer = new Map<string, { regions: number; burstsRaw: number; dramReadBursts: number; dramWriteBursts: number; metadataBursts: number }>();
  for (const r of regions) {
    const l = byLayer.get(r.layer) ?? { regions: 0, burstsRaw: 0, dramReadBursts: 0, dramWriteBursts: 0, metadataBursts: 0 };
    l.regions++;
    l.burstsRaw += r.burstsRaw;
    l.dramReadBursts += r.dramReadBursts;
    l.dramWriteBursts += r.dramWriteBursts;
    l.metadataBursts += r.metadataBursts;
    byLayer.set(r.layer, l);
  }
  return [...byLayer].map(([layer, l]) => ({ layer, ...l }));
}
