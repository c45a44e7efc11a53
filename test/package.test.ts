import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './root.ts';

/**
 * What is shipped: compiled JavaScript (dist/, built by `prepare`), run by
 * plain node; tsx only for development (the tests run compiled from
 * dist-test/); every runtime dependency used.
 */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => join(dir, f));
}

describe('the package ships compiled JavaScript', () => {
  it('npm ci builds the codec wasm module and dist/ (prepare), and start, the benches, soak and fuzz run it with plain node', () => {
    assert.equal(pkg.scripts.prepare, 'npm run build:wasm && npm run build');
    assert.match(pkg.scripts['build:wasm'], /^asc --config daemon\/codecs\/wasm\/asconfig\.json$/);
    assert.match(pkg.scripts.build, /^tsc -p tsconfig\.build\.json$/);
    for (const s of ['start', 'bench:ratio', 'bench:speed', 'bench:daemon', 'soak', 'fuzz']) assert.match(pkg.scripts[s], /^node dist\//, s);
  });

  it('tsx is a devDependency (tests only); nothing the product runs loads it', () => {
    assert.equal(pkg.dependencies.tsx, undefined);
    assert.ok(pkg.devDependencies.tsx);
    const launcher = readFileSync(join(ROOT, pkg.bin.shimpack), 'utf8');
    assert.doesNotMatch(launcher, /tsx/);
    assert.match(launcher, /dist\/daemon\/cli\/main\.js/);
    const offenders = filesUnder('dist', '.js').filter((f) => /from ['"]tsx|import\(['"]tsx|['"]--import['"],\s*['"]tsx/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('TypeScript is pinned to a tested minor (~), not a caret on a new major', () => {
    assert.match(pkg.devDependencies.typescript, /^~\d+\.\d+\.\d+$/);
  });

  it('every runtime dependency is imported by the product', () => {
    const sources = ['daemon', 'protocol', 'clients/ts'].flatMap((d) => filesUnder(d, '.ts')).map((f) => readFileSync(join(ROOT, f), 'utf8'));
    // Imported, or resolved to read its files (the report inlines Chart.js's bundle: daemon/report/assets.ts).
    const unused = Object.keys(pkg.dependencies).filter((dep) => !sources.some((s) => s.includes(`from '${dep}'`) || s.includes(`from '${dep}/`) || s.includes(`resolve('${dep}')`)));
    assert.deepEqual(unused, []);
  });
});

describe('the tests run compiled', () => {
  it('test/run.sh runs dist-test/ (tsconfig.test.json), not the sources through a loader', () => {
    const run = readFileSync(join(ROOT, 'test/run.sh'), 'utf8');
    assert.match(run, /tsc -p tsconfig\.test\.json/);
    assert.doesNotMatch(run, /--import tsx/);
    const cfg = readFileSync(join(ROOT, 'tsconfig.test.json'), 'utf8');
    assert.match(cfg, /"outDir": "dist-test"/);
  });

  it('no test finds the tree through its own URL (compiled, that URL is in dist-test/): test/root.ts does it', () => {
    const offenders = readdirSync(join(ROOT, 'test'))
      .filter((f) => f.endsWith('.ts') && f !== 'root.ts')
      .filter((f) => /import\.meta\.(url|dirname|filename)/.test(readFileSync(join(ROOT, 'test', f), 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
