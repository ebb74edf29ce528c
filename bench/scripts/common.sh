# Shared helpers for the benchmark scripts: start private servers on loopback ports,
# remember their pids, and kill exactly those on exit. Source it; do not run it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/target/release
# The server under test; BENCHMARKS.md names the commit it was built from.
PRESENCE_BIN=${PRESENCE_BIN:-$BIN/presence-server}
RESULTS=${RESULTS:-$ROOT/bench/results}
LOGS=${LOGS:-/tmp/presence-bench-logs}
mkdir -p "$RESULTS" "$LOGS"
PIDS=()

cleanup() { # newest first, so servers stop before the Redis they use
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null || true
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT

wait_port() { # PORT: wait up to 20 s until something listens on 127.0.0.1:PORT
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}

start_redis() { # PORT -> $LAST_PID
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >"$LOGS/redis-$1.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$1"
}

start_presence() { # PORT REDIS_PORT -> $LAST_PID
  # The generator's thousands of readers come from 8 loopback addresses and switch
  # posts far faster than people: lift the per-client limits meant for real readers.
  PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP=1000000 PRESENCE_SECURITY__VIEWING_PER_SECOND=1000 \
  PRESENCE_SECURITY__MAX_POSTS_PER_SOCKET=100000 \
  PRESENCE_SERVER__LISTEN=127.0.0.1:$1 PRESENCE_REDIS__URL=redis://127.0.0.1:$2/0 \
    PRESENCE_SERVER__NODE=bench-$1 PRESENCE_SERVER__PING_INTERVAL_SECS=${PING:-10} RUST_LOG=${SERVER_LOG:-warn} \
    "$PRESENCE_BIN" >"$LOGS/presence-$1.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$1"
}

start_node() { # PORT REDIS_PORT -> $LAST_PID
  PORT=$1 REDIS_URL=redis://127.0.0.1:$2 PING_INTERVAL_MS=$((${PING:-10} * 1000)) \
    node "$ROOT/bench/baseline-node/server.mjs" >"$LOGS/node-$1.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$1"
}

start_bare() { # PORT [flags…] -> $LAST_PID
  local port=$1; shift
  "$BIN/bare" --listen "127.0.0.1:$port" --ping-interval "${PING:-10}" "$@" >"$LOGS/bare-$port.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$port"
}

# start_server KIND PORT REDIS_PORT: KIND is presence | node | bare | bare-detach |
# bare-defaults | bare-push. PING (seconds, default 10) sets every server's ping interval.
# SERVER_LOG (default warn) is the presence server's RUST_LOG, for investigating a run.
start_server() {
  case $1 in
    presence) start_redis "$3"; start_presence "$2" "$3" ;;
    node) start_redis "$3"; start_node "$2" "$3" ;;
    bare) start_bare "$2" ;;
    bare-detach) start_bare "$2" --detach ;;
    bare-defaults) start_bare "$2" --defaults ;;
    bare-push) start_bare "$2" --push ;;
    *) echo "unknown server kind $1" >&2; return 1 ;;
  esac
}

# loadgen OUTFILE ARGS…: runs one load generator and appends its RESULT line.
loadgen() {
  local out=$1; shift
  "$BIN/loadgen" "$@" 2>>"$LOGS/loadgen.log" | sed -n 's/^RESULT //p' >>"$out"
}
