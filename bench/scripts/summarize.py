#!/usr/bin/env python3
"""Medians per label of the RESULT lines a benchmark script collected.

    python3 bench/scripts/summarize.py bench/results/churn.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict

FIELDS = [
    "ready", "rss_per_conn_kib", "rss_loaded_kib", "server_cpu_cores", "loadgen_cpu_cores",
    "answer.p50_ms", "answer.p99_ms", "update.p50_ms", "update.p99_ms", "update.max_ms",
    "viewers_msgs_per_s", "post0_msgs_per_s", "hot_readers_at_end", "exact_after_churn_ms",
    "wrong_counts_at_end", "unmatched_pushes", "moves_skipped", "connect_errors",
    "storm.exact_after_ms", "storm.viewing_lost", "storm.unanswered_readers",
    "handshakes", "handshakes_per_s", "accepted", "refused", "failed",
    "rss_before_mib", "rss_peak_mib", "rss_end_mib", "server_cores",
]


def get(row, path):
    for part in path.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(part)
    return row


def main(path):
    groups = defaultdict(list)
    with open(path) as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                groups[row["label"]].append(row)
    for label, rows in groups.items():
        print(f"## {label}  (runs: {len(rows)}, medians)")
        for field in FIELDS:
            values = [get(r, field) for r in rows]
            if all(v is None for v in values):
                continue
            nums = [v for v in values if isinstance(v, (int, float))]
            missing = len(values) - len(nums)
            med = statistics.median(nums) if nums else None
            shown = f"{med:.3f}" if isinstance(med, float) else str(med)
            every = ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in values)
            print(f"  {field:24} {shown:>12}   [{every}]" + (f" ({missing} none)" if missing else ""))


if __name__ == "__main__":
    main(sys.argv[1])
