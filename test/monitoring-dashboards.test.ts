import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DASHBOARDS, renderDashboard } from '../dashboards/build.ts';
import type { RunningDaemon } from '../daemon/server/daemon.ts';
import { startTestDaemon } from './daemon-harness.ts';
import {
  DASHBOARDS_DIR,
  alertRules,
  allPanels,
  committedDashboards,
  exposedNames,
  interpolate,
  metricNames,
  panelQueries,
  recordingRules,
  variableQueries,
} from './monitoring-queries.ts';

describe('Grafana dashboards and Prometheus rules (static)', () => {
  it('committed dashboard JSON is what dashboards/build.ts generates (run it after editing the .ts)', () => {
    for (const [rel, make] of Object.entries(DASHBOARDS)) {
      assert.equal(readFileSync(`${DASHBOARDS_DIR}${rel}`, 'utf8'), renderDashboard(make()), `${rel} is stale: node --import tsx dashboards/build.ts`);
    }
  });

  it('every dashboard has a datasource variable and every panel, query and variable uses it (no __inputs)', () => {
    for (const [rel, d] of committedDashboards()) {
      assert.equal(d.__inputs, undefined, `${rel}: __inputs placeholders are not resolved by file provisioning`);
      const vars = (d.templating as { list: Record<string, unknown>[] }).list;
      const ds = vars.find((v) => v.name === 'datasource');
      assert.ok(ds, `${rel}: no datasource variable`);
      assert.equal(ds.type, 'datasource');
      assert.equal(ds.query, 'prometheus');
      for (const v of vars.filter((x) => x.type === 'query')) assert.deepEqual(v.datasource, { type: 'prometheus', uid: '${datasource}' }, `${rel}: variable ${String(v.name)}`);
      for (const p of allPanels(d) as unknown as Record<string, unknown>[]) {
        if (p.type === 'row') continue;
        assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${rel}: panel ${String(p.title)}`);
        for (const t of p.targets as Record<string, unknown>[]) assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${rel}: ${String(p.title)} ${String(t.refId)}`);
      }
      assert.ok(JSON.stringify(d).includes('${datasource}'));
      assert.ok(!/\$\{DS_[A-Z_]+\}/.test(JSON.stringify(d)), `${rel}: import-only datasource placeholder`);
    }
  });

  it('region and codec variables come from label_values over a shimpack metric', () => {
    const vars = variableQueries();
    const names = (rel: string): string[] => vars.filter((v) => v.dashboard === rel).map((v) => v.name);
    assert.deepEqual(names('grafana/shimpack-overview.json'), ['region', 'codec']);
    assert.deepEqual(names('grafana/shimpack-region.json'), ['region']);
    for (const v of vars) {
      assert.equal(v.label, v.name, `${v.dashboard}: variable ${v.name} reads label ${v.label}`);
      assert.match(v.selector, /^shimpack_[a-z_]+(\{.*\})?$/);
    }
  });

  it('every panel has a unit, a title, a unique id and a place on the grid that overlaps no other panel', () => {
    for (const [rel, d] of committedDashboards()) {
      const panels = allPanels(d) as unknown as { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; fieldConfig?: { defaults?: { unit?: string } }; options?: { yAxis?: { unit?: string } } }[];
      assert.ok(panels.length > 3, `${rel}: too few panels`);
      const ids = new Set<number>();
      const cells = new Map<string, string>();
      for (const p of panels) {
        assert.ok(!ids.has(p.id), `${rel}: duplicate panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(p.title.length > 0);
        const g = p.gridPos;
        assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${rel}: ${p.title} is off the grid`);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            const other = cells.get(`${x},${y}`);
            assert.equal(other, undefined, `${rel}: ${p.title} overlaps ${other}`);
            cells.set(`${x},${y}`, p.title);
          }
        }
        if (p.type === 'row') continue;
        const unit = p.fieldConfig?.defaults?.unit;
        assert.ok(typeof unit === 'string' && unit.length > 0, `${rel}: panel "${p.title}" has no unit`);
        if (p.type === 'heatmap') assert.equal(p.options?.yAxis?.unit, unit, `${rel}: heatmap "${p.title}" axis unit`);
      }
    }
  });

  it('rates and increases use $__rate_interval; no hard-coded ranges in panels', () => {
    const qs = panelQueries();
    assert.ok(qs.length >= 30, `only ${qs.length} panel queries`);
    for (const q of qs) {
      for (const m of q.expr.matchAll(/\[([^\]]*)\]/g)) assert.equal(m[1], '$__rate_interval', `${q.dashboard} "${q.panel}": range [${m[1]}]`);
      if (/\b(rate|increase|irate)\(/.test(q.expr)) assert.ok(q.expr.includes('[$__rate_interval]'), `${q.dashboard} "${q.panel}"`);
      // Every query must still be valid once interpolated.
      interpolate(q.expr, { region: ['a', 'b'], codec: ['ebpc'] });
    }
  });

  it('metric name extraction finds selectors and skips functions, labels and strings', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le, op) (rate(shimpack_request_duration_seconds_bucket{op=~"read|write"}[$__rate_interval]))) / on (job) group_left up or vector(1e-9)'),
      ['shimpack_request_duration_seconds_bucket', 'up'],
    );
    assert.deepEqual(metricNames('1 - sum(rate(a_total{x="b_total"}[5m])) / sum(job:b:rate1m)'), ['a_total', 'job:b:rate1m']);
  });

  describe('against a running daemon', () => {
    let d: RunningDaemon;
    let exposed: Set<string>;
    before(async () => {
      d = await startTestDaemon();
      exposed = exposedNames(await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text());
    });
    after(async () => {
      await d.close();
    });

    it('every metric a panel or variable uses is in the daemon\'s /metrics', () => {
      const used = new Set<string>();
      for (const q of panelQueries()) for (const n of metricNames(q.expr)) used.add(n);
      for (const v of variableQueries()) for (const n of metricNames(v.selector)) used.add(n);
      assert.ok(used.size >= 15, `only ${used.size} metrics used`);
      const missing = [...used].filter((n) => !exposed.has(n));
      assert.deepEqual(missing, [], 'metrics used by dashboards but not exposed');
    });

    it('every recording rule uses exposed metrics or earlier recording rules, and alerts use recorded series or up', () => {
      const rules = recordingRules();
      assert.ok(rules.length >= 8, `only ${rules.length} recording rules`);
      const known = new Set(exposed);
      for (const r of rules) {
        assert.match(r.record, /^[a-z_]+:shimpack_[a-z_0-9]+:[a-z_0-9]+$/, 'level:metric:operations');
        for (const n of metricNames(r.expr)) assert.ok(known.has(n), `${r.record} uses ${n}, which is neither exposed nor recorded earlier`);
        known.add(r.record);
      }
      const alerts = alertRules();
      assert.deepEqual(alerts.map((a) => a.alert).sort(), ['ShimpackCompressionRatioCollapse', 'ShimpackDown', 'ShimpackErrorRateHigh', 'ShimpackLanesSaturated', 'ShimpackLatencyP99High']);
      for (const a of alerts) {
        const used = metricNames(a.expr);
        assert.ok(used.length > 0, `${a.alert}: no metric found in ${a.expr}`);
        for (const n of used) assert.ok(known.has(n) || n === 'up', `${a.alert} uses ${n}`);
      }
      // The ratio alert watches the storage ratio (held bytes), not the traffic ratio.
      const collapse = alerts.find((a) => a.alert === 'ShimpackCompressionRatioCollapse')!;
      assert.ok(collapse.expr.includes('storage_compression'), collapse.expr);
      const tests = readFileSync(`${DASHBOARDS_DIR}prometheus/rules.test.yml`, 'utf8');
      for (const a of alerts) assert.ok(tests.includes(`alertname: ${a.alert}`), `no promtool unit test for ${a.alert}`);
    });
  });
});
