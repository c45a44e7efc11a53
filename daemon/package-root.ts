import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the checkout is, whether this runs compiled (dist/daemon/*.js, what
 * `shimpack` and `npm start` run) or from the TypeScript sources (the tests,
 * under tsx). Files that tsc does not emit (the status page, data beside the
 * checkout) are found from here, so they need no copying into dist/.
 */
const COMPILED = import.meta.url.endsWith('.js');
export const PACKAGE_ROOT_URL = new URL(COMPILED ? '../../' : '../', import.meta.url);
export const PACKAGE_ROOT = fileURLToPath(PACKAGE_ROOT_URL);

/** A file of the checkout, by its path from the root ('daemon/status/page/index.html'). */
export function fromRoot(path: string): string {
  return fileURLToPath(new URL(path, PACKAGE_ROOT_URL));
}

/**
 * The compiled JavaScript of a module ('daemon/lanes/worker.js' is
 * dist/daemon/lanes/worker.js), for code that must run in a worker thread:
 * Node 20 applies tsx's loader hooks to the main thread only, so a worker
 * loads what `npm run build` emitted even when the caller runs from source.
 */
export function compiledModule(path: string): URL {
  const url = new URL(`dist/${path}`, PACKAGE_ROOT_URL);
  if (!existsSync(url)) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  return url;
}
