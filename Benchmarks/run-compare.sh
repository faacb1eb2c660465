#!/usr/bin/env bash
# The comparison behind Docs/benchmarks.md: `hub-bench compare` for every scenario at 1k, 5k, 10k and
# the most clients the machine allows, each result as one JSON file in $OUT (default Benchmarks/results),
# with `uptime` before each run in $OUT/uptime.log. Then: Benchmarks/peers/.venv/bin/python Benchmarks/plot.py
#
#   make bench-venv
#   swift build -c release --product hub --product hub-bench   (or your own --scratch-path)
#   HUB_BENCH=.build/release/hub-bench Benchmarks/run-compare.sh [ROUND] [SCENARIO ...]
#
# PEERS=hub re-runs the hub side only (the peers' files stay); HUB_COMMIT names the hub's commit.
# Flask-SocketIO (threading: one OS thread per connection) runs up to FLASK_MAX clients (default
# 5000): at 5000 its threads put the load average of the 2-core machine above 1000.
# An existing result file is kept (SKIP_EXISTING=0 to run it again).
set -euo pipefail
cd "$(dirname "$0")/.."
HUB_BENCH=${HUB_BENCH:-.build/release/hub-bench}
HUB_BIN=${HUB_BIN:-$(dirname "$HUB_BENCH")/hub}
OUT=${OUT:-Benchmarks/results}
PEERS=${PEERS:-hub,python-socketio,flask-socketio}
FLASK_MAX=${FLASK_MAX:-5000}
SKIP_EXISTING=${SKIP_EXISTING:-1}
HUB_COMMIT=${HUB_COMMIT:-$(git rev-parse --short HEAD)}
ROUND=${1:-1}
shift || true
SCENARIOS=${*:-fanout echo idle connect polling}
mkdir -p "$OUT"

# N, then the options that N needs: beyond ~9,900 sockets a process, two worker processes (each has
# its own 20,000-file limit) and two source addresses (each its own ephemeral port range).
spread="--processes 2 --source-addresses 127.0.0.2,127.0.0.3"
sizes() {
  if [ -n "${ONLY_N:-}" ]; then echo "$ONLY_N"; return; fi   # e.g. ONLY_N=1000 for more rounds at 1k
  case $1 in
    polling) echo "1000 5000 9000" ;;   # 2 sockets per client: the server's 20,000 files end at ~9,900
    *)       echo "1000 5000 10000 19000" ;;
  esac
}
options() {  # scenario
  case $1 in
    connect) echo "" ;;
    idle)    echo "--duration 5 --settle 3" ;;
    echo)    echo "--rate 2 --duration 10" ;;
    fanout)  echo "--duration 10 --window 16" ;;
    polling) echo "--rate 2 --duration 10" ;;
  esac
}

for scenario in $SCENARIOS; do
  for n in $(sizes "$scenario"); do
    extra=""
    if [ "$n" -ge 9000 ]; then extra=$spread; fi
    file="$OUT/$scenario-$n-r$ROUND${PEERS_SUFFIX:-}.json"
    if [ "$SKIP_EXISTING" = 1 ] && [ -s "$file" ]; then continue; fi
    peers=$PEERS
    if [ "$n" -gt "$FLASK_MAX" ]; then peers=$(echo "$PEERS" | sed 's/,*flask-socketio//'); fi
    echo "$(date -u +%FT%TZ) $scenario $n round $ROUND: $(uptime)" | tee -a "$OUT/uptime.log"
    # shellcheck disable=SC2046
    "$HUB_BENCH" compare --scenario "$scenario" --clients "$n" $(options "$scenario") $extra \
      --peers "$peers" --hub-bin "$HUB_BIN" --hub-commit "$HUB_COMMIT" --run-timeout 180 --json \
      > "$file.tmp" 2>> "$OUT/stderr-r$ROUND.log" && mv "$file.tmp" "$file" || echo "compare failed: $file" | tee -a "$OUT/uptime.log"
  done
done
