#!/usr/bin/env bash
# Echo ping-pong: gevent-cpp's echo_server beside an echo server written with Boost.Asio
# C++20 coroutines (bench/peers/asio_echo.cpp), in alternating rounds, under the same load
# generator (bench/peers/echo_load.cpp: epoll, one thread, no framework).
#
#   bash bench/echo.sh            (needs the release build: make release)
#
# Each server runs on one thread pinned to CPU 1, the load on CPU 0. Workloads:
#   64 B messages over 1000 connections, and 64 KiB messages over 100 connections.
# Printed per workload: the median round trips/s of each server, round trips per second of
# server CPU time (utime+stime from /proc: the load generator shares the machine, so this is
# the fairer figure), bytes/s, and the ratios gevent-cpp / Asio. ROUNDS and SECONDS bound it.
# BASELINE_BIN, a directory with another build's echo_server (say the commit before a change),
# adds it to the rounds as "baseline", with the ratio gevent-cpp / baseline.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${GEVENT_BIN:-$root/build/bin}  # where echo_server is
baseline=${BASELINE_BIN:-}
peers=$root/build/bench-peers
rounds=${ROUNDS:-9}
seconds=${SECONDS_PER_ROUND:-3}

if [ ! -x "$bin/echo_server" ]; then
  echo "missing $bin/echo_server: run 'make release' first" >&2
  exit 1
fi
mkdir -p "$peers"
build_peer() {  # name, extra flags: rebuilt when the source is newer
  local src=$root/bench/peers/$1.cpp out=$peers/$1
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
    g++ -O2 -std=c++20 -o "$out" "$src" "${@:2}"
  fi
}
build_peer asio_echo -pthread
build_peer echo_load

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Server CPU time in seconds (utime + stime) of a pid.
cpu_seconds() {
  awk -v tck="$(getconf CLK_TCK)" '{ print ($14 + $15) / tck }' "/proc/$1/stat"
}

# Runs one round: server kind, connections, message bytes. Prints "rtt_per_s bytes_per_s
# rtt_per_cpu_s".
one_round() {
  local kind=$1 conns=$2 size=$3 port pid
  port=$(free_port)
  case $kind in
    gevent) taskset -c 1 "$bin/echo_server" --port "$port" > /dev/null & ;;
    baseline) taskset -c 1 "$baseline/echo_server" --port "$port" > /dev/null & ;;
    asio) taskset -c 1 "$peers/asio_echo" "$port" & ;;
  esac
  pid=$!
  for _ in $(seq 50); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" 2> /dev/null; then
      break
    fi
    sleep 0.1
  done
  local before after result
  before=$(cpu_seconds "$pid")
  result=$(taskset -c 0 "$peers/echo_load" "$port" "$conns" "$size" "$seconds")
  after=$(cpu_seconds "$pid")
  kill -TERM "$pid"
  wait "$pid" 2> /dev/null || true
  read -r rtt bytes <<< "$result"
  awk -v r="$rtt" -v b="$bytes" -v c="$(awk -v a="$after" -v b="$before" 'BEGIN{print a-b}')" \
    -v s="$seconds" 'BEGIN { printf "%.0f %.0f %.0f\n", r, b, (c > 0 ? r * s / c : 0) }'
}

# Prints the medians and ratios of rows "kind round_trips/s bytes/s round_trips/cpu-s".
report() {
  python3 -c '
import statistics, sys
label = sys.argv[1]
rows = [line.split() for line in sys.stdin if line.strip()]
kinds = [k for k in ("gevent", "baseline", "asio") if any(r[0] == k for r in rows)]
med = {k: [statistics.median(float(r[i]) for r in rows if r[0] == k) for i in (1, 3, 2)]
       for k in kinds}
names = {"gevent": "gevent-cpp", "baseline": "baseline", "asio": "asio"}
others = [k for k in kinds if k != "gevent"]
ratio_prefix = "cpp/"
print(f"{label:<28}" + "".join(f"{names[k]:>14}" for k in kinds)
      + "".join(f"{ratio_prefix + k[:4]:>10}" for k in others))
for i, name in enumerate(("round trips/s", "round trips/CPU-s", "bytes/s (both ways)")):
    g = med["gevent"][i]
    print(f"  {name:<26}" + "".join(f"{med[k][i]:>14.0f}" for k in kinds)
          + "".join(f"{g / med[k][i] if med[k][i] else 0:>10.2f}" for k in others))
' "$1"
}

run_workload() {
  local label=$1 conns=$2 size=$3
  for ((i = 0; i < rounds; i++)); do
    echo "gevent $(one_round gevent "$conns" "$size")"
    if [ -n "$baseline" ]; then echo "baseline $(one_round baseline "$conns" "$size")"; fi
    echo "asio $(one_round asio "$conns" "$size")"
  done | report "$label"
}

echo "echo ping-pong, $rounds alternating rounds of ${seconds}s each, medians"
run_workload "64 B x 1000 connections" 1000 64
run_workload "64 KiB x 100 connections" 100 65536
