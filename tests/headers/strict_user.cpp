// Code a user might write, compiled (not run) with the warnings a strict project turns on:
// the templates of the public headers must instantiate without a warning of their own.
#include <gevent/aio.hpp>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>
#include <gevent/pywsgi.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

int twice(int x) { return 2 * x; }

[[maybe_unused]] void greenlets_and_waits() {
  auto a = gevent::spawn(twice, 21);
  auto b = gevent::spawn([] { gevent::sleep(1ms); });
  gevent::joinall({a, b});
  gevent::wait({a, a}, 1s, 1);
  for (auto& g : gevent::iwait({a, b})) g.join();
  std::vector<gevent::Greenlet<int>> many{a};
  gevent::joinall(many, 1s, true);
  gevent::killall({a, b});
  gevent::Timeout limit{1s, std::runtime_error("slow")};
  gevent::with_timeout(1s, twice, 1);
  gevent::try_with_timeout(1s, [] { gevent::sleep(1ms); });
}

[[maybe_unused]] void sync_objects() {
  gevent::Queue<std::string> queue{2};
  queue.put("x");
  queue.get(true, 1s);
  gevent::PriorityQueue<int> priorities;
  priorities.put(1);
  gevent::Channel<int> channel;
  gevent::Event event;
  gevent::AsyncResult<int> result;
  result.set(1);
  gevent::wait({&event, &event}, 1s);
  gevent::Semaphore slots{2};
  std::lock_guard hold{slots};
  gevent::local<int> per_greenlet;
  gevent::Pool pool{4};
  for (auto& r : pool.imap(twice, std::vector<int>{1, 2})) (void)r;
  for (auto& r : pool.imap_unordered(twice, std::vector<int>{1, 2})) (void)r;
  pool.map(twice, std::vector<int>{1, 2});
  gevent::ThreadPool threads{2};
  threads.apply(twice, 3);
}

gevent::aio::Task<long> tasks_beside_greenlets(gevent::Event& event, gevent::Greenlet<int> g) {
  co_await event;
  co_await gevent::aio::sleep(1ms);
  long n = co_await g;
  gevent::AsyncResult<short> small;
  small.set(short{1});
  n += co_await small;
  n += co_await gevent::aio::run_in_greenlet(twice, 2);
  n += co_await gevent::aio::to_thread(twice, 3);
  auto child = gevent::aio::spawn(gevent::aio::run_in_greenlet(twice, 4));
  n += co_await child;
  co_return n;
}

[[maybe_unused]] void tasks() {
  gevent::Event event;
  auto g = gevent::spawn(twice, 1);
  long n = gevent::aio::wait(tasks_beside_greenlets(event, g));
  auto future = gevent::aio::spawn(tasks_beside_greenlets(event, g));
  future.kill();
  n += future.get(1s);
  gevent::joinall(std::vector{future});
  gevent::aio::as_greenlet(tasks_beside_greenlets(event, g)).join();
  (void)n;
}

}  // namespace
