#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan+UBSan) and runs it on its committed seed corpus.
#
#   fuzz/run.sh [TARGET] [RUNS] [extra libFuzzer flags...]
#     TARGET  http_parser (the default): the request parser and the chunked decoder alone
#             wsgi_connection: whole WSGIServer connections on loopback (the "fuzz" preset)
#     RUNS    defaults to 100000; -1 runs forever
#   fuzz/run.sh 10000000 -jobs=1                       the long run (see docs/benchmarks.md)
#
# New inputs the fuzzer finds go to build/fuzz/corpus/TARGET (not committed); a crash is
# written to build/fuzz/ as crash-<hash> and reproduces with: build/fuzz/fuzz_TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
target=http_parser
if [[ "${1:-}" =~ ^[a-z_]+$ ]]; then
  target="$1"
  shift
fi
runs="${1:-100000}"
shift || true
CLANG="${CLANG:-clang++-14}"
command -v "$CLANG" > /dev/null || bash tools/install-debs.sh clang-14 libclang-rt-14-dev
out=build/fuzz
mkdir -p "$out/corpus/$target"
case "$target" in
  http_parser)
    "$CLANG" -std=c++20 -O1 -g -fno-omit-frame-pointer \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -Iinclude -Isrc fuzz/fuzz_http_parser.cpp src/wsgi/http_parser.cpp \
      src/wsgi/http_request_line.cpp src/wsgi/http_fields.cpp src/wsgi/http_semantics.cpp \
      src/wsgi/http_chunked.cpp -o "$out/fuzz_http_parser"
    ;;
  wsgi_connection)
    cmake --preset fuzz > /dev/null
    cmake --build --preset fuzz
    cp build/fuzz-lib/bin/fuzz_wsgi_connection "$out/"
    ;;
  *)
    echo "fuzz/run.sh: no target $target (http_parser, wsgi_connection)" >&2
    exit 2
    ;;
esac
cd "$out"
exec "./fuzz_$target" -runs="$runs" -max_len=4096 -dict=../../fuzz/http.dict \
  -print_final_stats=1 "$@" "corpus/$target" "../../fuzz/corpus/$target"
