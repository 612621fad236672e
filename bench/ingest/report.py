"""Prints the ingestion table from wrk and pgbench outputs in a folder."""

import glob
import re
import sys


def wrk(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    percentiles = {}
    for p, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        percentiles[p] = float(value) * factor
    errors = re.search(r"GraphQL failures:\s+(\d+)", text)
    return rps, percentiles.get("50"), percentiles.get("99"), int(errors.group(1)) if errors else 0


def pgbench(folder, query):
    text = open(f"{folder}/{query}.pgbench").read()
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", text).group(1))
    latencies = []
    for log in glob.glob(f"{folder}/pg-{query}.*"):
        for line in open(log):
            fields = line.split()
            if len(fields) >= 3:
                latencies.append(int(fields[2]) / 1000.0)
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else None

    return tps, pct(50), pct(99)


def ingestion(folder, connections):
    """Events/s of batched and single transfers beside pgbench running the same statements."""
    try:
        counts = [line.split() for line in open(f"{folder}/ingest.counts")]
    except FileNotFoundError:
        return
    tps, pg50, pg99 = pgbench(folder, "transfer")
    print(f"\ntransfers, {connections} connections; pgbench runs one transfer's statements per transaction")
    print(f"{'ingestion':<48} {'events/s':>13} {'p50 ms':>7} {'p99 ms':>7} {'pgbench tps':>12} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}")
    for batch, applied, elapsed in counts:
        rate = int(applied) / float(elapsed)
        rps, p50, p99, _ = wrk(f"{folder}/ingest-{batch}.wrk")
        name = "single transfers (REST, 1 per request)" if batch == "1" else f"REST batches of {batch}"
        failures = re.search(r"HTTP failures:\s+(\d+)", open(f"{folder}/ingest-{batch}.wrk").read())
        flag = f"  ({failures.group(1)} failed)" if failures and failures.group(1) != "0" else ""
        # A request that outlasts the run has no latency on record.
        latency = f"{p50:>7.2f} {p99:>7.2f}" if rps > 0 and p50 else f"{'-':>7} {'-':>7}"
        print(f"{name:<48} {rate:>13.0f} {latency} {tps:>12.0f} {pg50 or 0:>7.2f} {pg99 or 0:>7.2f} {rate / tps:>6.2f}{flag}")


def main():
    folder, connections = sys.argv[1], sys.argv[2]
    ingestion(folder, connections)


main()
