// Memory of sleeping greenlets: spawns N greenlets that all sleep, then prints
//   greenlets N
//   spawn_seconds S            from the first spawn until all N are asleep
//   rss_bytes_per_greenlet B   resident memory growth divided by N (handles included)
//   mappings M                 lines of /proc/self/maps with all N alive
//
//   build/bin/bench_memory [N]   (default 100000)
#include <gevent/gevent.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * ::sysconf(_SC_PAGESIZE);
}

int mappings() {
  std::ifstream maps("/proc/self/maps");
  int lines = 0;
  for (std::string line; std::getline(maps, line);) ++lines;
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: %s [N > 0]\n", argv[0]);
    return 2;
  }
  gevent::get_hub();
  const long rss_before = resident_bytes();
  const auto t0 = std::chrono::steady_clock::now();

  long asleep = 0;
  std::vector<gevent::Greenlet<void>> all;
  for (long i = 0; i < n; ++i)
    all.push_back(gevent::spawn([&asleep] {
      ++asleep;
      gevent::sleep(1h);
    }));
  while (asleep < n) gevent::sleep(1ms);

  const double spawn_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long rss_growth = resident_bytes() - rss_before;
  std::printf("greenlets %ld\n", n);
  std::printf("spawn_seconds %.3f\n", spawn_seconds);
  std::printf("rss_bytes_per_greenlet %.0f\n", static_cast<double>(rss_growth) / n);
  std::printf("mappings %d\n", mappings());
  std::printf("stack_guard %s\n", std::string(gevent::get_hub().stack_guard()).c_str());
  std::fflush(stdout);
  gevent::killall(all);
}
