#!/usr/bin/env bash
# Installs gevent-cpp from a build tree into a scratch prefix, moves the prefix elsewhere (the
# package must not remember where it was installed), then builds and runs the consumers of
# tests/package twice: with find_package(gevent-cpp) and with pkg-config.
#   check_package.sh <build-dir> <source-dir>
set -euo pipefail
build=$1
source=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/installed" > /dev/null
mv "$scratch/installed" "$scratch/moved"
prefix=$scratch/moved
if grep -rq "$scratch/installed" "$prefix"; then
  echo "the installed package names the prefix it was installed to:" >&2
  grep -rl "$scratch/installed" "$prefix" >&2
  exit 1
fi

echo "--- find_package(gevent-cpp)"
cmake -S "$source/tests/package" -B "$scratch/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$scratch/cmake" > /dev/null
"$scratch/cmake/consumer"
"$scratch/cmake/consumer_monkey"

echo "--- pkg-config"
pcdir=$(dirname "$(find "$prefix" -name gevent-cpp.pc)")
export PKG_CONFIG_PATH=$pcdir
c++ -O1 -o "$scratch/consumer" "$source/tests/package/consumer.cpp" \
  $(pkg-config --cflags --libs gevent-cpp)
c++ -O1 -o "$scratch/consumer_monkey" "$source/tests/package/consumer_monkey.cpp" \
  $(pkg-config --cflags --libs gevent-cpp-monkey)
"$scratch/consumer"
"$scratch/consumer_monkey"
