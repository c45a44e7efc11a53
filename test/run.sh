#!/usr/bin/env bash
# The default test run (npm test): build dist/ (the CLI, the daemon and the
# lane workers the tests start run the compiled JS, so a stale build is never
# tested) and dist-test/ (the tests themselves, compiled with what they
# import: tsconfig.test.json; type-checking them on the way), then every
# test/*.test.ts, as its compiled dist-test/test/*.test.js, under node:test,
# then the SCC suites once more on the JS fallback coders (SHIMPACK_WASM=0).
# Node 20 does not expand globs itself, so the shell does (over the sources,
# so a stale compiled file of a deleted test never runs), and the runner's
# summary counts real tests. Source maps point failures at the .ts lines.
#
# --fast (npm run test:fast, the edit loop): the same minus the slow suites
# listed in SLOW below and the fallback pass, with each property test at a
# quarter of its runs (SHIMPACK_FC_RUNS: the first quarter of the same
# seeded cases, test/property.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then fast=1; fi

# tsc itself, not through npx (npx costs about as much CPU as an incremental
# build). Both configs are incremental: their build info is kept in dist/ and
# dist-test/, so removing those rebuilds everything.
node_modules/.bin/tsc -p tsconfig.build.json
node_modules/.bin/tsc -p tsconfig.test.json

# The slowest suites (real-data sweeps and replays, fuzzing, crash loops,
# benchmarks, external programs): left out of --fast, and run on their own
# after the others in the full run.
SLOW=(
  test/scc-dataset.test.ts test/scc-cli.test.ts test/scc-wasm.test.ts test/dataset-roundtrip.test.ts
  test/fpack-dataset.test.ts test/fpack-replay.test.ts
  test/trace-replay.test.ts test/trace-import.test.ts
  test/daemon-kill9.test.ts test/daemon-lane-faults.test.ts test/line-buffers-traces.test.ts
  test/fuzz-daemon.test.ts test/fuzz-codecs.test.ts test/bench-daemon.test.ts
  test/python-client.test.ts test/monitoring-prometheus.test.ts test/monitoring-status-page.test.ts
  test/backend-redis.test.ts test/channels.test.ts
  test/dram-export.test.ts test/dram-dramsim3.test.ts
  test/report.test.ts
)

# Left out of --fast too, but not slow enough to run alone: whole-CLI sweeps
# (many processes each) and the wasm-against-JS sweeps over real tensors. The
# full run takes them in its two-at-a-time pass.
NOT_FAST=(
  test/cli-regions.test.ts test/cli-help-truth.test.ts test/fpack-cli.test.ts
  test/codecs-wasm.test.ts test/fpack-wasm.test.ts
)

shopt -s nullglob
quick=()
slow=()
js() { local f=${1#test/}; echo "dist-test/test/${f%.ts}.js"; }
for f in test/*.test.ts; do
  if [[ " ${SLOW[*]} " == *" $f "* ]]; then slow+=("$(js "$f")")
  elif [ $fast -eq 1 ] && [[ " ${NOT_FAST[*]} " == *" $f "* ]]; then continue
  else quick+=("$(js "$f")"); fi
done
if [ ${#quick[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi

# Two test files at a time: most of a file's time is spent starting processes
# (node, CLI runs, daemons) and waiting on them, so two share 2 cores well.
# Tests bind free loopback ports and their own temp dirs, so files never meet.
# The slow suites run one at a time (crash loops, benchmarks and fuzzers
# measure or stress the machine).
if [ $fast -eq 1 ]; then
  SHIMPACK_FC_RUNS="${SHIMPACK_FC_RUNS:-0.25}" node --enable-source-maps --test --test-concurrency=2 "${quick[@]}"
  exit 0
fi
node --enable-source-maps --test --test-concurrency=2 "${quick[@]}"
node --enable-source-maps --test --test-concurrency=1 "${slow[@]}"

# The codecs' JS fallback coders (what runs where WebAssembly
# SIMD is missing; lane workers inherit the setting): the codec suite and
# the daemon suites. Not scc-wasm.test.ts, which compares the two (its JS
# side runs in the main pass), nor the real-data sweeps, which exercise the
# same coder paths at many times the cost.
SHIMPACK_WASM=0 node --enable-source-maps --test dist-test/test/scc-codec.test.js dist-test/test/scc-daemon.test.js dist-test/test/scc-daemon-fields.test.js
