#!/usr/bin/env bash
# The default test run (npm test): type-check, build dist/ (the CLI, the
# daemon and the lane workers the tests start run the compiled JS, so a stale
# build is never tested), then every test/*.test.ts under node:test, then the
# SCC suites once more on the JS fallback decoder (SHIMPACK_SCC_WASM=0).
# Node 20 does not expand globs itself, so the shell does, and the runner's
# summary counts real tests.
#
# --fast (npm run test:fast, the edit loop): the same minus the slow suites
# listed in SLOW below and the fallback pass.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then fast=1; fi

npx --no-install tsc -p tsconfig.json
npx --no-install tsc -p tsconfig.build.json

SLOW=()

shopt -s nullglob
files=()
for f in test/*.test.ts; do
  if [ $fast -eq 1 ] && [[ " ${SLOW[*]} " == *" $f "* ]]; then continue; fi
  files+=("$f")
done
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
node --import tsx --test "${files[@]}"

if [ $fast -eq 0 ]; then
  # The SCC decoders' JS fallback (what runs where WebAssembly SIMD is missing).
  # scc-wasm.test.ts compares the two decoders, so it has nothing to run here.
  scc=()
  for f in test/scc-*.test.ts; do [ "$f" = test/scc-wasm.test.ts ] || scc+=("$f"); done
  SHIMPACK_SCC_WASM=0 node --import tsx --test "${scc[@]}"
fi
