#!/usr/bin/env bash
# One sitting of `bench daemon` (APack, 4 KiB requests, 2 lanes) on the memory
# backend, one Redis server, a 3-master Redis Cluster, and 2 channel daemons
# against 1 on the Redis server (docs/scaling.md). Starts its own redis-server
# processes on loopback ports BASE ... BASE+3 (default 17001) in a temp dir,
# without persistence, and stops them at the end.
# Usage: scripts/bench-redis.sh [BASE_PORT] [extra bench daemon options]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-17001}
shift || true
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
start() { # port [extra redis-server args]
  local port=$1
  shift
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --save '' --appendonly no "$@" >/dev/null &
  pids+=($!)
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
}
start "$base"
for i in 1 2 3; do start $((base + i)) --cluster-enabled yes --cluster-config-file nodes.conf; done
redis-cli --cluster create 127.0.0.1:$((base + 1)) 127.0.0.1:$((base + 2)) 127.0.0.1:$((base + 3)) --cluster-replicas 0 --cluster-yes >/dev/null
until redis-cli -p $((base + 1)) cluster info | grep -q cluster_state:ok; do sleep 0.1; done
single="redis://127.0.0.1:$base"
cluster="redis-cluster://127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
[ -f dist/daemon/cli/main.js ] || npm run build >/dev/null
bench() { node dist/daemon/cli/main.js bench daemon --codec apack --lanes 2 --write-bytes 4096 "$@"; }
echo "== memory backend"; bench --backend memory "$@"
echo "== one Redis server ($single)"; bench --backend "$single" "$@"
echo "== 3-master Redis Cluster"; bench --backend "$cluster" "$@"
echo "== 2 channel daemons on the Redis server"; bench --backend "$single?prefix=ch2" --channels 2 "$@"
echo "== 2 channel daemons on the Redis Cluster"; bench --backend "$cluster?prefix=ch2" --channels 2 "$@"
