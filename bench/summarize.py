#!/usr/bin/env python3
"""Medians of run.sh's raw.jsonl as a markdown table: req/s of each system and the ratios."""
import json, statistics, sys
from collections import defaultdict

NAMES = {1: "Q1 member by national ID + cell + commune", 2: "Q2 a cell's first 50 members",
         3: "Q3 a commune's cells with member counts", 4: "Q4 the change feed, 500 events after a sequence"}
rows, rss = defaultdict(lambda: defaultdict(list)), None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "cellreg_peak_rss_mb" in r:
        rss = r["cellreg_peak_rss_mb"]; continue
    rows[r["q"]][r["who"]].append(r)

def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else float("nan")

print("| question | raw peer-schema tps | PostGraphile req/s (p99 ms, CPU µs/req) | raw cellreg-schema tps | "
      "cellreg req/s (p99 ms, CPU µs/req) | PostGraphile ÷ its raw | cellreg ÷ its raw | cellreg ÷ PostGraphile |")
print("|---|---|---|---|---|---|---|---|")
for q in sorted(rows):
    w = rows[q]
    ra, pg, rc, c = (med(w[k], "rps") for k in ("raw-peer", "postgraphile", "raw-cellreg", "cellreg"))
    bad = sum(r.get("bad_responses", 0) + r.get("socket_errors", 0) for k in ("postgraphile", "cellreg") for r in w[k])
    print(f"| {NAMES[q]} | {ra:,.0f} | {pg:,.0f} ({med(w['postgraphile'], 'p99_ms'):.1f}, "
          f"{med(w['postgraphile'], 'service_cpu_us_per_req'):.0f}) | {rc:,.0f} | {c:,.0f} "
          f"({med(w['cellreg'], 'p99_ms'):.1f}, {med(w['cellreg'], 'service_cpu_us_per_req'):.0f}) | "
          f"{pg / ra:.3f} | {c / rc:.3f} | {c / pg:.2f} |" + (f" bad responses: {bad}" if bad else ""))
if rss is not None:
    print(f"\ncellreg peak RSS: {rss} MB")
