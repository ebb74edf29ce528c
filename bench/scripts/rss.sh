#!/usr/bin/env bash
# Server RSS per idle reader at READERS connections (default 19,500, the most one
# process can hold under the 20,000 open-file limit), RUNS times per server kind.
#   bench/scripts/rss.sh [READERS] [RUNS] ["KINDS"]
# Fresh: 5 s after the fill. Steady (STEADY=1): pings every second and a 40 s hold,
# so every socket has passed 32 messages: tokio's channel under each socket then
# holds its second 32-slot block (5.4 KiB) for good, as any socket does after five
# minutes of 10 s pings, whatever the server (BENCHMARKS.md).
# CONNECT_RATE (default 2500/s) paces the fill; the Node baseline needs a slower one.
source "$(dirname "$0")/common.sh"
READERS=${1:-19500}; RUNS=${2:-3}; KINDS=${3:-presence bare bare-detach bare-defaults node}
SETTLE=5; STATE=fresh
if [ -n "${STEADY:-}" ]; then export PING=1; SETTLE=40; STATE=steady; fi
OUT=$RESULTS/rss.jsonl
for run in $(seq "$RUNS"); do
  for kind in $KINDS; do
    start_server "$kind" 3300 6390
    sleep 1
    loadgen "$OUT" --server 127.0.0.1:3300 --server-pid "$LAST_PID" --readers "$READERS" \
      --posts 1000 --connect-rate "${CONNECT_RATE:-2500}" --sources 8 --settle "$SETTLE" --duration 5 --rate 0 --exact-wait 0 \
      --label "rss-$STATE-$kind"
    cleanup
  done
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
