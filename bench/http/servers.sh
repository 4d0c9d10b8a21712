# shellcheck shell=bash disable=SC2154  # the caller sets the globals below
# The hello-world servers of bench/http.sh and bench/idle_memory.sh: sourced, not run.
#
# Starting one (start_server KIND PORT) reads these globals, which the caller sets:
#   here           bench/http
#   servers        array of server kinds to run (gevent-cpp, baseline, nginx, floor, pywsgi)
#   gevent_bin     wsgi_hello;  baseline_bin: another build's, for "baseline"
#   floor_bin      bench/peers/floor_server.c built (bench/http.sh builds it), for "floor"
#   nginx_bin      from find_nginx;  python: from python_with_gevent
#   server_cpu     the CPU the server is pinned to
#   work           a temp dir (mode 755: nginx's worker may run as another user)
# and leaves the server's pid in server_pid. nginx_worker_connections and nginx_rlimit_nofile
# fill bench/http/nginx.conf's placeholders.

hello="Hello, World!"
server_pid=""
nginx_worker_connections=4096
nginx_rlimit_nofile=8192

wants() {  # server
  local s
  for s in "${servers[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# ---- tools ----------------------------------------------------------------------------

find_nginx() {
  command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }
}

# A python3 earlier on PATH (pyenv, venv) may lack gevent while the system one has it.
python_with_gevent() {
  local py
  for py in "${PYTHON:-python3}" /usr/bin/python3; do
    if command -v "$py" > /dev/null && "$py" -c 'import gevent' 2> /dev/null; then
      echo "$py"
      return 0
    fi
  done
  return 1
}

# The Debian packages the wanted servers lack.
missing_server_packages() {
  if wants nginx && ! find_nginx > /dev/null; then echo nginx-light; fi
  if wants pywsgi && ! python_with_gevent > /dev/null; then echo python3-gevent; fi
}

install_packages() {  # package...
  local missing="$* "
  [ -n "${missing// /}" ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: $missing- install them (sudo apt-get install -y $missing) or choose SERVERS" >&2
    exit 1
  fi
  echo "installing $missing..." >&2
  timeout 600 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "$@" > /dev/null
}

# ---- processes ------------------------------------------------------------------------

alive() {  # pid: exists and is not a zombie
  local stat
  stat=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

process_tree() {  # pid: it and all its descendants
  local child
  echo "$1"
  for child in $(pgrep -P "$1" || true); do process_tree "$child"; done
}

# SIGTERM to a process, then SIGKILL to whatever of its tree is left after 3 s.
stop_tree() {
  local pid=$1 tree left
  [ -n "$pid" ] || return 0
  tree=$(process_tree "$pid")
  kill -TERM "$pid" 2> /dev/null || true
  for _ in $(seq 30); do
    left=""
    for p in $tree; do alive "$p" && left+=" $p"; done
    [ -n "$left" ] || break
    sleep 0.1
  done
  for p in $left; do kill -KILL "$p" 2> /dev/null || true; done
  wait "$pid" 2> /dev/null || true
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls GET / until it answers the hello body; fails after 10 s or when the server exits.
wait_until_answers() {  # port
  local deadline=$((SECONDS + 10)) body
  while ((SECONDS < deadline)); do
    alive "$server_pid" || return 1
    body=$(curl -s --max-time 1 "http://127.0.0.1:$1/" 2> /dev/null || true)
    [ "$body" = "$hello" ] && return 0
    sleep 0.05
  done
  return 1
}

start_server() {  # kind, port
  local kind=$1 port=$2 log=$work/$1.log
  case $kind in
    gevent-cpp | baseline)
      local program=$gevent_bin
      [ "$kind" = gevent-cpp ] || program=$baseline_bin
      taskset -c "$server_cpu" "$program" --host 127.0.0.1 --port "$port" --threads 1 \
        --no-access-log > "$log" 2>&1 &
      ;;
    nginx)
      local dir=$work/nginx
      rm -rf "$dir" && mkdir -p "$dir" && chmod 755 "$dir"
      sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" \
        -e "s|@WORKER_CONNECTIONS@|$nginx_worker_connections|g" \
        -e "s|@RLIMIT_NOFILE@|$nginx_rlimit_nofile|g" "$here/nginx.conf" > "$dir/nginx.conf"
      taskset -c "$server_cpu" "$nginx_bin" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        > "$log" 2>&1 &
      ;;
    floor)
      taskset -c "$server_cpu" "$floor_bin" "$port" > "$log" 2>&1 &
      ;;
    pywsgi)
      taskset -c "$server_cpu" "$python" "$here/pywsgi_hello.py" "$port" > "$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  if ! wait_until_answers "$port"; then
    if alive "$server_pid"; then
      echo "$kind did not answer '$hello' on port $port within 10 s; its output:" >&2
    else
      echo "$kind exited before it answered on port $port; its output:" >&2
    fi
    tail -n 20 "$log" "$work/nginx/error.log" 2> /dev/null >&2 || true
    exit 1
  fi
}
