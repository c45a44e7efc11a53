import { readFileSync } from 'node:fs';
import { DASHBOARDS } from '../dashboards/build.ts';
import { ROOT } from './root.ts';

/**
 * Everything the monitoring tests need to know about the shipped files:
 * every panel query and variable of the committed dashboards, the recording
 * rules of rules.yml, and the metric names a PromQL expression uses.
 */
export const DASHBOARDS_DIR = `${ROOT}/dashboards/`;
export const PROMETHEUS_DIR = `${DASHBOARDS_DIR}prometheus/`;

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export interface VariableQuery {
  readonly dashboard: string;
  readonly name: string;
  /** The metric selector of `label_values(selector, label)`. */
  readonly selector: string;
  readonly label: string;
}

interface JsonPanel {
  type: string;
  title: string;
  targets?: { refId: string; expr: string }[];
  panels?: JsonPanel[];
}

/** The committed dashboard JSON files, parsed, keyed by path under dashboards/. */
export function committedDashboards(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const rel of Object.keys(DASHBOARDS)) out.set(rel, JSON.parse(readFileSync(`${DASHBOARDS_DIR}${rel}`, 'utf8')) as Record<string, unknown>);
  return out;
}

/** All panels, including those nested in collapsed rows. */
export function allPanels(d: Record<string, unknown>): JsonPanel[] {
  const out: JsonPanel[] = [];
  const walk = (ps: JsonPanel[]): void => {
    for (const p of ps) {
      out.push(p);
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels as JsonPanel[]);
  return out;
}

export function panelQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const [rel, d] of committedDashboards()) {
    for (const p of allPanels(d)) for (const t of p.targets ?? []) out.push({ dashboard: rel, panel: p.title, refId: t.refId, expr: t.expr });
  }
  return out;
}

export function variableQueries(): VariableQuery[] {
  const out: VariableQuery[] = [];
  for (const [rel, d] of committedDashboards()) {
    for (const v of (d.templating as { list: { type: string; name: string; definition?: string }[] }).list) {
      if (v.type !== 'query') continue;
      const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(v.definition ?? '');
      if (!m) throw new Error(`${rel}: variable ${v.name} is not label_values(...): ${v.definition}`);
      out.push({ dashboard: rel, name: v.name, selector: m[1], label: m[2] });
    }
  }
  return out;
}

/** `record:` or `alert:` names and expressions of rules.yml, in file order (block scalars `|` included). */
function rulesOf(key: 'record' | 'alert'): { name: string; expr: string }[] {
  const lines = readFileSync(`${PROMETHEUS_DIR}rules.yml`, 'utf8').split('\n');
  const out: { name: string; expr: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const rec = new RegExp(`^\\s*- ${key}:\\s*(\\S+)\\s*$`).exec(lines[i]);
    if (!rec) continue;
    const ex = /^(\s*)expr:\s*(.*)$/.exec(lines[i + 1] ?? '');
    if (!ex) throw new Error(`rules.yml: ${key} ${rec[1]} is not followed by expr:`);
    let expr = ex[2];
    if (expr === '|') {
      const body: string[] = [];
      for (let j = i + 2; j < lines.length && (lines[j].startsWith(ex[1] + '  ') || lines[j].trim() === ''); j++) body.push(lines[j].trim());
      expr = body.join(' ').trim();
    }
    out.push({ name: rec[1], expr });
  }
  return out;
}

/** `record:` names and expressions of rules.yml, in file order. */
export function recordingRules(): { record: string; expr: string }[] {
  return rulesOf('record').map((r) => ({ record: r.name, expr: r.expr }));
}

/** `alert:` names and expressions of rules.yml, in file order. */
export function alertRules(): { alert: string; expr: string }[] {
  return rulesOf('alert').map((r) => ({ alert: r.name, expr: r.expr }));
}

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** Metric names an expression selects (functions, keywords, label names and literals left out). */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const after = s.slice((m.index ?? 0) + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (NOT_METRICS.has(name.toLowerCase())) continue;
    const before = s[(m.index ?? 0) - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // exponent of a number like 1e-9
    names.add(name);
  }
  return [...names];
}

/**
 * Metric names present in a Prometheus text exposition: each family from its
 * TYPE line, with _bucket/_sum/_count for histograms and summaries.
 */
export function exposedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    out.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m[1] + s);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) out.add(m[1] + s);
  }
  return out;
}

/** Regex-escape a label value the way Grafana does before putting it into `=~"..."`. */
function regexEscape(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');
}

/**
 * Interpolate Grafana variables as Grafana does for Prometheus: `$__rate_interval`
 * and `$__interval` become durations, a multi-value variable becomes `(a|b)` of
 * regex-escaped values, a single value is inserted as is.
 */
export function interpolate(expr: string, vars: Readonly<Record<string, string | readonly string[]>>, rateInterval = '10s'): string {
  let s = expr.replaceAll('$__rate_interval', rateInterval).replaceAll('$__interval', '1s').replaceAll('$__range', '1m');
  for (const [name, value] of Object.entries(vars)) {
    const text = typeof value === 'string' ? value : value.length === 1 ? regexEscape(value[0]) : `(${value.map(regexEscape).join('|')})`;
    s = s.replace(new RegExp(`\\$\\{${name}\\}|\\$${name}\\b`, 'g'), text);
  }
  if (/\$\w/.test(s)) throw new Error(`uninterpolated variable left in: ${s}`);
  return s;
}
