#!/usr/bin/env bash
# The default test run (npm test): type-check, then every test/*.test.ts under
# node:test. Node 20 does not expand globs itself, so the shell does, and the
# runner's summary counts real tests.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p tsconfig.json
shopt -s nullglob
files=(test/*.test.ts)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test "${files[@]}"
