import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, startTestDaemon, testBytes } from './daemon-harness.ts';

/** Parse Prometheus text into `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function sum(m: Map<string, number>, name: string, ...labelParts: string[]): number {
  let s = 0;
  for (const [k, v] of m) {
    const base = k.split('{')[0];
    if (base === name && labelParts.every((p) => k.includes(p))) s += v;
  }
  return s;
}

describe('/metrics after real traffic', () => {
  it('has the required series, and bytes written equal the bytes sent', async () => {
    const d = await startTestDaemon({ lanes: 2 });
    try {
      const c = await connect(d);
      await c.region({ name: 'wts', base: 0, size: 1 << 20, dtype: 'int8', kind: 'weight', codec: 'zvc' });
      await c.region({ name: 'acts', base: 1 << 20, size: 1 << 20, dtype: 'uint8', kind: 'activation', codec: 'raw' });
      let sentW = 0;
      let sentA = 0;
      const ps: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        const a = testBytes(1000 + i * 97, i, 0.7);
        sentW += a.length;
        ps.push(c.write(i * 20_000, a));
        const b = testBytes(4096, 100 + i, 0);
        sentA += b.length;
        ps.push(c.write((1 << 20) + i * 4096, b));
      }
      await Promise.all(ps);
      const readLen = 50_000;
      await c.read(0, readLen);
      await c.read(12345, 1);
      await c.read(5 << 20, 1).catch(() => undefined); // E_OUT_OF_REGION
      await c.write(9 << 20, new Uint8Array(1)).catch(() => undefined);
      const stats = await c.stats();

      const res = await fetch(`http://127.0.0.1:${d.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      const m = parseMetrics(await res.text());

      assert.equal(sum(m, 'shimpack_raw_bytes_total', 'op="write"', 'region="wts"', 'kind="weight"', 'codec="zvc"'), sentW);
      assert.equal(sum(m, 'shimpack_raw_bytes_total', 'op="write"', 'region="acts"'), sentA);
      assert.equal(sum(m, 'shimpack_raw_bytes_total', 'op="read"', 'region="wts"'), readLen + 1);
      // Stored bytes written are whole coded blocks: compare with the daemon's own stats.
      const wts = stats.regions.find((r) => r.name === 'wts')!;
      assert.ok(sum(m, 'shimpack_stored_bytes_total', 'op="write"', 'region="wts"') >= wts.storedBytes);
      assert.equal(sum(m, 'shimpack_stored_bytes_total', 'op="write"', 'region="acts"'), sentA, 'raw codec stores what it gets');
      assert.equal(sum(m, 'shimpack_raw_bursts_total', 'region="wts"'), wts.burstsRaw);
      assert.equal(sum(m, 'shimpack_stored_bursts_total', 'region="wts"'), wts.burstsStored);
      assert.equal(sum(m, 'shimpack_raw_fallback_blocks_total', 'region="acts"'), 40, 'raw codec blocks never shrink');
      // Every block write is counted: 40 whole blocks in acts; wts writes touch each 4 KiB block they overlap.
      assert.equal(sum(m, 'shimpack_block_writes_total', 'region="acts"', 'kind="activation"', 'codec="raw"'), 40);
      let wtsBlocks = 0;
      for (let i = 0; i < 40; i++) {
        const a = i * 20_000;
        wtsBlocks += Math.floor((a + 1000 + i * 97 - 1) / 4096) - Math.floor(a / 4096) + 1;
      }
      assert.equal(sum(m, 'shimpack_block_writes_total', 'region="wts"'), wtsBlocks);
      assert.equal(m.get('shimpack_raw_fallback_blocks_total{region="wts",kind="weight",codec="zvc"}'), wts.blocksRaw, 'zeroed, then counted');
      // Storage gauges are the stats' held bytes (the storage ratio), per live region.
      assert.equal(m.get('shimpack_region_raw_bytes{region="wts",kind="weight",codec="zvc"}'), wts.rawBytesStored);
      assert.equal(m.get('shimpack_region_stored_bytes{region="wts",kind="weight",codec="zvc"}'), wts.storedBytes);
      assert.ok(wts.rawBytesStored / wts.storedBytes > 1, 'zvc compresses the 70%-zero test bytes');
      const acts = stats.regions.find((r) => r.name === 'acts')!;
      assert.equal(m.get('shimpack_region_raw_bytes{region="acts",kind="activation",codec="raw"}'), 40 * 4096);
      assert.equal(m.get('shimpack_region_stored_bytes{region="acts",kind="activation",codec="raw"}'), acts.storedBytes);
      assert.equal(sum(m, 'shimpack_request_duration_seconds_count', 'op="write"'), 80);
      assert.equal(sum(m, 'shimpack_request_duration_seconds_count', 'op="read"'), 2, 'two reads succeeded');
      assert.ok(sum(m, 'shimpack_codec_seconds_total', 'codec="zvc"', 'op="write"') > 0);
      assert.ok(m.has('shimpack_codec_seconds_total{lane="0",codec="zvc",op="write"}'));
      assert.ok(m.has('shimpack_codec_seconds_total{lane="1",codec="zvc",op="write"}'), 'both lanes did work');
      assert.equal(m.get('shimpack_lane_queue_depth{lane="0"}'), 0);
      assert.equal(m.get('shimpack_inflight_requests'), 0);
      assert.equal(m.get('shimpack_connections'), 1);
      assert.equal(m.get('shimpack_errors_total{code="E_OUT_OF_REGION"}'), 2);
      assert.equal(m.get('shimpack_errors_total{code="E_BAD_TABLE"}'), 0, 'every error code is zeroed');
      assert.ok((m.get('shimpack_backend_bytes') ?? 0) > 0);
      // The in-memory store's slabs hold at least what it holds.
      assert.ok((m.get('shimpack_backend_allocated_bytes') ?? 0) >= (m.get('shimpack_backend_bytes') ?? Infinity));
      assert.ok(sum(m, 'shimpack_lane_batch_duration_seconds_count') > 0);
      assert.ok(m.has('process_resident_memory_bytes'), 'default process metrics');
      assert.ok(m.has('nodejs_eventloop_lag_seconds'));

      // Freeing a region removes its storage gauges; its counters stay (they are totals).
      await c.free('acts');
      const m2 = parseMetrics(await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text());
      assert.equal(sum(m2, 'shimpack_region_raw_bytes', 'region="acts"'), 0);
      assert.ok(![...m2.keys()].some((k) => k.startsWith('shimpack_region_stored_bytes{region="acts"')), 'freed region gauge removed');
      assert.equal(m2.get('shimpack_region_raw_bytes{region="wts",kind="weight",codec="zvc"}'), wts.rawBytesStored);
      assert.equal(sum(m2, 'shimpack_block_writes_total', 'region="acts"'), 40);

      const h = await fetch(`http://127.0.0.1:${d.port}/healthz`);
      assert.equal(h.status, 200);
      assert.equal(((await h.json()) as { status: string }).status, 'ok');
      assert.equal((await fetch(`http://127.0.0.1:${d.port}/nope`)).status, 404);
      await c.close();
    } finally {
      await d.close();
    }
  });
});
