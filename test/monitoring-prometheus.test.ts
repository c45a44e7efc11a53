import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { startTestDaemon } from './daemon-harness.ts';
import { hasData } from './helpers.ts';
import { PROMETHEUS_DIR, interpolate, panelQueries, recordingRules, variableQueries } from './monitoring-queries.ts';
import { startTraffic, type Traffic } from './monitoring-traffic.ts';

/**
 * The shipped dashboards and rules against a real Prometheus (Debian's
 * `prometheus` package; .ci/run installs it): the daemon under traffic from
 * real tensors, Prometheus on loopback scraping it every second, and every
 * panel query, variable and recording rule asked through the HTTP API.
 */
function onPath(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}
const missing = ['prometheus', 'promtool'].filter((c) => !onPath(c));
const skip = missing.length > 0 ? `${missing.join(' and ')} not on PATH (apt-get install prometheus)` : !hasData ? '../shared/data not found' : false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, input, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('monitoring against a real Prometheus', { skip, timeout: 120_000 }, () => {
  let daemon: RunningDaemon;
  let traffic: Traffic;
  let prom: ChildProcess | undefined;
  let promLog = '';
  let promUrl = '';
  let dir = '';
  let metricsText = '';
  const killProm = (): void => {
    if (prom && prom.exitCode === null) prom.kill('SIGKILL');
  };

  async function query(expr: string): Promise<PromSample[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
    assert.equal(body.status, 'success', `${expr}: ${body.error}`);
    assert.equal(body.data?.resultType, 'vector', expr);
    return body.data.result;
  }

  before(async () => {
    process.once('exit', killProm); // also when the run is interrupted
    // --shadow: the shadow panels need series (one block in 4 keeps the cost small).
    daemon = await startTestDaemon({ lanes: 2, shadow: 'apack,ebpc,zvc', shadowSample: 4 });
    traffic = await startTraffic(daemon.url);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'shimpack-prom-'));
    // The shipped config, pointed at this daemon, scraping and evaluating every second.
    let cfg = readFileSync(`${PROMETHEUS_DIR}prometheus.yml`, 'utf8');
    const edits: [RegExp, string][] = [
      [/scrape_interval: \S+/, 'scrape_interval: 1s'],
      [/evaluation_interval: \S+/, 'evaluation_interval: 1s'],
      [/- rules\.yml/, `- ${PROMETHEUS_DIR}rules.yml`],
      [/targets: \['127\.0\.0\.1:7420'\]/, `targets: ['127.0.0.1:${daemon.port}']`],
    ];
    for (const [re, to] of edits) {
      assert.match(cfg, re, `shipped prometheus.yml lost ${re}`);
      cfg = cfg.replace(re, to);
    }
    writeFileSync(join(dir, 'prometheus.yml'), cfg);
    const check = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    assert.equal(check.status, 0, check.out);
    prom = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr?.on('data', (b: Buffer) => {
      promLog = (promLog + b.toString()).slice(-4000);
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      assert.equal(prom.exitCode, null, `prometheus exited: ${promLog}`);
      const ok = await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      assert.ok(Date.now() < deadline, `prometheus not ready after 20 s: ${promLog}`);
      await sleep(250);
    }
    metricsText = await (await fetch(`http://127.0.0.1:${daemon.port}/metrics`)).text();
  });

  after(async () => {
    killProm();
    process.off('exit', killProm);
    if (prom && prom.exitCode === null) await new Promise((r) => prom?.once('exit', r));
    await traffic?.stop();
    await daemon?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the shipped config and rules pass promtool check config, check rules and the alert unit tests', () => {
    for (const args of [['check', 'config', 'prometheus.yml'], ['check', 'rules', 'rules.yml'], ['test', 'rules', 'rules.test.yml']]) {
      const r = promtool(args);
      assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.out}`);
    }
  });

  it("promtool check metrics passes on the daemon's own metric families", () => {
    // Only shimpack_*: prom-client's default nodejs_active_*_total gauges are
    // flagged for their _total suffix, which is prom-client's naming, not ours.
    const ours = metricsText
      .split('\n')
      .filter((l) => /^(# (HELP|TYPE) )?shimpack_/.test(l))
      .join('\n');
    assert.ok(ours.split('\n').length > 50, 'too few shimpack lines');
    const r = promtool(['check', 'metrics'], ours + '\n');
    assert.equal(r.status, 0, r.out);
  });

  it('every panel query, variable and recording rule returns data through the HTTP API', async () => {
    const regions = traffic.regions.map((r) => r.name);
    const codecs = [...new Set(traffic.regions.map((r) => r.codec))];
    const checks: { what: string; expr: string }[] = [];
    for (const q of panelQueries()) {
      if (q.dashboard.endsWith('shimpack-region.json')) {
        for (const region of regions) checks.push({ what: `${q.dashboard} "${q.panel}" ${q.refId} region=${region}`, expr: interpolate(q.expr, { region }) });
      } else {
        checks.push({ what: `${q.dashboard} "${q.panel}" ${q.refId}`, expr: interpolate(q.expr, { region: regions, codec: codecs }) });
      }
    }
    const rules = recordingRules();
    for (const r of rules) checks.push({ what: `recording rule ${r.record}`, expr: r.record });

    // Poll until every query has a finite value (rates need two scrapes in the
    // interval, recording rules one evaluation after that), then report all misses.
    const deadline = Date.now() + 45_000;
    let misses: string[] = [];
    for (;;) {
      misses = [];
      for (const c of checks) {
        const result = await query(c.expr);
        if (!result.some((s) => Number.isFinite(Number(s.value[1])))) misses.push(`${c.what}: ${result.length ? 'no finite value' : 'empty'} <- ${c.expr}`);
      }
      if (misses.length === 0 || Date.now() > deadline) break;
      await sleep(1000);
    }
    assert.deepEqual(misses, [], `queries without data after ${traffic.rounds()} traffic rounds`);

    // Prometheus loaded exactly the rules the file holds, all healthy.
    const api = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { type: string; name: string; health: string; lastError?: string }[] }[] } };
    const loaded = api.data.groups.flatMap((g) => g.rules);
    assert.deepEqual(loaded.filter((r) => r.type === 'recording').map((r) => r.name), rules.map((r) => r.record));
    assert.equal(loaded.filter((r) => r.type === 'alerting').length, 5);
    for (const r of loaded) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);

    // Variables: what Grafana asks for label_values(metric, label).
    for (const v of variableQueries()) {
      const sel = interpolate(v.selector, { region: regions });
      const res = (await (await fetch(`${promUrl}/api/v1/label/${v.label}/values?match[]=${encodeURIComponent(sel)}`)).json()) as { data: string[] };
      const want = v.label === 'region' ? regions : codecs;
      assert.deepEqual([...res.data].sort(), [...want].sort(), `${v.dashboard} variable ${v.name}`);
    }
  });

  it('the numbers mean what the panels say: raw codec at 1.0x, coding codecs above it, errors counted by code', async () => {
    const byCodec = await query('sum by (codec) (rate(shimpack_raw_bytes_total[10s])) / sum by (codec) (rate(shimpack_stored_bytes_total[10s]))');
    const ratio = new Map(byCodec.map((s) => [s.metric.codec, Number(s.value[1])]));
    assert.ok(Math.abs((ratio.get('raw') ?? 0) - 1) < 1e-6, `raw ratio ${ratio.get('raw')}`);
    const coding = [...ratio].filter(([c]) => c !== 'raw');
    assert.ok(coding.length > 0 && coding.every(([, r]) => r > 1), `coding codecs should compress real tensors: ${JSON.stringify(coding)}`);
    // Storage ratio (held bytes): what the collapse alert watches; the same split between raw and coding codecs.
    const held = await query('job_codec:shimpack_storage_compression:ratio');
    const storage = new Map(held.map((s) => [s.metric.codec, Number(s.value[1])]));
    assert.ok(Math.abs((storage.get('raw') ?? 0) - 1) < 1e-6, `raw storage ratio ${storage.get('raw')}`);
    const codingHeld = [...storage].filter(([c]) => c !== 'raw');
    assert.ok(codingHeld.length > 0 && codingHeld.every(([, r]) => r > 1), `coding codecs should hold real tensors compressed: ${JSON.stringify(codingHeld)}`);
    const rawShare = await query('sum by (codec) (job_region_codec:shimpack_raw_fallback:ratio1m)');
    assert.ok(rawShare.some((s) => s.metric.codec === 'raw' && Number(s.value[1]) > 0), `raw codec stores its block writes raw: ${JSON.stringify(rawShare)}`);
    const errors = await query('sum by (code) (rate(shimpack_errors_total[10s])) > 0');
    assert.deepEqual(errors.map((s) => s.metric.code), ['E_OUT_OF_REGION']);
    // Energy follows the bursts: hbm2 (the default) is 3.9 pJ/bit, 64 B bursts.
    const perBurst = await query('sum(shimpack_dram_energy_joules_total{traffic="raw"}) / sum(shimpack_raw_bursts_total)');
    assert.ok(perBurst.length === 1 && Math.abs(Number(perBurst[0].value[1]) / (64 * 8 * 3.9e-12) - 1) < 1e-9, `joules per raw burst ${JSON.stringify(perBurst)}`);
    const model = await query('shimpack_memory_model_info');
    assert.deepEqual(model.map((s) => [s.metric.memory, s.metric.pj_per_bit, s.metric.gbps]), [['hbm2', '3.9', '256']]);
    // Shadow figures: no codec stores more than raw (blocks that do not shrink count raw), APack compresses the real tensors.
    const shadow = await query('sum by (shadow) (shimpack_shadow_sampled_raw_bytes) / sum by (shadow) (shimpack_shadow_sampled_stored_bytes)');
    assert.deepEqual(shadow.map((s) => s.metric.shadow).sort(), ['apack', 'ebpc', 'zvc']);
    assert.ok(shadow.every((s) => Number(s.value[1]) >= 1) && Number(shadow.find((s) => s.metric.shadow === 'apack')?.value[1]) > 1, JSON.stringify(shadow));
    const up = await query('up{job="shimpack"}');
    assert.equal(up.length, 1);
    assert.equal(up[0].value[1], '1');
  });
});
