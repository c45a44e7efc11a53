import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fromRoot } from '../package-root.ts';
import { ReportError } from './errors.ts';

/** What the page inlines: the plotting library with its licences, and the page's own script and style. */
export interface ReportAssets {
  readonly chartJs: string;
  readonly licences: string;
  readonly script: string;
  readonly style: string;
}

/**
 * Read the assets at generation time. Chart.js comes from node_modules (its
 * UMD bundle, which defines the `Chart` global and carries @kurkle/color
 * inside), so the page needs no network and follows the installed version.
 */
export function loadAssets(): ReportAssets {
  const require = createRequire(import.meta.url);
  let chartDir: string;
  try {
    // The package's exports point at dist/chart.cjs; the UMD bundle sits beside it.
    chartDir = dirname(require.resolve('chart.js'));
  } catch {
    throw new ReportError('E_REPORT_ASSET', 'the chart.js package is missing: run `npm ci` in the checkout');
  }
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      throw new ReportError('E_REPORT_ASSET', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (run \`npm ci\`)`);
    }
  };
  const pkgDir = join(chartDir, '..');
  const licences = [
    `Chart.js (inlined below):\n${read(join(pkgDir, 'LICENSE.md'))}`,
    `@kurkle/color (part of the Chart.js bundle):\n${read(join(dirname(require.resolve('@kurkle/color', { paths: [pkgDir] })), '..', 'LICENSE'))}`,
  ].join('\n');
  return {
    chartJs: read(join(chartDir, 'chart.umd.min.js')),
    licences,
    script: read(fromRoot('daemon/report/page/report.js')),
    style: read(fromRoot('daemon/report/page/report.css')),
  };
}
