import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout's root, found from package.json upwards. Tests run compiled
 * (test/run.sh builds them into dist-test/test/, see tsconfig.test.json), so
 * a path relative to a test file's own URL would point into dist-test/: every
 * path to the tree goes through ROOT instead.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot();
/** The test sources (the .ts files, wherever the compiled tests run from). */
export const TEST_SRC = join(ROOT, 'test');
/** The shared folder beside the checkout (../shared), as in CI; ends in /. */
export const SHARED = `${join(ROOT, '..', 'shared')}/`;
