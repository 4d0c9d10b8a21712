#!/usr/bin/env bash
# Memory of idle keep-alive connections and of requests in flight: gevent-cpp's wsgi_hello
# beside nginx and Python gevent's pywsgi (the servers of bench/http.sh, bench/http/servers.sh).
#
#   bash bench/idle_memory.sh          (needs build/bin/wsgi_hello: make release)
#
# Each server runs pinned to CPU 1 (nginx: one worker) with ulimit -n 20000; the client,
# bench/idle_memory.py (Python, non-blocking sockets), runs on CPU 0. Measured is the VmRSS
# of the process that serves: wsgi_hello, pywsgi's python, and for nginx its one worker (the
# master holds no connection, so master + worker would only add a constant). nginx allocates
# all its worker_connections slots (N + 100 here, ~0.4 KB each) at start: they are in its
# RSS before, not in its growth per connection.
#   Idle: N keep-alive connections, one GET / each (every answer read), idle 2 s, then all
#   closed. Printed: RSS before, growth per idle connection ((idle - before) / N), and RSS
#   3 s after the clients left minus before.
#   In flight: a fresh server, INFLIGHT connections with one GET / each, then
#   GET /sleep?ms=SLEEP_MS on all at once; printed per request: RSS growth while they sleep
#   against before (so with its connection) and against the same connections idle. Stock
#   nginx has no route that sleeps: n/a.
# Then the ratios gevent-cpp / nginx and gevent-cpp / pywsgi of growth per idle connection,
# and whether gevent-cpp meets the targets (<= 1.0 KB per idle connection, within 4 MB of
# its baseline after the clients left): informational, the exit status is 0 unless a server
# failed to start or answers were missing.
#
# Environment: N (8000), INFLIGHT (1000), SLEEP_MS (500), SERVERS ("gevent-cpp nginx
# pywsgi"), GEVENT_BIN (build/bin/wsgi_hello), SERVER_CPU (1), LOAD_CPU (0). BASELINE_BIN,
# another build's wsgi_hello, takes part as the server "baseline" when SERVERS names it.
# Missing nginx or python3-gevent is installed with apt-get when run as root.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$root/bench/http
gevent_bin=${GEVENT_BIN:-$root/build/bin/wsgi_hello}
baseline_bin=${BASELINE_BIN:-}
n=${N:-8000}
inflight=${INFLIGHT:-1000}
sleep_ms=${SLEEP_MS:-500}
server_cpu=${SERVER_CPU:-1}
load_cpu=${LOAD_CPU:-0}
read -r -a servers <<< "${SERVERS:-gevent-cpp nginx pywsgi}"
# shellcheck source=bench/http/servers.sh
source "$here/servers.sh"

check_setup() {
  local s
  for s in "${servers[@]}"; do
    case $s in
      gevent-cpp | nginx | pywsgi) ;;
      baseline) [ -x "$baseline_bin" ] || { echo "baseline: BASELINE_BIN is not a program" >&2; exit 1; } ;;
      *) echo "unknown server '$s' (gevent-cpp, baseline, nginx, pywsgi)" >&2; exit 1 ;;
    esac
  done
  if wants gevent-cpp && [ ! -x "$gevent_bin" ]; then
    echo "missing $gevent_bin: run 'make release' first (or SERVERS=\"nginx pywsgi\")" >&2
    exit 1
  fi
  # shellcheck disable=SC2046  # one word per package
  install_packages $(missing_server_packages)
  nginx_bin=$(find_nginx || true)
  python=$(python_with_gevent || true)
  ulimit -n 20000 2> /dev/null || ulimit -n "$(ulimit -Hn)"
  local need=$((n > inflight ? n : inflight))
  if [ "$(ulimit -n)" -lt $((need + 100)) ]; then
    echo "open files limit $(ulimit -n) is too low for $need connections" >&2
    exit 1
  fi
  nginx_worker_connections=$((need + 100))
  nginx_rlimit_nofile=$(ulimit -n)
}

work=""
cleanup() {
  stop_tree "$server_pid"
  server_pid=""
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The pid whose RSS counts: nginx's one worker, else the server itself.
serving_pid() {
  if [ "$1" = nginx ]; then pgrep -P "$server_pid"; else echo "$server_pid"; fi
}

# Starts a fresh server, runs bench/idle_memory.py MODE against it, stops it; appends
# "server mode numbers..." to $work/results, or "server mode failed".
measure() {  # kind, mode, client arguments...
  local kind=$1 mode=$2 port out
  shift 2
  port=$(free_port)
  start_server "$kind" "$port"
  if out=$(taskset -c "$load_cpu" python3 "$root/bench/idle_memory.py" "$mode" \
    "$(serving_pid "$kind")" "$port" "$@") && alive "$server_pid"; then
    echo "$kind $mode $out" >> "$work/results"
  else
    echo "!! $kind: the $mode run failed; the server's output:" >&2
    tail -n 20 "$work/$kind.log" >&2 || true
    echo "$kind $mode failed" >> "$work/results"
  fi
  stop_tree "$server_pid"
  server_pid=""
}

report() {
  python3 - "$work/results" "$n" "$inflight" "$sleep_ms" << 'EOF'
import sys

path, n, inflight, sleep_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
runs = {}
for line in open(path):
    kind, mode, *numbers = line.split()
    runs[kind, mode] = None if numbers == ["failed"] else [int(x) for x in numbers]
servers = list(dict.fromkeys(kind for kind, _ in runs))
failed = False

def row(cells, widths):
    print("".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths))))

print(f"Idle: {n} keep-alive connections, one GET / each, idle 2 s, then closed.")
widths = (12, 16, 22, 24, 10)
row(("server", "RSS before KB", "idle KB per conn", "after left - before MB", "missing"), widths)
growth, left = {}, {}
for kind in servers:
    r = runs.get((kind, "idle"))
    if r is None:
        row((kind, "failed", "", "", ""), widths)
        failed = True
        continue
    before, idle, after, missing = r
    growth[kind], left[kind] = (idle - before) / n, (after - before) / 1024
    failed |= missing > 0
    row((kind, before, f"{growth[kind]:.2f}", f"{left[kind]:+.1f}", missing), widths)
print()
for other in ("nginx", "pywsgi", "baseline"):
    if "gevent-cpp" in growth and growth.get(other):
        print(f"gevent-cpp / {other}, idle growth per connection: "
              f"{growth['gevent-cpp'] / growth[other]:.2f}")

print(f"\nIn flight: {inflight} connections, each GET /sleep?ms={sleep_ms} at once; "
      "RSS growth per request while they sleep.")
widths = (12, 30, 30, 10)
row(("server", "KB against before (+conn)", "KB against idle connections", "missing"), widths)
for kind in servers:
    if kind == "nginx":
        row((kind, "n/a (no route that sleeps)", "n/a", "-"), widths)
        continue
    r = runs.get((kind, "inflight"))
    if r is None:
        row((kind, "failed", "", ""), widths)
        failed = True
        continue
    before, idle, peak, missing = r
    failed |= missing > 0
    row((kind, f"{(peak - before) / inflight:.2f}", f"{(peak - idle) / inflight:.2f}", missing),
        widths)

if "gevent-cpp" in growth:
    g, l = growth["gevent-cpp"], left["gevent-cpp"]
    print("\nTargets (informational): <= 1.0 KB per idle connection, after the clients left "
          "within 4 MB of the baseline.")
    print(f"  gevent-cpp: {g:.2f} KB per idle connection: {'met' if g <= 1.0 else 'not met'}; "
          f"after left {l:+.1f} MB: {'met' if l <= 4 else 'not met'}")
if failed:
    print("\n!! a run failed or answers were missing: see above")
sys.exit(1 if failed else 0)
EOF
}

check_setup
work=$(mktemp -d -t idle-memory.XXXXXX)
chmod 755 "$work"  # nginx's worker may run as another user
: > "$work/results"

echo "Servers on CPU $server_cpu (one thread; nginx one worker), ulimit -n $(ulimit -n)," \
  "client on CPU $load_cpu. RSS: VmRSS of the serving process (nginx: its worker)."
echo
for kind in "${servers[@]}"; do
  echo "$kind: $n idle connections" >&2
  measure "$kind" idle "$n"
  if [ "$kind" != nginx ]; then
    echo "$kind: $inflight requests in flight" >&2
    measure "$kind" inflight "$inflight" "$sleep_ms"
  fi
done
echo
report
