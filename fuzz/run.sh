#!/usr/bin/env bash
# Builds the libFuzzer target for the HTTP parser and chunked decoder with clang (ASan+UBSan)
# and runs it on the committed seed corpus.
#
#   fuzz/run.sh [RUNS] [extra libFuzzer flags...]     RUNS defaults to 100000; -1 runs forever
#   fuzz/run.sh 10000000 -jobs=1                       the long run (see docs/benchmarks.md)
#
# New inputs the fuzzer finds go to build/fuzz/corpus/http_parser (not committed); a crash is
# written to build/fuzz/ as crash-<hash> and reproduces with: build/fuzz/fuzz_http_parser FILE
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-100000}"
shift || true
CLANG="${CLANG:-clang++-14}"
command -v "$CLANG" > /dev/null || bash tools/install-debs.sh clang-14 libclang-rt-14-dev
out=build/fuzz
mkdir -p "$out/corpus/http_parser"
"$CLANG" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Iinclude -Isrc fuzz/fuzz_http_parser.cpp src/wsgi/http_parser.cpp \
  src/wsgi/http_request_line.cpp src/wsgi/http_fields.cpp src/wsgi/http_semantics.cpp \
  src/wsgi/http_chunked.cpp -o "$out/fuzz_http_parser"
cd "$out"
exec ./fuzz_http_parser -runs="$runs" -max_len=4096 -dict=../../fuzz/http.dict \
  -print_final_stats=1 "$@" corpus/http_parser ../../fuzz/corpus/http_parser
