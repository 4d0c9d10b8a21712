#!/usr/bin/env bash
# Installs gevent-cpp from a build tree into a scratch prefix, moves the prefix elsewhere (the
# package must not remember where it was installed), then builds and runs the consumers of
# tests/package twice: with find_package(gevent-cpp) and with pkg-config, linked with
# -Wl,--as-needed. Works for a static build and a shared one (BUILD_SHARED_LIBS=ON); for the
# shared one it also checks that the programs load the installed libraries.
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

shared=false
if find "$prefix" -name 'libgevent.so*' | grep -q .; then
  shared=true
  export LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libgevent.so' | head -1)")
fi

# Runs a consumer; a shared build's consumer must load libgevent (and the hooks' library for
# consumer_monkey) from the moved prefix, and a static build's must load neither.
run_consumer() {
  local program=$1 wanted=$2
  local loaded
  loaded=$(ldd "$program" | { grep -o 'libgevent[_a-z]*\.so[.0-9]* => [^ ]*' || true; })
  if $shared; then
    for library in $wanted; do
      if ! grep -q "^$library\.so[.0-9]* => $prefix/" <<< "$loaded"; then
        echo "$program does not load $library from $prefix:" >&2
        ldd "$program" >&2
        exit 1
      fi
    done
  elif [ -n "$loaded" ]; then
    echo "$program, linked statically, loads $loaded" >&2
    exit 1
  fi
  "$program"
}

echo "--- find_package(gevent-cpp), shared: $shared"
cmake -S "$source/tests/package" -B "$scratch/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed > /dev/null
cmake --build "$scratch/cmake" > /dev/null
run_consumer "$scratch/cmake/consumer" libgevent
run_consumer "$scratch/cmake/consumer_monkey" "libgevent libgevent_monkey"

echo "--- pkg-config"
pcdir=$(dirname "$(find "$prefix" -name gevent-cpp.pc)")
export PKG_CONFIG_PATH=$pcdir
c++ -O1 -Wl,--as-needed -o "$scratch/consumer" "$source/tests/package/consumer.cpp" \
  $(pkg-config --cflags --libs gevent-cpp)
c++ -O1 -Wl,--as-needed -o "$scratch/consumer_monkey" \
  "$source/tests/package/consumer_monkey.cpp" $(pkg-config --cflags --libs gevent-cpp-monkey)
run_consumer "$scratch/consumer" libgevent
run_consumer "$scratch/consumer_monkey" "libgevent libgevent_monkey"
