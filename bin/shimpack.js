#!/usr/bin/env node
// Launcher for the installed `shimpack` command: runs the JavaScript that
// `npm run build` (run by `npm ci` through `prepare`) compiled into dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/daemon/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('shimpack: dist/ is missing: run `npm run build` (or `npm ci`) in the checkout first\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv);
