// Queues and pools, the shape of EXAMPLES.md: ten workers take jobs from a bounded queue,
// then a pool maps a function over inputs and prints results as they finish.
//
//   build/bin/queue_workers [jobs]   (default 20)
#include <gevent/gevent.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

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
  const int count = argc > 1 ? std::atoi(argv[1]) : 20;
  if (count <= 0) {
    std::fprintf(stderr, "usage: %s [jobs > 0]\n", argv[0]);
    return 2;
  }
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
}
