#!/bin/bash
# tools/gdb/gevent.py on gdb_target: `info greenlets` and `greenlet bt` on the live process,
# then (live-and-core) on a core file of it, written by gcore. gcore cannot read a stack slab
# whose guard pages are MADV_GUARD_INSTALL markers (it skips the whole mapping), so the
# process it dumps makes mprotect'ed guard pages (GEVENT_STACK_GUARD=mprotect).
# Usage: check_gdb.sh <gdb_target> <gevent.py> live|live-and-core
set -euo pipefail
target=$1
script=$2
checks=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

commands=(-ex "info greenlets" -ex "greenlet bt 1" -ex "greenlet bt 2")

expect() {  # expect <what> <output> <extended regex>
  if ! grep -qE "$3" <<<"$2"; then
    echo "FAIL ($1): no line matches: $3"
    echo "--- gdb said:"
    echo "$2"
    exit 1
  fi
}

check() {  # check <what> <output>
  expect "$1" "$2" '^  greenlet 0 "MainGreenlet": running'
  expect "$1" "$2" '^  greenlet 1 "reader": waiting for read on fd [0-9]+$'
  expect "$1" "$2" '^  greenlet 2 "sleeper": waiting for sleep$'
  # greenlet 1's stack, through the library's frames down to the program's own
  expect "$1" "$2" '^#[0-9]+ +0x[0-9a-f]+ in gevent::Hub::switch_out'
  expect "$1" "$2" '^#[0-9]+ +0x[0-9a-f]+ in wait_for_a_byte'
  expect "$1" "$2" '^#[0-9]+ +0x[0-9a-f]+ in .* at .*/gdb_target\.cpp:[0-9]+$'
  expect "$1" "$2" '^#[0-9]+ +0x[0-9a-f]+ in gevent::detail::sleep'
}

live=$(timeout 120 gdb -batch -nx -x "$script" -ex run "${commands[@]}" -ex kill \
  --args "$target" 2>&1)
check "live process" "$live"
echo "gdb: info greenlets and greenlet bt work on the live process"
[ "$checks" = live-and-core ] || exit 0

GEVENT_STACK_GUARD=mprotect timeout 120 gdb -batch -nx -ex run -ex "gcore $dir/core" -ex kill \
  --args "$target" >"$dir/gcore.log" 2>&1 || { cat "$dir/gcore.log"; exit 1; }
core=$(timeout 120 gdb -batch -nx -x "$script" "${commands[@]}" "$target" "$dir/core" 2>&1)
check "core file" "$core"
echo "gdb: ... and on its core file"
