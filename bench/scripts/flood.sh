#!/usr/bin/env bash
# Polling-handshake flood from one address (127.0.0.2) over CONNECTIONS keep-alive
# connections for SECONDS, RUNS times per server: presence with its defaults (the
# per-address budget of 100, a 10 s connect timeout), and with the budget lifted and
# socketioxide's 45 s connect timeout (what the issue measured: 8.8 MB → 2.96 GB).
# A legitimate reader's experience is the hardening tests' job; this measures what
# the flood costs the server: RSS (before, peak, after) and CPU.
#   bench/scripts/flood.sh [RUNS] [SECONDS] [CONNECTIONS] ["KINDS"]
# KINDS: presence (defaults) | unbounded (budget lifted) | PRESENCE_BIN=… for another build.
source "$(dirname "$0")/common.sh"
RUNS=${1:-3}; SECONDS_=${2:-30}; CONNECTIONS=${3:-5}; KINDS=${4:-presence unbounded}
OUT=$RESULTS/flood.jsonl
for run in $(seq "$RUNS"); do
  for kind in $KINDS; do
    case $kind in
      presence) env=() ;;
      unbounded) env=(PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP=1000000 PRESENCE_SERVER__CONNECT_TIMEOUT_SECS=45) ;;
      *) echo "unknown kind $kind" >&2; exit 1 ;;
    esac
    # The memory store: the flood never reaches a store, and a Redis would only add noise.
    env "${env[@]}" PRESENCE_SERVER__LISTEN=127.0.0.1:3300 RUST_LOG=${SERVER_LOG:-error} \
      "$PRESENCE_BIN" >"$LOGS/flood-$kind.log" 2>&1 &
    LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port 3300
    sleep 1
    "$BIN/flood" --server 127.0.0.1:3300 --server-pid "$LAST_PID" --connections "$CONNECTIONS" \
      --duration "$SECONDS_" --label "flood-$kind" 2>>"$LOGS/flood.log" | sed -n 's/^RESULT //p' >>"$OUT"
    cleanup
  done
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
