#!/usr/bin/env bash
# Reconnect storm: READERS readers on one server; the server is restarted (SIGTERM,
# then started again on the same port and Redis); the clients reconnect with
# socket.io-client's backoff (1 s doubling to 5 s, ±50 % jitter). Reports the time
# from the first dropped socket until every reader is answered with an exact count.
#   bench/scripts/storm.sh [RUNS] [READERS] [KIND]
source "$(dirname "$0")/common.sh"
RUNS=${1:-3}; READERS=${2:-10000}; KIND=${3:-presence}
OUT=$RESULTS/storm.jsonl
restart() {
  case $KIND in
    presence) start_presence 3300 6390 ;;
    node) start_node 3300 6390 ;;
  esac
}
for run in $(seq "$RUNS"); do
  start_redis 6390
  restart
  server=$LAST_PID
  log=$LOGS/storm-loadgen.log; : >"$log"
  "$BIN/loadgen" --server 127.0.0.1:3300 --readers "$READERS" --posts 1000 --settle 2 \
    --duration 2 --rate 0 --storm --storm-wait 120 --label "storm-$KIND" \
    2>"$log" | sed -n 's/^RESULT //p' >>"$OUT" &
  gen=$!
  for _ in $(seq 600); do grep -q STORM-READY "$log" && break; sleep 0.2; done
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  restart
  wait "$gen"
  cleanup
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
