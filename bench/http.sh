#!/usr/bin/env bash
# HTTP hello world: gevent-cpp's wsgi_hello beside nginx, an epoll "floor" server and Python
# gevent's pywsgi, in alternating rounds, under the same load generator (wrk, one thread).
#
#   bash bench/http.sh          (needs build/bin/wsgi_hello: make release)
#
# The floor, bench/peers/floor_server.c (built here with gcc -O2 into build/bench-peers when
# missing or older than its source), is about the least a single-threaded keep-alive server
# can do on this kernel: edge-triggered epoll, one read and one write of canned answers per
# batch of requests, no parsing beyond finding each head's end. It is not a conforming HTTP
# server; it shows how much of a server's CPU per request is the kernel's and the syscalls'.
#
# Each server runs pinned to CPU 1 (nginx: one worker), wrk -t1 to CPU 0. Workloads:
# keep-alive over 100 and over 1000 connections, and HTTP/1.1 pipelining 16 deep over 100
# connections. pywsgi is about 10x slower, so it sits out the 1000-connection workload.
# Printed per workload: the medians of requests/s, of requests per second of server CPU time
# (utime+stime of the server's whole process tree, from /proc: wrk shares the machine, so
# this is the fairer figure), of the server's and wrk's CPU use, the errors wrk saw, and the
# ratios gevent-cpp / nginx, gevent-cpp / floor and gevent-cpp / pywsgi, then each round's
# ratios (runs of the same round, close in time) and their median, which the neighbours'
# drifting load sways less.
#
# Environment: ROUNDS (7), SECONDS_PER_ROUND (3), SERVERS ("gevent-cpp nginx floor pywsgi"),
# WORKLOADS ("keepalive100 keepalive1000 pipeline16"), GEVENT_BIN (build/bin/wsgi_hello),
# SERVER_CPU (1), LOAD_CPU (0). BASELINE_BIN, another build's wsgi_hello (say the commit
# before a change), takes part as the server "baseline" when SERVERS names it, with the
# ratios gevent-cpp / baseline. Missing wrk, nginx, python3-gevent or gcc (for the floor) is
# installed with apt-get when run as root.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$root/bench/http
gevent_bin=${GEVENT_BIN:-$root/build/bin/wsgi_hello}
baseline_bin=${BASELINE_BIN:-}
floor_src=$root/bench/peers/floor_server.c
floor_bin=$root/build/bench-peers/floor_server
rounds=${ROUNDS:-7}
seconds=${SECONDS_PER_ROUND:-3}
server_cpu=${SERVER_CPU:-1}
load_cpu=${LOAD_CPU:-0}
read -r -a servers <<< "${SERVERS:-gevent-cpp nginx floor pywsgi}"
read -r -a workloads <<< "${WORKLOADS:-keepalive100 keepalive1000 pipeline16}"
# shellcheck source=bench/http/servers.sh
source "$here/servers.sh"

# Workload name -> "connections pipeline_depth label".
workload_spec() {
  case $1 in
    keepalive100) echo "100 1 keep-alive, 100 connections" ;;
    keepalive1000) echo "1000 1 keep-alive, 1000 connections" ;;
    pipeline16) echo "100 16 pipelined 16 deep, 100 conns" ;;
    *) echo "unknown workload '$1' (keepalive100, keepalive1000, pipeline16)" >&2; return 1 ;;
  esac
}

# pywsgi handles a few thousand requests/s: it skips the 1000-connection workload.
takes_part() {  # server, workload
  [ "$1" != pywsgi ] || [ "$2" != keepalive1000 ]
}

# ---- tools ----------------------------------------------------------------------------

missing_gcc() {
  if wants floor && ! command -v gcc > /dev/null; then echo gcc; fi
}

install_missing() {
  # shellcheck disable=SC2046  # one word per package
  install_packages $(command -v wrk > /dev/null || echo wrk; missing_server_packages; missing_gcc)
}

# (Re)builds the floor server when its binary is missing or older than its source.
build_floor() {
  if [ ! -x "$floor_bin" ] || [ "$floor_src" -nt "$floor_bin" ]; then
    mkdir -p "$(dirname "$floor_bin")"
    gcc -O2 -Wall -o "$floor_bin" "$floor_src"
  fi
}

check_setup() {
  local s w
  for s in "${servers[@]}"; do
    case $s in
      gevent-cpp | nginx | floor | pywsgi) ;;
      baseline) [ -x "$baseline_bin" ] || { echo "baseline: BASELINE_BIN is not a program" >&2; exit 1; } ;;
      *) echo "unknown server '$s' (gevent-cpp, baseline, nginx, floor, pywsgi)" >&2; exit 1 ;;
    esac
  done
  for w in "${workloads[@]}"; do workload_spec "$w" > /dev/null; done
  if wants gevent-cpp && [ ! -x "$gevent_bin" ]; then
    echo "missing $gevent_bin: run 'make release' first (or SERVERS=\"nginx pywsgi\")" >&2
    exit 1
  fi
  install_missing
  if wants floor; then build_floor; fi
  nginx_bin=$(find_nginx || true)
  python=$(python_with_gevent || true)
  # wrk and every server need an fd per connection (1000) plus their own.
  ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"
  if [ "$(ulimit -n)" -lt 2100 ]; then
    echo "open files limit $(ulimit -n) is too low for 1000 connections" >&2
    exit 1
  fi
}

# ---- processes ------------------------------------------------------------------------

work=""
wrk_pid=""

# utime + stime in clock ticks of a pid and its descendants (all threads of each).
tree_cpu_ticks() {
  local pid stat total=0
  for pid in $(process_tree "$1"); do
    stat=$(cat "/proc/$pid/stat" 2> /dev/null) || continue
    read -r -a fields <<< "${stat##*) }"  # fields[0] is field 3 of proc(5)
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

cleanup() {
  stop_tree "$wrk_pid"
  stop_tree "$server_pid"
  wrk_pid=""
  server_pid=""
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs wrk in the background (so a signal to this script interrupts the wait) and leaves
# its report, then the CPU time it used ("times"), in $work/wrk.out.
run_wrk() {  # port, connections, pipeline depth
  local port=$1 conns=$2 depth=$3 url="http://127.0.0.1:$1/"
  local args=(-t1 -c "$conns" -d "${seconds}s" --timeout 5s)
  [ "$depth" -eq 1 ] || args+=(-s "$here/pipeline.lua" "$url" -- "$depth")
  [ "$depth" -ne 1 ] || args+=("$url")
  (
    timeout -k 5 $((seconds + 60)) taskset -c "$load_cpu" wrk "${args[@]}" ||
      echo "wrk failed with status $?"
    times
  ) > "$work/wrk.out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || true
  wrk_pid=""
}

# Prints "requests/s requests socket_errors non_2xx wrk_cpu_seconds" from $work/wrk.out;
# requests/s is 0 when wrk printed no result.
parse_wrk() {
  awk '
    /requests in/ { requests = $1 }
    /Requests\/sec:/ { rps = $2 }
    /Socket errors:/ { gsub(/,/, ""); socket = $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ { times = $0 }  # the last one is wrk'"'"'s
    END {
      split(times, t, /[ms]+/)
      printf "%.2f %d %d %d %.3f\n", rps, requests, socket, non2xx, t[1] * 60 + t[2] + t[3] * 60 + t[4]
    }' "$work/wrk.out"
}

# One server under one workload; appends "workload server requests/s requests server_cpu_s
# socket_errors non_2xx wrk_cpu_s failed" to $work/results.
one_run() {  # workload, server
  local workload=$1 kind=$2 conns depth port before after result failed=0
  read -r conns depth _ <<< "$(workload_spec "$workload")"
  port=$(free_port)
  start_server "$kind" "$port"
  before=$(tree_cpu_ticks "$server_pid")
  run_wrk "$port" "$conns" "$depth"
  after=$(tree_cpu_ticks "$server_pid")
  result=$(parse_wrk)
  if ! alive "$server_pid"; then
    echo "!! $kind exited during the run; its output:" >&2
    tail -n 20 "$work/$kind.log" >&2 || true
    failed=1
  fi
  if [ "${result%% *}" = 0.00 ]; then
    echo "!! wrk reported no result against $kind:" >&2
    cat "$work/wrk.out" >&2
    failed=1
  fi
  stop_tree "$server_pid"
  server_pid=""
  read -r rps requests socket non2xx wrk_cpu <<< "$result"
  local cpu
  cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }')
  printf '   %-14s %-11s %10.0f req/s  server CPU %6.2fs  errors: socket %d, non-2xx %d\n' \
    "$workload" "$kind" "$rps" "$cpu" "$socket" "$non2xx" >&2
  echo "$workload $kind $rps $requests $cpu $socket $non2xx $wrk_cpu $failed" >> "$work/results"
}

# ---- report ---------------------------------------------------------------------------

report() {
  local w labels=()
  for w in "${workloads[@]}"; do labels+=("$w=$(workload_spec "$w" | cut -d' ' -f3-)"); done
  python3 - "$work/results" "$seconds" "${servers[*]}" "${labels[@]}" << 'EOF'
import statistics, sys

path, seconds, servers, labels = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
runs = {}
for line in open(path):
    w, s, rps, requests, cpu, sock, non2xx, wrk_cpu, failed = line.split()
    runs.setdefault((w, s), []).append(dict(
        rps=float(rps), per_cpu=int(requests) / float(cpu) if float(cpu) > 0 else 0.0,
        server_cpu=100 * float(cpu) / seconds, wrk_cpu=100 * float(wrk_cpu) / seconds,
        sock=int(sock), non2xx=int(non2xx), failed=int(failed)))

cols = [s for s in ("gevent-cpp", "baseline", "nginx", "floor", "pywsgi") if s in servers]
ratios = [o for o in ("baseline", "nginx", "floor", "pywsgi") if "gevent-cpp" in cols and o in cols]

def median(w, s, key):
    rows = runs.get((w, s))
    return statistics.median(r[key] for r in rows) if rows else None

def paired_ratios(w, o, key):
    # Neighbours' load drifts within a run: a ratio of two runs of the same round, close in
    # time, varies less than the ratio of medians taken minutes apart.
    mine, theirs = runs.get((w, "gevent-cpp"), []), runs.get((w, o), [])
    return [a[key] / b[key] for a, b in zip(mine, theirs)
            if b[key] and not a["failed"] and not b["failed"]]

def cell(v, fmt):
    return format(v, fmt) if v is not None else "-"

any_errors = False
for item in labels:
    w, label = item.split("=", 1)
    head = f"{label:<34}" + "".join(f"{c:>12}" for c in cols)
    head += "".join(f"{'cpp/' + o:>12}" for o in ratios)
    print(head)
    for key, name, fmt in (("rps", "requests/s", ",.0f"),
                           ("per_cpu", "requests per server CPU-s", ",.0f"),
                           ("server_cpu", "server CPU, % of a core", ".0f"),
                           ("wrk_cpu", "wrk CPU, % of a core", ".0f")):
        meds = {c: median(w, c, key) for c in cols}
        line = f"  {name:<32}" + "".join(f"{cell(meds[c], fmt):>12}" for c in cols)
        if key in ("rps", "per_cpu"):
            for o in ratios:
                g, other = meds["gevent-cpp"], meds[o]
                line += f"{cell(g / other if g is not None and other else None, '.2f'):>12}"
        print(line)
    line = f"  {'errors, all runs (sock/non-2xx)':<32}"
    for c in cols:
        rows = runs.get((w, c), [])
        sock, bad, failed = (sum(r[k] for r in rows) for k in ("sock", "non2xx", "failed"))
        any_errors |= bool(sock or bad or failed)
        text = f"{sock}/{bad}" + (f" {failed}F" if failed else "") if rows else "-"
        line += f"{text:>12}"
    print(line)
    for o in ratios:
        for key, name in (("rps", "requests/s"), ("per_cpu", "per server CPU-s")):
            pairs = paired_ratios(w, o, key)
            if pairs:
                print(f"  cpp/{o} round by round, {name}: "
                      + " ".join(f"{r:.2f}" for r in pairs)
                      + f" (median {statistics.median(pairs):.2f})")
    print()
if any_errors:
    print("!! some runs had socket errors, non-2xx responses or failed (F): see above")
EOF
}

# ---- main -----------------------------------------------------------------------------

check_setup
work=$(mktemp -d -t http-bench.XXXXXX)
chmod 755 "$work"  # nginx's worker may run as another user
: > "$work/results"

echo "HTTP hello world: $rounds alternating rounds, ${seconds}s per run, medians." \
  "Servers on CPU $server_cpu (one thread; nginx one worker), wrk -t1 on CPU $load_cpu."
if wants pywsgi; then
  echo "pywsgi (Python gevent $("$python" -c 'import gevent; print(gevent.__version__)')) is" \
    "about 10x slower: it skips keep-alive at 1000 connections to bound the runtime."
fi
echo
for ((round = 1; round <= rounds; round++)); do
  echo "round $round/$rounds" >&2
  order=("${servers[@]}")
  if ((round % 2 == 0)); then
    order=()
    for ((i = ${#servers[@]} - 1; i >= 0; i--)); do order+=("${servers[i]}"); done
  fi
  for workload in "${workloads[@]}"; do
    for kind in "${order[@]}"; do
      if takes_part "$kind" "$workload"; then one_run "$workload" "$kind"; fi
    done
  done
done
echo
report
