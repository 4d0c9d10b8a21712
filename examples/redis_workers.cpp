// Processing a Redis job queue with greenlet workers: hiredis's plain blocking API (BLPOP,
// HSET), unmodified, made cooperative by gevent::monkey. A producer pushes jobs onto a list;
// each worker, with its own connection, takes the next job with BLPOP, works on it, and
// stores the result in a hash. The workers wait on Redis together, not one after another.
//
//   build/bin/redis_workers --port 6379 --jobs 100 --workers 20
#include "command_line.hpp"

#include <hiredis/hiredis.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr char usage[] =
    R"(usage: redis_workers [--host HOST] [--port PORT] [--jobs N] [--workers W]

Pushes N jobs onto the Redis list "redis_workers:jobs"; W greenlet workers, each with its own
hiredis connection, take them with BLPOP, work 50 ms on each, and store the results in the hash
"redis_workers:results". Prints each worker's count and the time taken.

  --host HOST    Redis server (default 127.0.0.1)
  --port PORT    its port (default 6379)
  --jobs N       jobs to push (default 100)
  --workers W    workers (default 20)
  -h, --help     print this help and exit
)";

constexpr const char* kJobs = "redis_workers:jobs";
constexpr const char* kResults = "redis_workers:results";
constexpr auto kWorkPerJob = 50ms;

struct Options {
  bool help = false;
  std::string host = "127.0.0.1";
  int port = 6379;
  int jobs = 100;
  int workers = 20;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (example::help_requested(flag, options.help)) return options;
    if (example::host_or_port(flag, i, argc, argv, options.host, options.port)) continue;
    if (flag == "--jobs")
      options.jobs = example::number(flag, example::value_after(i, argc, argv));
    else if (flag == "--workers")
      options.workers = example::number(flag, example::value_after(i, argc, argv));
    else
      example::reject_argument(flag);
  }
  example::check_at_least("--jobs", options.jobs, 1);
  example::check_at_least("--workers", options.workers, 1);
  return options;
}

using Connection = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

Connection connect(const Options& options) {
  Connection c(redisConnect(options.host.c_str(), options.port), redisFree);
  if (!c || c->err)
    throw std::runtime_error("cannot connect to Redis at " + options.host + ":" +
                             std::to_string(options.port) + ": " + (c ? c->errstr : "no memory"));
  return c;
}

// One command, with its arguments passed as hiredis's %s; throws on a connection error.
template <class... Args>
Reply command(redisContext* c, const char* format, Args... args) {
  Reply reply(static_cast<redisReply*>(redisCommand(c, format, args...)), freeReplyObject);
  if (!reply) throw std::runtime_error(std::string("Redis: ") + c->errstr);
  if (reply->type == REDIS_REPLY_ERROR)
    throw std::runtime_error("Redis: " + std::string(reply->str));
  return reply;
}

// Takes jobs until it gets the empty job that says the queue is done; returns how many it did.
int work(const Options& options) {
  Connection redis = connect(options);
  int done = 0;
  for (;;) {
    Reply job = command(redis.get(), "BLPOP %s 0", kJobs);  // blocks only this greenlet
    const std::string name = job->element[1]->str;
    if (name.empty()) return done;
    gevent::sleep(kWorkPerJob);  // the work
    const std::string result = "processed " + name;
    command(redis.get(), "HSET %s %s %s", kResults, name.c_str(), result.c_str());
    ++done;
  }
}

void produce(const Options& options) {
  Connection redis = connect(options);
  command(redis.get(), "DEL %s %s", kJobs, kResults);
  for (int i = 0; i < options.jobs; ++i)
    command(redis.get(), "RPUSH %s %s", kJobs, ("job-" + std::to_string(i)).c_str());
  for (int i = 0; i < options.workers; ++i) command(redis.get(), "RPUSH %s %s", kJobs, "");
}

long long stored_results(const Options& options) {
  Connection redis = connect(options);
  return command(redis.get(), "HLEN %s", kResults)->integer;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("redis_workers", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    gevent::monkey::patch_all();
    const auto start = std::chrono::steady_clock::now();
    std::vector<gevent::Greenlet<int>> workers;
    for (int i = 0; i < options.workers; ++i) workers.push_back(gevent::spawn(work, options));
    auto producer = gevent::spawn(produce, options);
    producer.get();
    for (std::size_t i = 0; i < workers.size(); ++i)
      std::printf("worker %zu: %d jobs\n", i, workers[i].get());
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%lld results for %d jobs by %d workers in %.2f s (one worker: %.2f s)\n",
                stored_results(options), options.jobs, options.workers, took.count(),
                options.jobs * std::chrono::duration<double>(kWorkPerJob).count());
    return 0;
  });
}
