#!/usr/bin/env python3
"""Medians of the `joins` benchmark per variant, every run's value, and the ratio.

    bench/scripts/compare.py RESULTS.jsonl BASELINE OTHER
"""
import json
import statistics
import sys

path, baseline, other = sys.argv[1:4]
rows = [json.loads(line) for line in open(path)]
medians = {}
for variant in (baseline, other):
    runs = [r for r in rows if r["variant"] == variant]
    moves = [r["moves_per_sec"] for r in runs]
    usec = [r["redis_usec_per_script"] for r in runs]
    medians[variant] = (statistics.median(moves), statistics.median(usec))
    print(f"{variant}: moves/s median {medians[variant][0]:.0f} {[round(m) for m in moves]}, "
          f"Redis µs/script median {medians[variant][1]:.2f} {usec}")
print(f"{other}/{baseline}: moves/s {medians[other][0] / medians[baseline][0]:.3f}, "
      f"Redis µs/script {medians[other][1] / medians[baseline][1]:.3f}")
