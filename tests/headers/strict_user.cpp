// Code a user might write, compiled (not run) with the warnings a strict project turns on:
// the templates of the public headers must instantiate without a warning of their own.
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

}  // namespace
