#!/usr/bin/env bash
# Join throughput of the store on one Redis and on a 3-master Redis Cluster: the
# `joins` benchmark (bench/src/bin/joins.rs), alternating, RUNS times each. Every
# Redis node, the benchmark and its tokio runtime share this machine's cores.
# Results: bench/results/cluster-joins.jsonl, summary on stdout.
#
#   bench/scripts/cluster-joins.sh            # RUNS=5 SECS=10 MASTERS=3
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=${RUNS:-5}
SECS=${SECS:-10}
MASTERS=${MASTERS:-3}
RESULTS=$ROOT/bench/results/cluster-joins.jsonl

(cd "$ROOT" && cargo build --release -q -p presence-bench --bin joins)
: >"$RESULTS.tmp"
for run in $(seq "$RUNS"); do
  for variant in single cluster; do
    flags=()
    [ "$variant" = cluster ] && flags=(--cluster "$MASTERS")
    line=$("$ROOT/target/release/joins" --secs "$SECS" "${flags[@]}" | sed -n 's/^RESULT //p')
    echo "{\"variant\":\"$variant\",\"run\":$run,${line#\{}" | tee -a "$RESULTS.tmp"
  done
done
mv "$RESULTS.tmp" "$RESULTS"
python3 "$ROOT/bench/scripts/compare.py" "$RESULTS" single cluster
