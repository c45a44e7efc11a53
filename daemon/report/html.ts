/** HTML building blocks shared by the sections: escaping, number formats, chart specs. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for element content and attribute values: every character HTML treats specially is escaped. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * JSON to put inside a <script> element: `<` becomes \u003c, so no string in
 * the data (a region name, a path) can close the element or open a comment.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fixed = (n: number, digits: number): string => n.toFixed(digits);
export const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;
export const ratio = (x: number): string => `${x.toFixed(3)}×`;

export function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** An SI value with its unit: 1.23 µJ, 45.6 ms. */
export function si(value: number, unit: string): string {
  if (value === 0) return `0 ${unit}`;
  const prefixes: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p']];
  const abs = Math.abs(value);
  const [scale, p] = prefixes.find(([s]) => abs >= s) ?? prefixes[prefixes.length - 1];
  return `${(value / scale).toPrecision(3)} ${p}${unit}`;
}

/** How the page formats a chart's value axis and tooltips (report.js). */
export type ValueFormat = 'int' | 'ratio' | 'percent' | 'joule' | 'second' | 'bytes';

export interface ChartDataset {
  readonly label: string;
  readonly data: readonly (number | null)[];
  readonly color: string;
  /** Bars with the same stack sit on top of each other. */
  readonly stack?: string;
  /** One colour per bar instead of one per dataset. */
  readonly colors?: readonly string[];
}

/**
 * A chart as data: report.js turns it into a Chart.js configuration. Only
 * plain values here, so the spec travels as JSON inside the page.
 */
export interface ChartSpec {
  readonly id: string;
  readonly type: 'bar' | 'line';
  readonly labels: readonly (string | number)[];
  readonly datasets: readonly ChartDataset[];
  readonly valueFormat: ValueFormat;
  readonly valueTitle: string;
  readonly categoryTitle?: string;
  /** Bars run left to right, categories down the side (long lists of names). */
  readonly horizontal?: boolean;
  /** A logarithmic value axis (values spanning orders of magnitude; all > 0). */
  readonly logScale?: boolean;
  /** A dashed reference line at this value (e.g. 1: as many bursts as raw). */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Height of the plot in CSS pixels. */
  readonly height: number;
}

/** What a section contributes: its HTML (a <section>) and the charts inside it. */
export interface SectionOutput {
  readonly html: string;
  readonly charts: readonly ChartSpec[];
}

/** A chart's place in the page; report.js draws into the canvas. */
export function chartSlot(spec: ChartSpec, caption: string): string {
  return `<figure class="chart"><div class="plot" style="height:${spec.height}px"><canvas id="chart-${esc(spec.id)}" role="img" aria-label="${esc(caption)}"></canvas></div><figcaption>${esc(caption)}</figcaption></figure>`;
}

/** A section whose data this run does not have: says why, never shows numbers. */
export function absentSection(id: string, title: string, why: string): SectionOutput {
  return { html: `<section class="card absent" id="${esc(id)}"><h2>${esc(title)}</h2><p class="why">${esc(why)}</p></section>`, charts: [] };
}

/** A table: header cells and rows of already escaped cell HTML; the first `textColumns` are left-aligned. */
export function table(id: string, head: readonly string[], rows: readonly (readonly string[])[], textColumns = 1): string {
  const cls = (i: number): string => (i < textColumns ? ' class="t"' : '');
  return `<table id="${esc(id)}"><thead><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Colours the sections share, so raw, read and written look the same everywhere. */
export const COLORS = {
  raw: '#8a94a6',
  read: '#2f6fde',
  write: '#e8833a',
  weight: '#7b52c7',
  activation: '#12a594',
  other: '#c2495a',
  codec: { apack: '#2f6fde', ebpc: '#12a594', scc: '#7b52c7', zvc: '#e8833a', raw: '#8a94a6', fpack: '#c2495a' } as Record<string, string>,
  series: ['#2f6fde', '#e8833a', '#12a594', '#7b52c7', '#c2495a', '#d4a72c', '#5b6b8c'],
} as const;
