#!/usr/bin/env node
// Launcher for the installed `shimpack` command: the sources are TypeScript,
// run through tsx's loader so no build step is needed.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';

register();
const { runCli } = await import(fileURLToPath(new URL('../daemon/cli/main.ts', import.meta.url)));
await runCli(process.argv);
