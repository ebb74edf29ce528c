#!/usr/bin/env bash
# Join/leave latency: READERS readers over 1,000 Zipf posts, churned at each RATE
# (moves/s; one move = one leave + one join, so joins+leaves/s = 2 × RATE).
#   bench/scripts/churn.sh "presence node" "500" [RUNS] [READERS] [SECS]
source "$(dirname "$0")/common.sh"
KINDS=${1:-presence node}; RATES=${2:-500}; RUNS=${3:-3}; READERS=${4:-10000}; SECS=${5:-20}
OUT=$RESULTS/churn.jsonl
for run in $(seq "$RUNS"); do
  for rate in $RATES; do
    for kind in $KINDS; do
      start_server "$kind" 3300 6390
      sleep 1
      loadgen "$OUT" --server 127.0.0.1:3300 --server-pid "$LAST_PID" --readers "$READERS" \
        --posts 1000 --rate "$rate" --settle 3 --duration "$SECS" --label "churn-$kind-$rate"
      cleanup
    done
  done
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
