import { Cluster, Redis } from 'ioredis';
import type { BlockPut, BlockRef, MemoryBackend, StoredRegion } from './backend.ts';
import type { SyncMode } from './file.ts';
import { GROUP_BLOCKS, blocksKey, blocksKeyStem, groupsKey, layoutKey, regionsKey } from './redis-keys.ts';
import { describeTarget, type RedisTarget } from './redis-url.ts';
import { BackendOpenError } from './open-error.ts';

export interface RedisBackendOptions {
  readonly target: RedisTarget;
  /** This daemon's channel tag (redis-keys.ts): its regions and blocks live under it. */
  readonly channel: string;
  /** "channels=N granule=G": all daemons sharing the prefix must run the same layout. */
  readonly layout: string;
  /** always: a write is acknowledged once `wait` replicas have it too (WAIT); batch, none: once the master has it. */
  readonly sync: SyncMode;
  /** Connect timeout, and WAIT's timeout under sync=always. */
  readonly timeoutMs: number;
  /** The address space a region declaration belongs to (its blocks' key prefix); '' when not given. */
  readonly spaceOf?: (meta: Uint8Array) => string;
  /** One line per connection state change (lost, back); default stderr. */
  readonly log?: (line: string) => void;
}

export { BackendOpenError };

type Client = Redis | Cluster;

interface RegionState {
  readonly id: number;
  /** Key of group K is blocksKey(stem, K). */
  readonly stem: string;
  /** Stored length of each block held. */
  readonly blocks: Map<number, number>;
  /** Groups listed in the region's group set (a group is listed before its first block is written). */
  readonly groups: Set<number>;
}

/** storedLen*256 + mode, as the index field holds it. */
function packIndex(len: number, mode: number): string {
  return String(len * 256 + mode);
}

/**
 * Blocks in Redis (one server or a Redis Cluster), for daemons that share a
 * store or outgrow one host (docs/scaling.md). Layout: redis-keys.ts. Blocks
 * travel in pipelines: every command of one backend call is issued in the
 * same tick and ioredis sends them as one pipeline per server.
 *
 * This daemon is the only writer of its channel's keys, so it keeps an index
 * of what it holds (block -> stored length): byte counts are known without a
 * round trip, reads of blocks never written skip Redis, and a block the index
 * has but Redis lost (a server restarted without persistence, a failover
 * that lost writes) is a failure, never zeros.
 *
 * Failures: no offline queue and no resending of commands in flight when a
 * connection drops. A call made while Redis is away fails at once (E_BACKEND)
 * instead of landing later over a newer write; the client reconnects in the
 * background and service resumes when Redis answers again.
 */
export class RedisBackend implements MemoryBackend {
  readonly name = 'redis';
  private readonly regions = new Map<number, RegionState>();
  private restored: StoredRegion[] = [];
  private held = 0;
  private count = 0;
  private opening = true;
  private down = false;
  private closed = false;
  private readonly log: (line: string) => void;
  private readonly prefix: string;

  private constructor(
    private readonly client: Client,
    private readonly opts: RedisBackendOptions,
  ) {
    this.prefix = opts.target.prefix;
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** Connect, check the layout and load this channel's region table and block index. */
  static async open(opts: RedisBackendOptions): Promise<RedisBackend> {
    const t = opts.target;
    let self: RedisBackend | undefined;
    // While opening, a failed connect ends the start; afterwards the client keeps retrying.
    const retry = (times: number): number | null => (self === undefined || self.opening ? null : Math.min(100 * times, 2000));
    const common = { username: t.username, password: t.password, connectTimeout: opts.timeoutMs, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 };
    const client: Client = t.cluster
      ? new Cluster(t.nodes.map((n) => ({ host: n.host, port: n.port })), {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          clusterRetryStrategy: retry,
          retryDelayOnClusterDown: 200,
          retryDelayOnFailover: 200,
          retryDelayOnTryAgain: 200,
          maxRedirections: 8,
          slotsRefreshTimeout: opts.timeoutMs,
          redisOptions: common,
        })
      : new Redis({ host: t.nodes[0].host, port: t.nodes[0].port, db: t.db, lazyConnect: true, enableOfflineQueue: false, enableAutoPipelining: true, retryStrategy: retry, ...common });
    self = new RedisBackend(client, opts);
    const b = self;
    let lastError = '';
    client.on('error', (e: Error) => {
      lastError = e.message;
      if (!b.opening && !b.down && !b.closed) {
        b.down = true;
        b.log(`shimpack: Redis ${describeTarget(t)}: ${e.message}; requests get E_BACKEND until it answers again`);
      }
    });
    client.on('ready', () => {
      if (b.down && !b.closed) b.log(`shimpack: Redis ${describeTarget(t)}: connected again`);
      b.down = false;
    });
    try {
      await client.connect();
      await b.checkLayout();
      await b.load();
      if (opts.sync === 'always') await b.checkFsync();
    } catch (e) {
      client.disconnect();
      if (e instanceof BackendOpenError) throw e;
      const why = (e as Error).message || lastError;
      throw new BackendOpenError(`cannot use Redis ${describeTarget(t)}: ${why}${lastError && lastError !== why ? ` (${lastError})` : ''}`);
    }
    b.opening = false;
    return b;
  }

  private async checkLayout(): Promise<void> {
    const key = layoutKey(this.prefix);
    await this.client.set(key, this.opts.layout, 'NX');
    const have = await this.client.get(key);
    if (have !== this.opts.layout) {
      throw new BackendOpenError(
        `Redis ${describeTarget(this.opts.target)} prefix "${this.prefix}" holds data of another channel layout (${have}); this daemon runs ${this.opts.layout}: use the same --channel N and --channel-granule, or another ?prefix=`,
      );
    }
  }

  /** --sync always promises what the server's fsync policy gives: say so when it is weaker. */
  private async checkFsync(): Promise<void> {
    const nodes: Redis[] = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    for (const n of nodes) {
      let cfg: string[];
      try {
        cfg = (await n.config('GET', 'append*')) as string[];
      } catch {
        return; // CONFIG disabled (managed Redis): nothing to check
      }
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < cfg.length; i += 2) m.set(cfg[i], cfg[i + 1]);
      if (m.get('appendonly') !== 'yes' || m.get('appendfsync') !== 'always') {
        this.log(
          `shimpack: warning: --sync always, but Redis ${n.options.host}:${n.options.port} runs appendonly ${m.get('appendonly')}, appendfsync ${m.get('appendfsync')}: an acknowledged write survives a Redis crash only with appendonly yes and appendfsync always`,
        );
      }
    }
  }

  /** This channel's regions and the index of their blocks (all requests of a step pipelined). */
  private async load(): Promise<void> {
    const table = Object.entries(await this.client.hgetallBuffer(regionsKey(this.prefix, this.opts.channel)));
    const groupSets = await Promise.all(table.map(([id]) => this.client.smembers(groupsKey(this.prefix, this.opts.channel, Number(id)))));
    const stored: StoredRegion[] = [];
    await Promise.all(
      table.map(async ([idText, meta], ri) => {
        const id = Number(idText);
        const st = this.stateFor(id, meta);
        const groups = groupSets[ri].map(Number).sort((a, b) => a - b);
        const answers = await Promise.all(
          groups.map((g) => {
            const fields: string[] = [];
            for (let k = 0; k < GROUP_BLOCKS; k++) fields.push(`i${g * GROUP_BLOCKS + k}`);
            return this.client.hmget(blocksKey(st.stem, g), ...fields);
          }),
        );
        const blocks: { index: number; storedLen: number; mode: number }[] = [];
        for (let gi = 0; gi < groups.length; gi++) {
          st.groups.add(groups[gi]);
          const vals = answers[gi];
          for (let k = 0; k < GROUP_BLOCKS; k++) {
            const v = vals[k];
            if (v === null) continue;
            const packed = Number(v);
            const index = groups[gi] * GROUP_BLOCKS + k;
            const storedLen = Math.floor(packed / 256);
            blocks.push({ index, storedLen, mode: packed % 256 });
            st.blocks.set(index, storedLen);
            this.held += storedLen;
            this.count++;
          }
        }
        stored.push({ id, meta: new Uint8Array(meta), blocks });
      }),
    );
    this.restored = stored.sort((a, b) => a.id - b.id);
  }

  private stateFor(region: number, meta?: Uint8Array): RegionState {
    let st = this.regions.get(region);
    if (!st) {
      let space = '';
      if (meta && this.opts.spaceOf) {
        try {
          space = this.opts.spaceOf(meta);
        } catch {
          space = '';
        }
      }
      st = { id: region, stem: blocksKeyStem(this.prefix, this.opts.channel, space, region), blocks: new Map(), groups: new Set() };
      this.regions.set(region, st);
    }
    return st;
  }

  private closedError(): Error | undefined {
    if (this.closed) return new Error('Redis backend closed');
    return undefined;
  }

  async getMany(refs: readonly BlockRef[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(refs.length).fill(undefined);
    // Per group: the positions in `refs` and the fields asked.
    const asks = new Map<string, { at: number[]; fields: string[] }>();
    for (let j = 0; j < refs.length; j++) {
      const st = this.regions.get(refs[j].region);
      if (!st || !st.blocks.has(refs[j].index)) continue; // never written: no round trip
      const key = blocksKey(st.stem, Math.floor(refs[j].index / GROUP_BLOCKS));
      let a = asks.get(key);
      if (!a) asks.set(key, (a = { at: [], fields: [] }));
      a.at.push(j);
      a.fields.push(`d${refs[j].index}`);
    }
    if (asks.size === 0) return out;
    const err = this.closedError();
    if (err) throw err;
    const entries = [...asks];
    const answers = await Promise.all(entries.map(([key, a]) => this.client.hmgetBuffer(key, ...a.fields)));
    for (let e = 0; e < entries.length; e++) {
      const [key, a] = entries[e];
      for (let k = 0; k < a.at.length; k++) {
        const v = answers[e][k];
        if (v === null) throw new Error(`Redis lost block ${a.fields[k].slice(1)} of ${key} (held according to this daemon: a server restarted without persistence, or a failover lost writes)`);
        out[a.at[k]] = v;
      }
    }
    return out;
  }

  async putMany(puts: readonly BlockPut[]): Promise<void> {
    const err = this.closedError();
    if (err) throw err;
    // Per group: field/value pairs, bytes and index entry side by side (one HSET, atomic).
    const groups = new Map<string, { st: RegionState; group: number; args: (string | Buffer)[] }>();
    for (const p of puts) {
      const st = this.stateFor(p.ref.region);
      const group = Math.floor(p.ref.index / GROUP_BLOCKS);
      const key = blocksKey(st.stem, group);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { st, group, args: [] }));
      // A copy: the caller's view may be reused once this call settles, even if a command is still queued.
      g.args.push(`d${p.ref.index}`, Buffer.from(p.bytes), `i${p.ref.index}`, packIndex(p.bytes.length, p.bytes.length ? p.bytes[0] : 0));
    }
    // A group is listed in its region's group set before it holds a block, so a restart or a delete finds every block.
    const unlisted = [...groups.values()].filter((g) => !g.st.groups.has(g.group));
    if (unlisted.length) {
      await Promise.all(unlisted.map((g) => this.client.sadd(groupsKey(this.prefix, this.opts.channel, g.st.id), String(g.group))));
      for (const g of unlisted) g.st.groups.add(g.group);
    }
    // Indexed before the answer, so a read issued meanwhile asks Redis for the block.
    const fresh = new Set<BlockPut>();
    for (const p of puts) {
      const st = this.stateFor(p.ref.region);
      const old = st.blocks.get(p.ref.index);
      if (old === undefined) {
        this.count++;
        fresh.add(p);
      } else this.held -= old;
      st.blocks.set(p.ref.index, p.bytes.length);
      this.held += p.bytes.length;
    }
    const keys = [...groups.keys()];
    const done = await Promise.allSettled(keys.map((key) => this.client.hset(key, ...groups.get(key)!.args)));
    const failed = done.findIndex((d) => d.status === 'rejected');
    if (failed >= 0) {
      // A block this call would have created may or may not be in Redis now: the index forgets it, so
      // it reads as never written (its old state) instead of as lost. A replaced block holds old or new bytes either way.
      const bad = new Set(keys.filter((_, i) => done[i].status === 'rejected'));
      for (const p of fresh) {
        const st = this.stateFor(p.ref.region);
        if (!bad.has(blocksKey(st.stem, Math.floor(p.ref.index / GROUP_BLOCKS)))) continue;
        if (st.blocks.get(p.ref.index) !== p.bytes.length) continue;
        st.blocks.delete(p.ref.index);
        this.count--;
        this.held -= p.bytes.length;
      }
      throw (done[failed] as PromiseRejectedResult).reason;
    }
    if (this.opts.sync === 'always' && this.opts.target.wait > 0) await this.waitReplicas();
  }

  /**
   * WAIT on every master: the write is on `wait` replicas too. A master this
   * connection wrote nothing to answers at once, so asking all of them costs
   * one parallel round trip and needs no slot map.
   */
  private async waitReplicas(): Promise<void> {
    const want = this.opts.target.wait;
    const masters: Redis[] = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    await Promise.all(
      masters.map(async (m) => {
        const got = await m.wait(want, Math.max(1, Math.floor(this.opts.timeoutMs / 2)));
        if (got < want) throw new Error(`Redis ${m.options.host}:${m.options.port}: ${got} of ${want} replicas acknowledged the write (WAIT, --sync always)`);
      }),
    );
  }

  async putRegion(region: number, meta: Uint8Array): Promise<void> {
    this.stateFor(region, meta);
    const err = this.closedError();
    if (err) throw err;
    await this.client.hset(regionsKey(this.prefix, this.opts.channel), String(region), Buffer.from(meta));
  }

  listRegions(): StoredRegion[] {
    return this.restored;
  }

  /** Blocks first, the declaration last: a region whose declaration is gone has no blocks left. */
  async deleteRegion(region: number): Promise<void> {
    const st = this.regions.get(region);
    const err = this.closedError();
    if (err) throw err;
    if (st) {
      await Promise.all([...st.groups].map((g) => this.client.unlink(blocksKey(st.stem, g))));
      await this.client.del(groupsKey(this.prefix, this.opts.channel, region));
      for (const len of st.blocks.values()) this.held -= len;
      this.count -= st.blocks.size;
      this.regions.delete(region);
    }
    await this.client.hdel(regionsKey(this.prefix, this.opts.channel), String(region));
  }

  bytesHeld(): number {
    return this.held;
  }

  blocksHeld(): number {
    return this.count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
