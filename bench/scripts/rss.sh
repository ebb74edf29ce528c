#!/usr/bin/env bash
# Server RSS per idle reader at READERS connections (default 19,500, the most one
# process can hold under the 20,000 open-file limit), RUNS times per server kind.
#   bench/scripts/rss.sh [READERS] [RUNS] ["KINDS"]
source "$(dirname "$0")/common.sh"
READERS=${1:-19500}; RUNS=${2:-3}; KINDS=${3:-presence bare bare-defaults node}
OUT=$RESULTS/rss.jsonl
for run in $(seq "$RUNS"); do
  for kind in $KINDS; do
    start_server "$kind" 3300 6390
    sleep 1
    loadgen "$OUT" --server 127.0.0.1:3300 --server-pid "$LAST_PID" --readers "$READERS" \
      --posts 1000 --connect-rate 2500 --sources 8 --settle 5 --duration 5 --rate 0 --exact-wait 0 --label "rss-$kind"
    cleanup
  done
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
