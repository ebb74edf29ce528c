#!/usr/bin/env bash
# Many readers on several server processes sharing one Redis: SERVERS presence
# servers and as many load generator processes (each ≤ 19,500 sockets under the
# 20,000 open-file limit), each with its own 8 loopback source addresses. Every
# generator spreads its readers over all servers round-robin, on posts of its own
# (1,000 per generator), so each post's readers sit on every server (counts cross
# processes) and each generator still knows the truth of its posts. Appends one
# line of totals, plus Redis's RSS and the sessions it holds.
#   bench/scripts/scale.sh [SERVERS] [READERS_PER_SERVER] [RUNS] [KIND]
source "$(dirname "$0")/common.sh"
SERVERS=${1:-6}; PER=${2:-16700}; RUNS=${3:-1}; KIND=${4:-presence}
OUT=$RESULTS/scale.jsonl
for run in $(seq "$RUNS"); do
  start_redis 6390
  redis=$LAST_PID
  pids=()
  for i in $(seq 0 $((SERVERS - 1))); do
    case $KIND in
      presence) start_presence $((3300 + i)) 6390 ;;
      node) start_node $((3300 + i)) 6390 ;;
    esac
    pids+=("$LAST_PID")
  done
  sleep 1
  log=$LOGS/scale-loadgen.log; : >"$log"
  servers=(); for i in $(seq 0 $((SERVERS - 1))); do servers+=(--server "127.0.0.1:$((3300 + i))"); done
  # The first generator reports the servers' RSS and CPU (all of them, once).
  server_pids=(); for p in "${pids[@]}"; do server_pids+=(--server-pid "$p"); done
  gens=()
  for i in $(seq 0 $((SERVERS - 1))); do
    report=(); [ "$i" -eq 0 ] && report=("${server_pids[@]}")
    "$BIN/loadgen" "${servers[@]}" "${report[@]}" --readers "$PER" --posts 1000 \
      --post-base $((1 + 1000 * i)) --connect-rate "${CONNECT_RATE:-300}" --sources 8 \
      --source-offset $((8 * i)) --settle 20 --duration 20 --rate 20 --exact-wait 20 \
      --max-secs 900 --label "scale-$KIND-$SERVERS" \
      2>>"$log" | sed -n 's/^RESULT //p' >>"$OUT.tmp" &
    gens+=($!)
  done
  # When every generator has its readers, sample Redis (its share of the memory).
  for _ in $(seq 900); do
    [ "$(grep -c 'readers answered' "$log")" -ge "$SERVERS" ] && break; sleep 0.2
  done
  sleep 10
  redis_rss=$(awk '/VmRSS/ {print $2}' "/proc/$redis/status")
  redis_used=$(redis-cli -p 6390 info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
  sessions=$(redis-cli -p 6390 hlen viewers | tr -d '\r')
  sampled_at=$(date +%s)
  wait "${gens[@]}"
  python3 - "$OUT.tmp" "$redis_rss" "$redis_used" "$sessions" "$KIND" "$SERVERS" >>"$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
total = lambda k: sum(r[k] for r in rows)
servers_rss = max(r["rss_loaded_kib"] for r in rows)
servers_idle = max(r["rss_idle_kib"] for r in rows)
print(json.dumps({
    "label": f"scale-{sys.argv[5]}-{sys.argv[6]}", "processes": len(rows),
    "ready": total("ready"), "readers": total("readers"), "open": total("open_at_rss"),
    "servers_rss_kib": servers_rss, "servers_idle_rss_kib": servers_idle,
    "servers_cpu_cores": max(r["server_cpu_cores"] for r in rows),
    "rss_per_conn_kib": (servers_rss - servers_idle) / max(total("open_at_rss"), 1),
    "redis_rss_kib": int(sys.argv[2]), "redis_used_bytes": int(sys.argv[3]),
    "redis_sessions": int(sys.argv[4]),
    "loadgen_rss_kib": total("loadgen_rss_kib"), "loadgen_cpu_cores": total("loadgen_cpu_cores"),
    "update_p99_ms_max": max(r["update"]["p99_ms"] for r in rows),
    "answer_p99_ms_max": max(r["answer"]["p99_ms"] for r in rows),
    "exact_after_churn_ms_max": max((r["exact_after_churn_ms"] or -1) for r in rows)
        if all(r["exact_after_churn_ms"] is not None for r in rows) else None,
    "wrong_counts_at_end": total("wrong_counts_at_end"),
    "connect_errors": total("connect_errors"), "disconnects": total("disconnects"),
}))
PY
  rm -f "$OUT.tmp"
  cleanup
done
tail -n "$RUNS" "$OUT"
