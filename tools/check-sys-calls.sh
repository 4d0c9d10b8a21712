#!/usr/bin/env bash
# Fails when an object of the library outside src/sys/ calls a libc function of the sys layer
# directly (src/sys/libc.hpp, GEVENT_SYS_CALLS) instead of through sys::: once the monkey
# layer defines those functions, such a call would bind to the hook, not to libc.
#   tools/check-sys-calls.sh path/to/libgevent.a (or libgevent_monkey.a)
set -euo pipefail
archive=$1
top=$(cd "$(dirname "$0")/.." && pwd)
list=$top/src/sys/libc.hpp

# The names in the X(...) list, and their fortified (__name_chk) forms.
names=$(sed -n '/^#define GEVENT_SYS_CALLS/,/^$/p' "$list" | grep -o 'X([a-z0-9_]*)' |
  sed 's/X(\(.*\))/\1/' | sort -u)
[ -n "$names" ] || { echo "check-sys-calls: no names found in $list" >&2; exit 2; }
pattern="^($(echo "$names" | paste -sd'|'))$|^__($(echo "$names" | paste -sd'|'))_chk$"

# Members made from src/sys/*.cpp may call libc; every other member must not.
allowed=$(cd "$top/src/sys" && ls -- *.cpp | sed 's/$/.o/')
bad=$(nm -u -A "$archive" 2>/dev/null | awk '{print $1, $NF}' | sed 's/^[^:]*:\([^:]*\):/\1/' |
  while read -r member symbol; do
    symbol=${symbol%%@*}
    grep -qxF "$member" <<<"$allowed" && continue
    [[ $symbol =~ $pattern ]] && echo "$member calls $symbol"
  done || true)
count=$(echo "$names" | wc -l)
if [ -n "$bad" ]; then
  echo "Direct libc calls outside src/sys/ (call them as gevent::sys::NAME, src/sys/libc.hpp):"
  echo "$bad"
  exit 1
fi
echo "no object of $(basename "$archive") outside src/sys/ calls any of the $count sys-layer functions directly"
