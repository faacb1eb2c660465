#!/usr/bin/env bash
# Fan-out across two hub nodes sharing a Redis server, against one node: the "Two nodes on Redis"
# section of Docs/benchmarks.md. Per round and layout, fresh processes on free loopback ports:
#   one        one hub, no Redis                      run --url A
#   one-redis  one hub with --redis-url               run --url A
#   pub-b      hubs A and B on Redis; N subscribers   run --url A --publisher-url B  (every delivery crosses Redis)
#              on A, the publisher on B
#   split      hubs A and B on Redis; subscribers     run --url A --url B            (client i on node i mod 2,
#              alternate A/B, the publisher on A                                      the publisher on A)
# CPU is summed over the hubs (--server-pid for each; per hub in the JSON's `servers`; Redis's own
# CPU is in the file's `redis_cpu_s`). Each result: $OUT/LAYOUT-N-rROUND.json, `uptime` before each run
# in $OUT/uptime.log, the hubs' /metrics after each run in $OUT/LAYOUT-N-rROUND.metrics.
#
#   swift build -c release --product hub --product hub-bench
#   HUB_BENCH=.build/release/hub-bench Benchmarks/two-node.sh [ROUNDS] [LAYOUT ...]
set -euo pipefail
cd "$(dirname "$0")/.."
HUB_BENCH=${HUB_BENCH:-.build/release/hub-bench}
HUB_BIN=${HUB_BIN:-$(dirname "$HUB_BENCH")/hub}
OUT=${OUT:-Benchmarks/results/two-node}
N=${N:-1000}
RUN_OPTS=${RUN_OPTS:---duration 10 --window 16}
ROUNDS=${1:-3}
shift || true
LAYOUTS=${*:-one one-redis pub-b split}
mkdir -p "$OUT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do (: > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on $1" >&2; return 1
}
cpu_s() { awk '{ printf "%.3f", ($14 + $15) / 100 }' "/proc/$1/stat"; }   # utime + stime, USER_HZ 100

started=()
stop_all() {  # only the processes this script started, by PID
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${started[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  started=()
}
trap stop_all EXIT

start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning \
    > "$OUT/redis.log" 2>&1 &
  REDIS_PID=$!; started+=("$REDIS_PID")
  wait_port "$REDIS_PORT"
}
start_hub() {  # NAME [redis] → sets PORT_NAME, PID_NAME
  local name=$1 port; port=$(free_port)
  local args=(serve --bench --port "$port" --log-level warning)
  if [ "${2:-}" = redis ]; then args+=(--redis-url "redis://127.0.0.1:$REDIS_PORT"); fi
  "$HUB_BIN" "${args[@]}" > "$OUT/hub-$name.log" 2>&1 &
  local pid=$!; started+=("$pid")
  wait_port "$port"
  printf -v "PORT_$name" %s "$port"; printf -v "PID_$name" %s "$pid"
}

for round in $(seq 1 "$ROUNDS"); do
  for layout in $LAYOUTS; do
    file="$OUT/$layout-$N-r$round.json"
    REDIS_PID=""
    case $layout in
      one)       start_hub A
                 args=(--url "http://127.0.0.1:$PORT_A" --server-pid "$PID_A") ;;
      one-redis) start_redis; start_hub A redis
                 args=(--url "http://127.0.0.1:$PORT_A" --server-pid "$PID_A") ;;
      pub-b)     start_redis; start_hub A redis; start_hub B redis
                 args=(--url "http://127.0.0.1:$PORT_A" --publisher-url "http://127.0.0.1:$PORT_B"
                       --server-pid "$PID_A" --server-pid "$PID_B") ;;
      split)     start_redis; start_hub A redis; start_hub B redis
                 args=(--url "http://127.0.0.1:$PORT_A" --url "http://127.0.0.1:$PORT_B"
                       --server-pid "$PID_A" --server-pid "$PID_B") ;;
      *) echo "unknown layout $layout" >&2; exit 2 ;;
    esac
    sleep 1   # let the nodes subscribe
    echo "$(date -u +%FT%TZ) $layout $N round $round: $(uptime)" | tee -a "$OUT/uptime.log"
    redis0=${REDIS_PID:+$(cpu_s "$REDIS_PID")}
    # shellcheck disable=SC2086
    if "$HUB_BENCH" run --scenario fanout --clients "$N" $RUN_OPTS "${args[@]}" --json \
         > "$file.tmp" 2>> "$OUT/stderr.log"; then
      redis_cpu=null
      if [ -n "$REDIS_PID" ]; then redis_cpu=$(echo "$(cpu_s "$REDIS_PID") - $redis0" | bc); fi
      python3 - "$file.tmp" "$layout" "$redis_cpu" "$(uptime)" > "$file" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["layout"] = sys.argv[2]
doc["redis_cpu_s"] = None if sys.argv[3] == "null" else float(sys.argv[3])  # whole run, setup included
doc["uptime_after"] = sys.argv[4]
print(json.dumps(doc, sort_keys=True))
EOF
      rm -f "$file.tmp"
    else
      echo "run failed: $file" | tee -a "$OUT/uptime.log"
    fi
    for node in A B; do
      port_var=PORT_$node
      if [ -n "${!port_var:-}" ]; then
        echo "# node $node" >> "$OUT/$layout-$N-r$round.metrics"
        curl -s "http://127.0.0.1:${!port_var}/metrics" | grep -E '^hub_(transport_buffer_full|volatile_dropped|redis|adapter|broadcast)' \
          >> "$OUT/$layout-$N-r$round.metrics" || true
      fi
    done
    stop_all
    unset PORT_A PORT_B PID_A PID_B
  done
done
