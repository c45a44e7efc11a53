/**
 * The small subset of Grafana's dashboard JSON model that shimpack's
 * dashboards use, typed so that every panel must name a unit and every query
 * goes through the `datasource` template variable (file provisioning does not
 * resolve `__inputs` placeholders; a datasource-type variable works for both
 * provisioning and manual import).
 */

/** Every panel and query variable points at the dashboard's datasource variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Target {
  readonly refId: string;
  readonly datasource: typeof DATASOURCE;
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  readonly format?: 'time_series' | 'heatmap';
}

export interface GridPos {
  readonly h: number;
  readonly w: number;
  readonly x: number;
  readonly y: number;
}

/** Grafana unit ids used here (see Grafana's value formats); `suffix:×` is a custom unit for ratios. */
export type Unit = 'Bps' | 'bytes' | 'short' | 's' | 'percentunit' | 'reqps' | 'cps' | 'suffix:×' | 'watt' | 'joule';

export interface Panel {
  readonly id: number;
  readonly type: 'timeseries' | 'stat' | 'bargauge' | 'heatmap' | 'row';
  readonly title: string;
  readonly description?: string;
  readonly gridPos: GridPos;
  readonly datasource?: typeof DATASOURCE;
  readonly fieldConfig?: { defaults: Record<string, unknown> & { unit: Unit }; overrides: unknown[] };
  readonly options?: Record<string, unknown>;
  readonly targets?: readonly Target[];
  readonly collapsed?: boolean;
  readonly panels?: readonly Panel[];
}

export interface Variable {
  readonly type: 'datasource' | 'query';
  readonly name: string;
  readonly label: string;
  readonly [key: string]: unknown;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly editable: boolean;
  readonly graphTooltip: number;
  readonly refresh: string;
  readonly schemaVersion: number;
  readonly version: number;
  readonly time: { from: string; to: string };
  readonly timezone: string;
  readonly links: readonly unknown[];
  readonly annotations: { list: unknown[] };
  readonly templating: { list: readonly Variable[] };
  readonly panels: readonly Panel[];
}

/** A query as written in a panel: expression, legend, and how Grafana should run it. */
export interface Query {
  readonly expr: string;
  readonly legend?: string;
  readonly instant?: boolean;
  readonly heatmap?: boolean;
}

export function datasourceVariable(): Variable {
  return { type: 'datasource', name: 'datasource', label: 'Prometheus', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', includeAll: false, multi: false, options: [] };
}

/** A variable filled from `label_values(metric, label)`; multi-valued ones default to All (`.*`). */
export function labelValuesVariable(name: string, label: string, source: string, opts: { multi: boolean }): Variable {
  const q = `label_values(${source}, ${name})`;
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCE,
    definition: q,
    query: { query: q, refId: 'StandardVariableQuery' },
    refresh: 2,
    sort: 1,
    hide: 0,
    regex: '',
    multi: opts.multi,
    includeAll: opts.multi,
    ...(opts.multi ? { allValue: '.*', current: { selected: true, text: ['All'], value: ['$__all'] } } : { current: {} }),
    options: [],
    skipUrlSync: false,
  };
}

function targets(queries: readonly Query[]): Target[] {
  return queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend ?? '__auto',
    range: !q.instant,
    instant: q.instant ?? false,
    ...(q.heatmap ? { format: 'heatmap' as const } : {}),
  }));
}

/**
 * Lays panels out left to right in rows of 24 grid units and numbers them,
 * so definitions only say how wide and tall a panel is.
 */
export class Layout {
  private nextId = 1;
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  readonly panels: Panel[] = [];

  row(title: string): void {
    this.newLine();
    this.panels.push({ id: this.nextId++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: this.y }, panels: [] });
    this.y += 1;
  }

  timeseries(title: string, description: string, unit: Unit, queries: readonly Query[], opts: { w?: number; h?: number; min?: number; stack?: boolean } = {}): void {
    this.place(opts.w ?? 12, opts.h ?? 8, (gridPos, id) => ({
      id,
      type: 'timeseries',
      title,
      description,
      gridPos,
      datasource: DATASOURCE,
      fieldConfig: {
        defaults: {
          unit,
          ...(opts.min !== undefined ? { min: opts.min } : {}),
          custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: opts.stack ? 30 : 10, showPoints: 'never', spanNulls: false, stacking: { mode: opts.stack ? 'normal' : 'none', group: 'A' } },
        },
        overrides: [],
      },
      options: { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'mean', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
      targets: targets(queries),
    }));
  }

  stat(title: string, description: string, unit: Unit, queries: readonly Query[], opts: { w?: number; h?: number; decimals?: number } = {}): void {
    this.place(opts.w ?? 6, opts.h ?? 4, (gridPos, id) => ({
      id,
      type: 'stat',
      title,
      description,
      gridPos,
      datasource: DATASOURCE,
      fieldConfig: { defaults: { unit, ...(opts.decimals !== undefined ? { decimals: opts.decimals } : {}), color: { mode: 'thresholds' } }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' },
      targets: targets(queries),
    }));
  }

  bargauge(title: string, description: string, unit: Unit, queries: readonly Query[], opts: { w?: number; h?: number; min?: number } = {}): void {
    this.place(opts.w ?? 12, opts.h ?? 8, (gridPos, id) => ({
      id,
      type: 'bargauge',
      title,
      description,
      gridPos,
      datasource: DATASOURCE,
      fieldConfig: { defaults: { unit, min: opts.min ?? 0, decimals: 2, color: { mode: 'continuous-GrYlRd' } }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true },
      targets: targets(queries.map((q) => ({ ...q, instant: true }))),
    }));
  }

  /** A heatmap of a histogram's `_bucket` series, already bucketed (calculate: false). */
  heatmap(title: string, description: string, unit: Unit, query: Query, opts: { w?: number; h?: number } = {}): void {
    this.place(opts.w ?? 12, opts.h ?? 8, (gridPos, id) => ({
      id,
      type: 'heatmap',
      title,
      description,
      gridPos,
      datasource: DATASOURCE,
      fieldConfig: { defaults: { unit, custom: { hideFrom: { legend: false, tooltip: false, viz: false } } }, overrides: [] },
      options: {
        calculate: false,
        cellGap: 1,
        color: { mode: 'scheme', scheme: 'Oranges', exponent: 0.5, steps: 64, fill: 'dark-orange', reverse: false },
        yAxis: { axisPlacement: 'left', unit, reverse: false },
        rowsFrame: { layout: 'auto' },
        filterValues: { le: 1e-9 },
        tooltip: { mode: 'single', yHistogram: false },
        legend: { show: true },
      },
      targets: targets([{ ...query, legend: '{{le}}', heatmap: true }]),
    }));
  }

  private place(w: number, h: number, make: (g: GridPos, id: number) => Panel): void {
    if (this.x + w > 24) this.newLine();
    this.panels.push(make({ h, w, x: this.x, y: this.y }, this.nextId++));
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
  }

  private newLine(): void {
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }
}

export function dashboard(fields: { uid: string; title: string; description: string; variables: readonly Variable[]; panels: readonly Panel[]; links?: readonly unknown[] }): Dashboard {
  return {
    uid: fields.uid,
    title: fields.title,
    description: fields.description,
    tags: ['shimpack'],
    editable: true,
    graphTooltip: 1,
    refresh: '10s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-30m', to: 'now' },
    timezone: 'browser',
    links: fields.links ?? [],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    templating: { list: [datasourceVariable(), ...fields.variables] },
    panels: fields.panels,
  };
}
