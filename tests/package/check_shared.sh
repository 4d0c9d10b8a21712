#!/usr/bin/env bash
# Builds gevent-cpp as shared libraries (BUILD_SHARED_LIBS=ON: libgevent.so and
# libgevent_monkey.so) from the source tree into a scratch directory, with the compilers of the
# calling build, then checks the installed package as check_package.sh does.
#   check_shared.sh <source-dir> <c-compiler> <c++-compiler>
set -euo pipefail
source=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake -S "$source" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$2" -DCMAKE_CXX_COMPILER="$3" \
  -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF > /dev/null
cmake --build "$scratch/build" --target gevent gevent_monkey -j2 > /dev/null
bash "$source/tests/package/check_package.sh" "$scratch/build" "$source"
