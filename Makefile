# gevent-cpp: the two commands a new Debian 12 machine needs, and a few more.
#
#   make run     build (release) and run the main job: build/bin/wsgi_hello, the pywsgi
#                hello-world server on http://127.0.0.1:8000 (Ctrl-C stops it)
#   make test    build and run the whole suite: release preset, then ASan+UBSan, then TSan,
#                then brief fuzz runs of the HTTP parser and of whole WSGIServer connections
#   make bench   build (release) and run the benchmarks, side by side with Python gevent,
#                a Boost.Asio echo server and nginx
#
# Run as root, each installs the Debian packages it needs first (apt-get).

DEB_BUILD := g++ cmake ninja-build pkg-config libev-dev libuv1-dev libboost-context-dev libgtest-dev libc-ares-dev dnsmasq-base libssl-dev openssl python3 libbenchmark-dev curl \
  libcurl4-openssl-dev libpq-dev libhiredis-dev postgresql redis-server libunwind-dev libdw-dev gdb libasio-dev
DEB_BENCH := python3-gevent wrk nginx-light

.PHONY: run test bench deps deps-bench release asan tsan test-release test-asan test-tsan test-gdb test-fuzz format clean

run: release
	build/bin/wsgi_hello

test: test-release test-asan test-tsan test-gdb test-fuzz

bench: release deps-bench
	build/bin/bench_core
	build/bin/bench_memory 100000
	bash bench/vs_gevent.sh
	bash bench/echo.sh
	bash bench/http.sh

deps:
	@bash tools/install-debs.sh $(DEB_BUILD)

deps-bench:
	@bash tools/install-debs.sh $(DEB_BENCH)

release asan tsan: deps
	cmake --preset $@ > /dev/null
	cmake --build --preset $@

test-release: release
	ctest --preset release -j2

test-asan: asan
	ctest --preset asan -j2

test-tsan: tsan
	ctest --preset tsan -j2

# The debug preset (-O0; only these targets are built there): tools/gdb/gevent.py on a live
# process and on a core file, and aio's tasks (a million ready awaits in a chain must not
# overflow a stack where symmetric transfer is no tail call).
test-gdb: deps
	cmake --preset debug > /dev/null
	cmake --build --preset debug --target gdb_target test_aio
	ctest --preset debug -R '^(monitor\.gdb|aio\.test_aio\..*)$$'

# Brief libFuzzer runs (clang, ASan+UBSan) over the committed corpora: the HTTP parser alone,
# then whole WSGIServer connections.
test-fuzz:
	bash fuzz/run.sh http_parser 20000
	bash fuzz/run.sh wsgi_connection 20000

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
