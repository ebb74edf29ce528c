#!/usr/bin/env bash
# HTTP counts under wrk: GET /api/posts/{id} and a 50-id batch, presence vs Node.
#   bench/scripts/http.sh [RUNS] [SECS] [CONNECTIONS]
source "$(dirname "$0")/common.sh"
RUNS=${1:-3}; SECS=${2:-10}; CONNS=${3:-64}
OUT=$RESULTS/http.jsonl
IDS=$(seq -s, 1 50)
seed() { # 50 posts with a few viewers and views each
  for i in $(seq 1 50); do
    echo "SADD viewers:$i s$i-a s$i-b s$i-c"; echo "SET views:$i $((i * 10))"
  done | redis-cli -p "$1" >/dev/null
}
wrk_json() { # LABEL URL
  local pid=$LAST_PID cpu0 cpu1
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$2" >"$LOGS/wrk.txt"
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  python3 - "$1" "$LOGS/wrk.txt" "$(( cpu1 - cpu0 ))" "$SECS" >>"$OUT" <<'PY'
import json, re, sys
label, path, ticks, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
text = open(path).read()
def ms(s):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", s).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"label": label, "rps": rps, "p50_ms": p50, "p99_ms": p99,
                  "non_2xx": int(errors.group(1)) if errors else 0,
                  "server_cpu_cores": ticks / 100 / secs}))
PY
}
for run in $(seq "$RUNS"); do
  for kind in presence node; do
    start_server "$kind" 3300 6390
    seed 6390
    sleep 1
    wrk_json "http-one-$kind" "http://127.0.0.1:3300/api/posts/13"
    wrk_json "http-batch50-$kind" "http://127.0.0.1:3300/api/posts?ids=$IDS"
    cleanup
  done
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line); rows[r["label"]].append(r)
for label, rs in rows.items():
    med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms", "server_cpu_cores", "non_2xx")}
    print(label, len(rs), "runs:", {k: round(v, 3) for k, v in med.items()}, "rps:", [round(r["rps"]) for r in rs])
PY
