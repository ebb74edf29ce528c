#!/usr/bin/env bash
# One hot post: HOT readers stay on post 1; CHURNERS more readers toggle between
# post 1 and their own post at RATE moves/s, i.e. RATE joins+leaves/s on the hot post.
#   bench/scripts/hot.sh [RUNS] [HOT] [CHURNERS] [RATE] [SECS] ["KINDS"]
source "$(dirname "$0")/common.sh"
RUNS=${1:-3}; HOT=${2:-10000}; CHURNERS=${3:-1000}; RATE=${4:-500}; SECS=${5:-20}; KINDS=${6:-presence node}
OUT=$RESULTS/hot.jsonl
for run in $(seq "$RUNS"); do
  for kind in $KINDS; do
    start_server "$kind" 3300 6390
    sleep 1
    loadgen "$OUT" --server 127.0.0.1:3300 --server-pid "$LAST_PID" \
      --readers $((HOT + CHURNERS)) --hot "$HOT" --posts 1000 --rate "$RATE" \
      --settle 3 --duration "$SECS" --exact-wait 10 --label "hot-$kind"
    cleanup
  done
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
