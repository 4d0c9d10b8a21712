// The seed's example in gevent-cpp's shape: spawn several greenlets that each do timed work,
// wait for all of them, and print each as it finishes. The "work" is a cooperative sleep
// standing in for a download; monkey patching (a later issue) will let it be real blocking
// I/O in an unmodified library.
//
//   build/bin/fetch_jobs [job-duration-ms ...]
#include <gevent/gevent.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::size_t fetch(const std::string& job, std::chrono::milliseconds duration,
                  Clock::time_point t0) {
  std::printf("%6.3fs  starting %s\n", seconds_since(t0), job.c_str());
  gevent::sleep(duration);  // blocks only this greenlet
  const std::size_t bytes = 1000 * static_cast<std::size_t>(duration.count());
  std::printf("%6.3fs  %s: %zu bytes\n", seconds_since(t0), job.c_str(), bytes);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::chrono::milliseconds> durations;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    const long ms = std::strtol(argv[i], &end, 10);
    if (!end || *end != '\0' || ms < 0) {
      std::fprintf(stderr, "usage: %s [job-duration-ms ...] (got '%s')\n", argv[0], argv[i]);
      return 2;
    }
    durations.emplace_back(ms);
  }
  if (durations.empty()) durations = {300ms, 100ms, 200ms, 50ms, 250ms};

  const auto t0 = Clock::now();
  std::vector<gevent::Greenlet<std::size_t>> jobs;
  for (std::size_t i = 0; i < durations.size(); ++i)
    jobs.push_back(gevent::spawn(fetch, "job-" + std::to_string(i + 1), durations[i], t0));
  gevent::joinall(jobs);

  std::size_t total = 0;
  for (auto& job : jobs) total += job.get();
  std::printf(
      "%6.3fs  all %zu jobs done, %zu bytes; run one after another they would take "
      "the sum of their durations\n",
      seconds_since(t0), jobs.size(), total);
}
