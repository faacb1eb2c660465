#!/usr/bin/env python3
"""Markdown tables from `hub-bench compare --json` outputs (Benchmarks/results/*.json), as in
Docs/benchmarks.md: per scenario, one row per client count, hub vs python-socketio vs Flask-SocketIO
and the ratios. Repeated rounds are reduced to their median (the count is shown as ×k).

    python3 Benchmarks/tables.py [RESULTS_DIR]
"""
import glob
import json
import os
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results")
SERVERS = ["hub", "python-socketio", "flask-socketio"]
SHORT = {"hub": "hub", "python-socketio": "py-sio", "flask-socketio": "flask"}

# scenario -> [(figure, label, higher is better, format)]
FIGURES = {
    "fanout": [("deliveries_per_s", "deliveries/s", True, "{:,.0f}"),
               ("server_cpu_us_per_delivery", "server CPU µs/delivery", False, "{:.1f}"),
               ("latency_p50_ms", "latency p50 ms", False, "{:,.0f}"),
               ("latency_p99_ms", "latency p99 ms", False, "{:,.0f}"),
               ("lost", "lost", False, "{:,.0f}"),
               ("out_of_order", "out of order", False, "{:,.0f}")],
    "echo": [("acks_per_s", "acks/s", True, "{:,.0f}"),
             ("rtt_p50_ms", "RTT p50 ms", False, "{:.2f}"),
             ("rtt_p99_ms", "RTT p99 ms", False, "{:,.1f}"),
             ("server_cpu_us_per_round_trip", "server CPU µs/round trip", False, "{:,.0f}"),
             ("unanswered", "unanswered", False, "{:,.0f}")],
    "polling": [("round_trips_per_s", "round trips/s", True, "{:,.0f}"),
                ("rtt_p50_ms", "RTT p50 ms", False, "{:.2f}"),
                ("rtt_p99_ms", "RTT p99 ms", False, "{:,.1f}"),
                ("server_cpu_us_per_round_trip", "server CPU µs/round trip", False, "{:,.0f}"),
                ("unanswered", "unanswered", False, "{:,.0f}")],
    "connect": [("connects_per_s", "connects/s", True, "{:,.0f}"),
                ("connect_p50_ms", "connect p50 ms", False, "{:,.1f}"),
                ("connect_p99_ms", "connect p99 ms", False, "{:,.0f}"),
                ("connect_failures", "failures", False, "{:,.0f}")],
    "idle": [("server_rss_per_connection_kb", "server RSS KB/connection", False, "{:.1f}"),
             ("server_idle_cpu_pct", "server CPU idle %", False, "{:.2f}"),
             ("connect_failures", "connect failures", False, "{:,.0f}")],
}
COUNT = {"fanout": "subscribers", "echo": "connections", "polling": "connections", "idle": "connections",
         "connect": "connects"}


def chosen_commit(paths):
    """The hub commit to show: $HUB_COMMIT, else the one most result files were taken with (hub runs
    of other commits, e.g. a re-run of the hub side, are left out so that rows never mix builds)."""
    if os.environ.get("HUB_COMMIT"):
        return os.environ["HUB_COMMIT"]
    counts = {}
    for path in paths:
        try:
            commit = json.load(open(path)).get("hub_commit")
        except (json.JSONDecodeError, OSError, AttributeError):
            continue
        counts[commit] = counts.get(commit, 0) + 1
    return max(counts, key=counts.get) if counts else None


def load():
    data = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))  # scenario -> n -> server -> [run]
    paths = sorted(glob.glob(os.path.join(RESULTS, "*.json")))
    commit = chosen_commit(paths)
    for path in paths:
        try:
            doc = json.load(open(path))
        except (json.JSONDecodeError, OSError):
            continue
        if "runs" not in doc:
            continue
        for run in doc["runs"]:
            if run["server"] == "hub" and doc.get("hub_commit") != commit:
                continue
            data[doc["scenario"]][doc["clients"]][run["server"]].append(run)
    return data


def cell(runs, key, fmt, n, scenario):
    if not runs:
        return "—", None
    ok = [r for r in runs if r.get("result") and not r.get("error")]
    if not ok:
        return "failed", None
    values = [r["result"]["figures"].get(key) for r in ok]
    values = [v for v in values if isinstance(v, (int, float))]
    if not values:
        return "—", None
    v = statistics.median(values)
    text = fmt.format(v)
    connected = [r["result"]["figures"].get(COUNT[scenario]) for r in ok]
    connected = [c for c in connected if isinstance(c, int)]
    if connected and min(connected) < n:
        text += f" ({min(connected):,} of {n:,})"
    if len(values) > 1:
        text += f" ×{len(values)}"
    return text, v


def main():
    data = load()
    for scenario in ["fanout", "echo", "idle", "connect", "polling"]:
        if scenario not in data:
            continue
        print(f"### {scenario}\n")
        header = ["clients", "figure"] + SERVERS + [f"hub/{SHORT[s]}" for s in SERVERS[1:]]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for n in sorted(data[scenario]):
            for key, label, higher, fmt in FIGURES[scenario]:
                row = [f"{n:,}", label + (" ↑" if higher else " ↓")]
                values = {}
                for s in SERVERS:
                    text, v = cell(data[scenario][n].get(s, []), key, fmt, n, scenario)
                    row.append(text)
                    values[s] = v
                for s in SERVERS[1:]:
                    h, p = values.get("hub"), values.get(s)
                    row.append(f"{h / p:.2f}×" if h is not None and p else "—")
                print("| " + " | ".join(row) + " |")
        print()


if __name__ == "__main__":
    main()
