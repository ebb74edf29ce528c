#!/usr/bin/env bash
# What the site-wide index costs joins: the `joins` benchmark (bench/src/bin/joins.rs)
# built against presence-core before the index existed (BASE) and at HEAD, run
# alternately RUNS times each. Both builds use the bench/ sources of BENCH (the
# commit that added `joins`, which builds against both stores); only the store
# differs. Results: bench/results/index-cost.jsonl, summary on stdout.
#
#   bench/scripts/index-cost.sh            # BASE=8a4692f BENCH=f1293ee RUNS=5 SECS=10
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE=${BASE:-8a4692f}
BENCH=${BENCH:-f1293ee}
RUNS=${RUNS:-5}
SECS=${SECS:-10}
WORK=${WORK:-/tmp/presence-index-cost}
RESULTS=$ROOT/bench/results/index-cost.jsonl

rm -rf "$WORK/base" "$WORK/head"
mkdir -p "$WORK/base" "$WORK/head"
git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base"
git -C "$ROOT" archive HEAD | tar -x -C "$WORK/head"
for tree in base head; do
  rm -rf "$WORK/$tree/bench"
  git -C "$ROOT" archive "$BENCH" bench | tar -x -C "$WORK/$tree"
done
for tree in base head; do
  (cd "$WORK/$tree" && CARGO_TARGET_DIR="$WORK/target-$tree" cargo build --release -q -p presence-bench --bin joins)
done

: >"$RESULTS.tmp"
for run in $(seq "$RUNS"); do
  for tree in base head; do
    line=$("$WORK/target-$tree/release/joins" --secs "$SECS" | sed -n 's/^RESULT //p')
    commit=$([ "$tree" = base ] && echo "$BASE" || git -C "$ROOT" rev-parse --short HEAD)
    echo "{\"variant\":\"$tree\",\"commit\":\"$commit\",\"run\":$run,${line#\{}" | tee -a "$RESULTS.tmp"
  done
done
mv "$RESULTS.tmp" "$RESULTS"
python3 "$ROOT/bench/scripts/compare.py" "$RESULTS" base head
