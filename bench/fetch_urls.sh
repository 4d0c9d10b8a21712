#!/usr/bin/env bash
# The seed's example at scale: N fetches of a page that answers after 100 ms, all at once.
#   gevent-cpp     build/bin/fetch_urls: unmodified libcurl under patch_all()
#   Python gevent  requests.get under monkey.patch_all() (Debian's python3-gevent, -requests)
# The server is build/bin/wsgi_hello (GET /sleep?ms=100) on loopback. Prints each client's
# wall time and CPU time (user+sys of the client process alone) per fetch, and the ratio.
# Fetched one after another, N pages would take N x 100 ms of wall time.
#
#   bash bench/fetch_urls.sh [N, default 200] [rounds, default 3]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/build/bin
n=${1:-200}
rounds=${2:-3}
port=18431
for tool in fetch_urls wsgi_hello; do
  [ -x "$bin/$tool" ] || { echo "missing $bin/$tool: build the release preset first" >&2; exit 1; }
done
/usr/bin/python3 -c 'import gevent, requests' 2>/dev/null ||
  { echo "needs python3-gevent and python3-requests (apt-get install)" >&2; exit 1; }

timeout 600 "$bin/wsgi_hello" --port "$port" --no-access-log > /dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" > /dev/null && break; sleep 0.1; done

urls=$(for i in $(seq "$n"); do echo "http://127.0.0.1:$port/sleep?ms=100&i=$i"; done)
cat > /tmp/gevent_fetch_urls.py <<'PY'
from gevent import monkey; monkey.patch_all()
import sys, gevent, requests
def fetch(url):
    return len(requests.get(url).content)
jobs = [gevent.spawn(fetch, u) for u in sys.argv[1:]]
gevent.joinall(jobs, raise_error=True)
PY

# Runs a client, prints "wall_s cpu_s" of it alone.
measure() {
  /usr/bin/python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True, timeout=300)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % (wall, usage.ru_utime + usage.ru_stime))
PY
}

echo "$n fetches of a 100 ms page at once, $rounds alternating rounds (per fetch: wall total, CPU us)"
for round in $(seq "$rounds"); do
  # shellcheck disable=SC2086
  read -r cw cc < <(measure "$bin/fetch_urls" $urls)
  # shellcheck disable=SC2086
  read -r pw pc < <(measure /usr/bin/python3 /tmp/gevent_fetch_urls.py $urls)
  awk -v n="$n" -v cw="$cw" -v cc="$cc" -v pw="$pw" -v pc="$pc" -v r="$round" 'BEGIN {
    printf "round %d: gevent-cpp %.2f s, %.0f us CPU/fetch | gevent+requests %.2f s, %.0f us CPU/fetch | CPU ratio %.1fx\n",
      r, cw, cc / n * 1e6, pw, pc / n * 1e6, pc / cc }'
done
