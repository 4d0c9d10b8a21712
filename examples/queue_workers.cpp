// Queues and pools, the shape of EXAMPLES.md: ten workers take jobs from a bounded queue,
// then a pool maps a function over inputs and prints results as they finish.
//
//   build/bin/queue_workers [jobs]   (default 20)
#include "command_line.hpp"

#include <gevent/gevent.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr char usage[] = R"(usage: queue_workers [JOBS]

Ten workers take JOBS jobs (default 20) from a bounded queue, then a pool maps a function over
as many inputs and prints the results as they finish.

  JOBS           how many jobs, at least 1
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  int count = 20;
};

// The count is any number, so that "-5" is reported as a bad count, not an unknown option.
int job_count(const std::string& arg) {
  const auto count = example::parse_number<int>(arg);
  if (!count) example::reject_option(arg);
  if (!count || *count < 1)
    throw example::UsageError("JOBS needs a number of at least 1, got '" + arg + "'");
  return *count;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    options.count = job_count(arg);
    if (i > 1) throw example::UsageError("unexpected argument '" + arg + "' after JOBS");
  }
  return options;
}

struct Job {
  std::string url;
};

int handle(const Job& job) {
  gevent::sleep(std::chrono::milliseconds(5 + job.url.size() % 7));  // stands in for I/O
  return static_cast<int>(job.url.size());
}

std::size_t fetch(const std::string& url) {
  gevent::sleep(std::chrono::milliseconds(url.size() % 10));
  return url.size() * 100;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("queue_workers", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    const int count = options.count;
    std::vector<std::string> urls;
    for (int i = 0; i < count; ++i) urls.push_back("http://example.test/" + std::string(i, 'x'));

    gevent::Queue<Job> jobs{100};
    gevent::Pool workers{10};
    int handled = 0;
    for (int i = 0; i < 10; ++i)
      workers.spawn([&] {
        for (;;) {
          handled += handle(jobs.get()) > 0;
          jobs.task_done();
        }
      });
    for (const auto& url : urls) jobs.put(Job{url});
    jobs.join();  // every task_done() seen
    workers.kill();
    std::printf("workers handled %d jobs\n", handled);

    std::size_t total = 0;
    for (auto& bytes : workers.imap_unordered(fetch, urls)) {
      std::printf("fetched %zu bytes\n", bytes);
      total += bytes;
    }
    std::printf("total %zu bytes\n", total);
    return handled == count ? 0 : 1;
  });
}
