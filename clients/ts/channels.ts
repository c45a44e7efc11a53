import { splitByChannel, type ChannelLayout } from '../../protocol/channel.ts';
import type { HelloResponse, RegionRequest, RegionResponse, RegionStats, ShadowStats, StatsResponse, StatsTotals } from '../../protocol/types.ts';
import { ShimpackClient, type ConnectOptions } from './client.ts';
import { ShimpackError } from './errors.ts';

/** Fields of RegionStats / totals that are not counters to add up. */
const NOT_COUNTERS = new Set(['base', 'size', 'blockBytes', 'stride', 'ratio', 'regions']);
const countersOf = (o: object): string[] => Object.keys(o).filter((k) => typeof (o as Record<string, unknown>)[k] === 'number' && !NOT_COUNTERS.has(k));

const ratioOf = (raw: number, stored: number): number => (stored > 0 ? raw / stored : 1);

/** Shadow figures of one region (or the totals) over channels: sampled sums add up, a codec is ok on any channel that codes it. */
function mergeShadow(lists: readonly (readonly ShadowStats[] | undefined)[], rawBytesStored: number): ShadowStats[] | undefined {
  const first = lists.find((l) => l !== undefined);
  if (!first) return undefined;
  return first.map((f) => {
    const all = lists.flatMap((l) => l?.filter((x) => x.codec === f.codec) ?? []);
    const ok = all.filter((x) => x.status === 'ok');
    const pick = ok[0] ?? all.find((x) => x.status === 'pending') ?? f;
    const raw = ok.reduce((a, x) => a + x.sampledRawBytes, 0);
    const stored = ok.reduce((a, x) => a + x.sampledStoredBytes, 0);
    return {
      codec: f.codec,
      status: pick.status,
      ...(pick.reason === undefined ? {} : { reason: pick.reason }),
      sampledBlocks: ok.reduce((a, x) => a + x.sampledBlocks, 0),
      sampledRawBytes: raw,
      sampledStoredBytes: stored,
      ratio: ratioOf(raw, stored),
      estimatedStoredBytes: raw > 0 ? Math.round((rawBytesStored * stored) / raw) : 0,
    };
  });
}

/**
 * Merge the stats answers of all channels (protocol/README.md section 8):
 * counters (every numeric field but the declaration's and the ratio) add up, ratios are recomputed from the sums, a region is pending
 * while any channel still calibrates it.
 */
export function mergeStats(answers: readonly StatsResponse[]): StatsResponse {
  const byName = new Map<string, Record<string, unknown>>();
  const shadows = new Map<string, (readonly ShadowStats[] | undefined)[]>();
  for (const a of answers) {
    for (const r of a.regions) {
      const m = byName.get(r.name);
      if (!shadows.has(r.name)) shadows.set(r.name, []);
      shadows.get(r.name)?.push(r.shadow);
      if (!m) {
        byName.set(r.name, { ...r });
        continue;
      }
      for (const k of countersOf(r)) m[k] = ((m[k] as number | undefined) ?? 0) + (r as unknown as Record<string, number>)[k];
      if (r.calibration === 'pending') m.calibration = 'pending';
    }
  }
  const regions = [...byName.values()].map((m) => {
    const shadow = mergeShadow(shadows.get(m.name as string) ?? [], m.rawBytesStored as number);
    return { ...m, ratio: ratioOf(m.rawBytesStored as number, m.storedBytes as number), ...(shadow ? { shadow } : {}) } as unknown as RegionStats;
  });
  const totals: Record<string, unknown> = { regions: regions.length };
  for (const a of answers) for (const k of countersOf(a.totals)) totals[k] = ((totals[k] as number | undefined) ?? 0) + (a.totals as unknown as Record<string, number>)[k];
  totals.ratio = ratioOf(totals.rawBytesStored as number, totals.storedBytes as number);
  const shadowTotals = mergeShadow(answers.map((a) => a.totals.shadow), 0);
  if (shadowTotals) {
    // Totals estimate per codec: the sum of the regions' estimates.
    totals.shadow = shadowTotals.map((t) => ({ ...t, estimatedStoredBytes: answers.reduce((a, x) => a + (x.totals.shadow?.find((y) => y.codec === t.codec)?.estimatedStoredBytes ?? 0), 0) }));
  }
  return { id: answers[0]?.id ?? 0, ok: true, regions, totals: totals as unknown as StatsTotals, memory: answers[0]?.memory };
}

/**
 * One client over the N daemons of a channelled memory, `urls` in channel
 * order. Each read and write is cut at granule boundaries and every piece
 * goes to the daemon of its channel (protocol/channel.ts); regions are
 * declared and freed on all channels, stats merged. Per channel the
 * connection keeps the protocol's ordering, so a read after a write to the
 * same bytes returns them, as with one daemon.
 */
export class ChannelClient {
  private constructor(
    readonly channels: readonly ShimpackClient[],
    readonly layout: ChannelLayout,
  ) {}

  /** Channel 0's hello (lanes, codecs, limits), with the layout all channels agreed on. */
  get hello(): HelloResponse {
    return this.channels[0].hello;
  }

  /**
   * Connect to every URL and check that URL k is the daemon of channel k of
   * urls.length, all with one granule (E_CHANNELS otherwise).
   */
  static async connect(urls: readonly string[], opts: ConnectOptions = {}): Promise<ChannelClient> {
    if (urls.length === 0) throw new ShimpackError('E_CHANNELS', 'no daemon URL given');
    const settled = await Promise.allSettled(urls.map((u) => ShimpackClient.connect(u, opts)));
    const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const fail = async (e: unknown): Promise<never> => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      throw e;
    };
    if (failed) return fail(failed.reason);
    const granule = clients[0].hello.channelGranule ?? 0;
    for (let k = 0; k < clients.length; k++) {
      const h = clients[k].hello;
      // A daemon without channel support answers neither field: it is channel 0 of 1.
      const channel = h.channel ?? 0;
      const count = h.channels ?? 1;
      if (count !== urls.length || channel !== k || (count > 1 && h.channelGranule !== granule)) {
        return fail(
          new ShimpackError(
            'E_CHANNELS',
            `${urls[k]} serves channel ${channel} of ${count}${count > 1 ? ` (granule ${h.channelGranule} B)` : ''}, but was given as channel ${k} of ${urls.length}${count > 1 && h.channelGranule !== granule ? ` (granule ${granule} B)` : ''}: give one URL per channel, in channel order`,
          ),
        );
      }
    }
    return new ChannelClient(clients, { channels: urls.length, granule: Math.max(granule, 1) });
  }

  /** Declared on every channel; if one refuses, the others drop it again, so a retry starts clean. */
  async region(spec: Omit<RegionRequest, 'id' | 'op'>): Promise<RegionResponse> {
    const all = await Promise.allSettled(this.channels.map((c) => c.region(spec)));
    const bad = all.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (bad) {
      await Promise.all(all.map((s, k) => (s.status === 'fulfilled' ? this.channels[k].free(spec.name).catch(() => undefined) : undefined)));
      throw bad.reason;
    }
    const answers = all.map((s) => (s as PromiseFulfilledResult<RegionResponse>).value);
    return answers.find((a) => a.calibration === 'pending') ?? answers[0];
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    const pieces = splitByChannel(addr, data.length, this.layout);
    await Promise.all(pieces.map((p) => this.channels[p.channel].write(p.addr, data.subarray(p.offset, p.offset + p.len))));
  }

  async read(addr: number, len: number): Promise<Uint8Array> {
    const pieces = splitByChannel(addr, len, this.layout);
    if (pieces.length === 1) return this.channels[pieces[0].channel].read(addr, len);
    const parts = await Promise.all(pieces.map((p) => this.channels[p.channel].read(p.addr, p.len)));
    const out = new Uint8Array(len);
    for (let k = 0; k < pieces.length; k++) out.set(parts[k], pieces[k].offset);
    return out;
  }

  async stats(region?: string): Promise<StatsResponse> {
    return mergeStats(await Promise.all(this.channels.map((c) => c.stats(region))));
  }

  async fence(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.fence()));
  }

  /** Every channel writes its buffered blocks back (all of them, or one region's). */
  async flush(region?: string): Promise<void> {
    await Promise.all(this.channels.map((c) => c.flush(region)));
  }

  /** Freed on every channel; the first refusal is thrown once all have answered. */
  async free(name: string): Promise<void> {
    const all = await Promise.allSettled(this.channels.map((c) => c.free(name)));
    const bad = all.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (bad) throw bad.reason;
  }

  async close(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.close()));
  }
}
