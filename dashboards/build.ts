import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dashboard } from './grafana-model.ts';
import { overviewDashboard } from './overview.ts';
import { regionDashboard } from './region.ts';

/**
 * The committed Grafana JSON is generated from the TypeScript definitions:
 * `node --import tsx dashboards/build.ts` rewrites it, and a test fails when
 * the committed files differ from what this produces.
 */
export const DASHBOARDS: Readonly<Record<string, () => Dashboard>> = {
  'grafana/shimpack-overview.json': overviewDashboard,
  'grafana/shimpack-region.json': regionDashboard,
};

/** File text exactly as committed (2-space JSON, trailing newline). */
export function renderDashboard(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [rel, make] of Object.entries(DASHBOARDS)) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    writeFileSync(path, renderDashboard(make()));
    process.stdout.write(`wrote dashboards/${rel}\n`);
  }
}
