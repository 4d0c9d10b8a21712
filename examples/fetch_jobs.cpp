// The seed's example in gevent-cpp's shape: spawn several greenlets that each do timed work,
// wait for all of them, and print each as it finishes. The "work" is a cooperative sleep
// standing in for a download; monkey patching (a later issue) will let it be real blocking
// I/O in an unmodified library.
//
//   build/bin/fetch_jobs [job-duration-ms ...]
#include "command_line.hpp"

#include <gevent/gevent.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char usage[] = R"(usage: fetch_jobs [JOB_MS ...]

Spawns a greenlet per job; each sleeps for its duration, standing in for a download, and
prints when it starts and when it is done. Without JOB_MS the jobs take 300 100 200 50 250 ms.

  JOB_MS         a job's duration in milliseconds
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  std::vector<std::chrono::milliseconds> durations;
};

// A duration is any number, so that "-5" is reported as a bad duration, not an unknown option.
std::chrono::milliseconds job_duration(const std::string& arg) {
  const auto ms = example::parse_number<long>(arg);
  if (!ms) example::reject_option(arg);
  if (!ms || *ms < 0)
    throw example::UsageError("a job duration needs a number of ms >= 0, got '" + arg + "'");
  return std::chrono::milliseconds(*ms);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    options.durations.push_back(job_duration(arg));
  }
  if (options.durations.empty()) options.durations = {300ms, 100ms, 200ms, 50ms, 250ms};
  return options;
}

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
  return example::run("fetch_jobs", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    const auto& durations = options.durations;
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
    return 0;
  });
}
