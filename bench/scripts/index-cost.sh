#!/usr/bin/env bash
# What the site-wide index costs joins: the `joins` benchmark (bench/src/bin/joins.rs)
# built against presence-core before the index existed (BASE) and at HEAD, run
# alternately RUNS times each. Both builds use HEAD's bench/ sources; only the store
# differs. Results: bench/results/index-cost.jsonl, summary on stdout.
#
#   bench/scripts/index-cost.sh            # BASE=8a4692f RUNS=5 SECS=10
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE=${BASE:-8a4692f}
RUNS=${RUNS:-5}
SECS=${SECS:-10}
WORK=${WORK:-/tmp/presence-index-cost}
RESULTS=$ROOT/bench/results/index-cost.jsonl

rm -rf "$WORK/base" "$WORK/head"
mkdir -p "$WORK/base" "$WORK/head"
git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base"
git -C "$ROOT" archive HEAD | tar -x -C "$WORK/head"
rm -rf "$WORK/base/bench"
cp -r "$WORK/head/bench" "$WORK/base/bench"
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
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for v in ("base", "head"):
    r = [x for x in rows if x["variant"] == v]
    med[v] = (statistics.median(x["moves_per_sec"] for x in r),
              statistics.median(x["redis_usec_per_script"] for x in r))
    print(f"{v}: moves/s median {med[v][0]:.0f} {[round(x['moves_per_sec']) for x in r]}, "
          f"Redis µs/script median {med[v][1]:.2f} {[x['redis_usec_per_script'] for x in r]}")
print(f"head/base: moves/s {med['head'][0] / med['base'][0]:.3f}, Redis µs/script {med['head'][1] / med['base'][1]:.3f}")
PY
