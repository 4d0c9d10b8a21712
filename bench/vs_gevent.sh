#!/usr/bin/env bash
# gevent-cpp side by side with Python gevent on the same workloads, with the ratios.
#
#   bash bench/vs_gevent.sh    (from any directory; needs the release build's benchmarks)
#
# PYTHON picks the interpreter (default: python3, else /usr/bin/python3, the one Debian's
# python3-gevent installs for). GEVENT_BENCH_SCALE < 1 shrinks the Python counts for a quick run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/build/bin
target=20

for tool in bench_core bench_memory bench_aio; do
  if [ ! -x "$bin/$tool" ]; then
    echo "missing $bin/$tool: run 'make bench', or build the release preset first" \
      "(cmake --preset release && cmake --build --preset release)" >&2
    exit 1
  fi
done

# shellcheck source=bench/http/servers.sh
source "$root/bench/http/servers.sh"  # python_with_gevent

if ! py=$(python_with_gevent); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Python gevent is missing: sudo apt-get install python3-gevent" \
      "(or set PYTHON to a python3 that has gevent)" >&2
    exit 1
  fi
  echo "installing python3-gevent..." >&2
  timeout 600 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq python3-gevent > /dev/null
  if ! py=$(python_with_gevent); then
    echo "python3-gevent is installed, yet neither ${PYTHON:-python3} nor /usr/bin/python3 has gevent" >&2
    exit 1
  fi
fi

# Runs a step with a time limit, so the benchmark always ends.
bounded() {
  local seconds=$1
  shift
  timeout "$seconds" "$@" || { echo "failed or timed out after ${seconds}s: $*" >&2; exit 1; }
}

echo "running gevent-cpp (bench_core, bench_memory 100000, bench_aio)..." >&2
cpp_out=$(bounded 300 "$bin/bench_core"; bounded 300 "$bin/bench_memory" 100000
  bounded 300 "$bin/bench_aio" | grep -v '^ratio')
echo "running Python gevent (bench/gevent_workloads.py, peers/gevent_asyncio_bridge.py, about 50 s)..." >&2
py_out=$(bounded 900 "$py" "$root/bench/gevent_workloads.py"
  bounded 300 "$py" "$root/bench/peers/gevent_asyncio_bridge.py" "${GEVENT_BENCH_SCALE:-1}")

gevent_info=$(bounded 60 "$py" -c 'import gevent, platform
loop = gevent.get_hub().loop
backend = getattr(loop, "backend", "?")
print(f"{gevent.__version__} (Python {platform.python_version()}),"
      f" loop {type(loop).__module__}.{type(loop).__name__} on {backend}")')
cpp_backend=$(awk '$1 == "backend" { print $2 }' <<< "$cpp_out")

echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel:     $(uname -r)"
echo "gevent:     $gevent_info"
echo "gevent-cpp: backend $cpp_backend"
echo "timings:    best of 7 runs (gevent-cpp), best of 3 (Python)"
[ "${GEVENT_BENCH_SCALE:-1}" = 1 ] ||
  echo "scale:      Python counts times $GEVENT_BENCH_SCALE (a quick run)"
echo

{
  sed 's/^/cpp /' <<< "$cpp_out"
  sed 's/^/py /' <<< "$py_out"
} | awk -v target="$target" '
  { value[$1, $2] = $3 }

  # ratio = Python / gevent-cpp: how many times faster (or smaller) gevent-cpp is.
  # per: the key of a count that a total figure is divided by, for a ratio per item.
  # want: a target of its own for this row (default: target).
  function row(label, key, unit, speed, per, want,   cpp, py, ratio) {
    cpp = value["cpp", key]; py = value["py", key]
    if (cpp == "" || py == "" || cpp <= 0) {
      printf "%-34s | no figure for %s\n", label, key
      return
    }
    ratio = py / cpp
    if (per != "") ratio *= value["cpp", per] / value["py", per]
    printf "%-34s | %12s | %13s | %7.1fx", label, cpp " " unit, py " " unit, ratio
    if (want == "") want = target
    if (speed) printf "  target: >= %dx, %s", want, (ratio >= want ? "met" : "NOT met")
    printf "\n"
  }

  END {
    printf "%-34s | %12s | %13s | %8s\n", "workload", "gevent-cpp", "Python gevent", "ratio"
    row("spawn+join 100k (per greenlet)", "spawn_joinall_ns", "ns", 1)
    row("1M sleep(0) (per call)", "sleep0_ns", "ns", 1)
    row("greenlet hand-over", "handoff_ns", "ns", 1)
    row("Event set -> wake (ping-pong)", "event_set_wait_ns", "ns", 1)
    row("Semaphore acquire+release", "semaphore_acquire_release_ns", "ns", 1)
    row("Queue put -> get (ping-pong)", "queue_put_get_ns", "ns", 1)
    row("Pool(100).imap_unordered 100k (per item)", "pool_imap_unordered_ns", "ns", 1)
    row("thread pool round trip", "threadpool_roundtrip_us", "us", 1)
    row("spawn 100k sleeping greenlets", "spawn_seconds", "s", 1, "greenlets")
    row("100k sleeping: RSS per greenlet", "rss_bytes_per_greenlet", "B", 0)
    # asyncio on gevent (the asyncio-gevent way) against gevent::aio: issue 16 asks >= 50x.
    row("greenlet waits task (per round)", "greenlet_waits_task_ns", "ns", 1, "", 50)
    row("greenlet <-> task round trip", "greenlet_task_roundtrip_ns", "ns", 1, "", 50)
  }'
