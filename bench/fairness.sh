#!/usr/bin/env bash
# Fairness: GET / latency on wsgi_hello while one client streams 3 MB bodies through
# POST /echo (bench/fairness_client.py), in alternating rounds of the servers given.
#
#   bash bench/fairness.sh [label=path/to/wsgi_hello ...]   (default: build/bin/wsgi_hello)
#
# The server runs pinned to CPU 1, the client to CPU 0. Environment: ROUNDS (3), PROBES (200).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-3}
probes=${PROBES:-200}
[ $# -gt 0 ] || set -- "gevent-cpp=$root/build/bin/wsgi_hello"

port=18431
for round in $(seq 1 "$rounds"); do
  for pair in "$@"; do
    label=${pair%%=*}
    bin=${pair#*=}
    taskset -c 1 "$bin" --host 127.0.0.1 --port "$port" --no-access-log > /dev/null 2>&1 &
    server=$!
    for _ in $(seq 50); do
      (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
      sleep 0.1
    done
    result=$(timeout 120 taskset -c 0 python3 "$root/bench/fairness_client.py" "$port" "$probes" ||
      echo "client failed")
    kill "$server"
    wait "$server" 2>/dev/null || true
    printf 'round %d  %-12s %s\n' "$round" "$label" "$result"
    port=$((port + 1))
  done
done
