#!/usr/bin/env bash
# The default test run (npm test): type-check, build dist/ (the CLI, the
# daemon and the lane workers the tests start run the compiled JS, so a stale
# build is never tested), then every test/*.test.ts under node:test, then the
# SCC suites once more on the JS fallback coders (SHIMPACK_WASM=0).
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

# The slowest suites (real-data sweeps, fuzzing, crash loops, benchmarks,
# external programs): left out of --fast, which keeps the rest under ~90 s.
SLOW=(
  test/scc-dataset.test.ts test/scc-cli.test.ts test/scc-wasm.test.ts test/dataset-roundtrip.test.ts
  test/trace-replay.test.ts test/trace-import.test.ts
  test/daemon-kill9.test.ts test/daemon-lane-faults.test.ts test/line-buffers-traces.test.ts
  test/fuzz-daemon.test.ts test/fuzz-codecs.test.ts test/bench-daemon.test.ts
  test/python-client.test.ts test/monitoring-prometheus.test.ts test/monitoring-status-page.test.ts
  test/backend-redis.test.ts test/channels.test.ts
  test/dram-export.test.ts test/dram-dramsim3.test.ts
  test/report.test.ts
)

shopt -s nullglob
files=()
for f in test/*.test.ts; do
  if [ $fast -eq 1 ] && [[ " ${SLOW[*]} " == *" $f "* ]]; then continue; fi
  files+=("$f")
done
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
node --import tsx --test "${files[@]}"

if [ $fast -eq 0 ]; then
  # The codecs' JS fallback coders (what runs where WebAssembly
  # SIMD is missing; lane workers inherit the setting): the codec suite and
  # the daemon suites. Not scc-wasm.test.ts, which compares the two (its JS
  # side runs in the main pass), nor the real-data sweeps, which exercise the
  # same coder paths at many times the cost.
  SHIMPACK_WASM=0 node --import tsx --test test/scc-codec.test.ts test/scc-daemon.test.ts test/scc-daemon-fields.test.ts
fi
