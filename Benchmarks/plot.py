#!/usr/bin/env python3
"""Plots from `hub-bench compare --json` outputs (Benchmarks/results/*.json) into Docs/images/.

    Benchmarks/peers/.venv/bin/python Benchmarks/plot.py [RESULTS_DIR] [IMAGES_DIR]

For every scenario found, one PNG per figure against the client count, a line per server:
  fanout   deliveries/s, server CPU µs per delivery, latency p50/p99
  echo     RTT p50/p99, server CPU µs per round trip
  polling  RTT p50/p99, round trips/s
  connect  connects/s, connect p50/p99
  idle     server RSS per connection
Several files for the same scenario, server and client count (repeated rounds) are reduced to
their median. A server that failed at some N has no point there (the failure is listed in the
title). Re-running the hub side and this script regenerates every plot.
"""
import glob
import json
import os
import statistics
import sys
import textwrap
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tables import chosen_commit  # noqa: E402  (one rule for which hub commit a figure shows)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results")
IMAGES = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "Docs", "images")

SERVERS = ["hub", "python-socketio", "flask-socketio"]
COLOURS = {"hub": "#d94f04", "python-socketio": "#3572a5", "flask-socketio": "#2e8b57"}

# scenario -> [(file suffix, title, [(figure key, label suffix, line style)], y label, log y)]
PLOTS = {
    "fanout": [
        ("deliveries", "fan-out: deliveries/s (window 16)", [("deliveries_per_s", "", "-")], "deliveries/s", True),
        ("cpu", "fan-out: server CPU per delivery", [("server_cpu_us_per_delivery", "", "-")], "µs of server CPU", True),
        ("latency", "fan-out: publish → receive latency (window 16)",
         [("latency_p50_ms", " p50", "-"), ("latency_p99_ms", " p99", "--")], "ms", True),
    ],
    "echo": [
        ("latency", "echo (2 msg/s per client): round trip",
         [("rtt_p50_ms", " p50", "-"), ("rtt_p99_ms", " p99", "--")], "ms", True),
        ("cpu", "echo: server CPU per round trip", [("server_cpu_us_per_round_trip", "", "-")], "µs of server CPU", True),
    ],
    "polling": [
        ("latency", "polling echo (2 msg/s per client): round trip",
         [("rtt_p50_ms", " p50", "-"), ("rtt_p99_ms", " p99", "--")], "ms", True),
        ("rate", "polling: round trips/s", [("round_trips_per_s", "", "-")], "round trips/s", True),
    ],
    "connect": [
        ("rate", "connect: connects/s (100 handshakes in flight)", [("connects_per_s", "", "-")], "connects/s", True),
        ("latency", "connect: connect latency",
         [("connect_p50_ms", " p50", "-"), ("connect_p99_ms", " p99", "--")], "ms", True),
    ],
    "idle": [
        ("rss", "idle: server RSS per WebSocket connection", [("server_rss_per_connection_kb", "", "-")], "KB", True),
    ],
}


def load(results_dir):
    """{scenario: {server: {clients: {figure: [values]}}}} and failures {scenario: [(server, clients)]}."""
    data = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    failures = defaultdict(set)
    paths = sorted(glob.glob(os.path.join(results_dir, "*.json")))
    commit = chosen_commit(paths)
    for path in paths:
        with open(path) as f:
            try:
                doc = json.load(f)
            except json.JSONDecodeError:
                continue
        if "runs" not in doc:
            continue
        scenario, clients = doc["scenario"], doc["clients"]
        for run in doc["runs"]:
            if run["server"] == "hub" and doc.get("hub_commit") != commit:
                continue
            result = run.get("result")
            figures = (result or {}).get("figures", {})
            connected = figures.get("connections", figures.get("subscribers", figures.get("connects")))
            if not result or run.get("error") or (connected is not None and connected < clients * 0.99):
                failures[scenario].add((run["server"], clients))
                if not result:
                    continue
            for key, value in figures.items():
                if isinstance(value, (int, float)):
                    data[scenario][run["server"]][clients][key].append(value)
    return data, failures


def plot(data, failures, images_dir):
    os.makedirs(images_dir, exist_ok=True)
    written = []
    for scenario, plots in PLOTS.items():
        if scenario not in data:
            continue
        for suffix, title, series, ylabel, logy in plots:
            fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
            drawn = False
            for server in SERVERS:
                by_n = data[scenario].get(server, {})
                for key, label, style in series:
                    points = sorted((n, statistics.median(v[key])) for n, v in by_n.items()
                                    if v.get(key) and (server, n) not in failures[scenario])
                    points = [(n, y) for n, y in points if y > 0 or not logy]
                    if not points:
                        continue
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, style, marker="o", color=COLOURS.get(server), label=server + label)
                    drawn = True
            if not drawn:
                plt.close(fig)
                continue
            failed = sorted(failures[scenario])
            if failed:
                title += "\n" + textwrap.fill("failed or incomplete: " + ", ".join(f"{s} at {n:,}" for s, n in failed), 90)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("clients")
            ax.set_ylabel(ylabel)
            ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            out = os.path.join(images_dir, f"{scenario}-{suffix}.png")
            fig.savefig(out)
            plt.close(fig)
            written.append(out)
    return written


def main():
    data, failures = load(RESULTS)
    for path in plot(data, failures, IMAGES):
        print(path)


if __name__ == "__main__":
    main()
