#!/usr/bin/env bash
# Starts or stops the real servers the monkey tests talk to, on loopback only: a private
# PostgreSQL cluster (TCP and a Unix socket in its run directory) and a Redis server.
#
#   services.sh start|stop <run-dir> <postgres-port> <redis-port>
#
# ctest runs `start` before the tests that need them and `stop` after (fixtures), once per
# build preset, each preset on its own ports. As root (CI), PostgreSQL runs as the postgres
# user, which it requires.
set -euo pipefail
action=$1 dir=$2 pg_port=$3 redis_port=$4
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  stop 2>/dev/null || true
  rm -rf "$dir"
  mkdir -p "$dir/pg" "$dir/redis"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg"
  as_postgres "$pg_bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 > "$dir/pg/initdb.log"
  as_postgres "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 start -o \
    "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
    > /dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" \
    --logfile "$dir/redis/redis.log"
  for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "redis-server did not start on port $redis_port" >&2
  return 1
}

stop() {
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop > /dev/null
  fi
  if [ -f "$dir/redis/redis.pid" ]; then
    kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis/redis.pid"
  fi
}

"$action"
