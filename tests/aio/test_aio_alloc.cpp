// No co_await allocates: after a warm-up round, task ping-pong, greenlet-task ping-pong and
// awaits of ready objects make no call to operator new. A binary of its own: it replaces the
// global operator new with a counting one.
#include <gevent/aio.hpp>
#include <gevent/gevent.hpp>

#include <cstdlib>
#include <new>

#include "support/harness.hpp"

namespace {

thread_local long allocations = 0;

}  // namespace

// GCC cannot see that these pair with each other (-Wmismatched-new-delete at each free).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using gevent::testing::HubTest;
namespace aio = gevent::aio;
using namespace std::chrono_literals;

class AioAllocTest : public HubTest {};

// Awaits `mine`, sets `theirs`, `rounds` times; the server sets `theirs` first.
aio::Task<> player(gevent::Event& mine, gevent::Event& theirs, long rounds, bool serve,
                   long& counted) {
  if (serve) theirs.set();
  for (long i = 0; i < rounds; ++i) {
    if (i == 100) counted = allocations;                     // warm: count from here
    if (i == rounds - 100) counted = allocations - counted;  // before either ends
    co_await mine;
    mine.clear();
    if (!serve || i + 1 < rounds) theirs.set();
  }
}

TEST_F(AioAllocTest, TwoTasksPingPongWithoutAllocating) {
  gevent::Event a, b;
  long counted_a = -1, counted_b = -1;
  auto x = aio::spawn(player(a, b, 10'000, false, counted_a));
  auto y = aio::spawn(player(b, a, 10'000, true, counted_b));
  x.join();
  y.join();
  EXPECT_EQ(counted_a, 0);
  EXPECT_EQ(counted_b, 0);
}

TEST_F(AioAllocTest, AGreenletAndATaskPingPongWithoutAllocating) {
  gevent::Event to_task, to_greenlet;
  long in_task = -1;
  auto task = [&]() -> aio::Task<> {
    for (int i = 0; i < 10'000; ++i) {
      co_await to_task;
      to_task.clear();
      to_greenlet.set();
    }
  };
  auto future = aio::spawn(task());
  long before = 0;
  for (int i = 0; i < 10'000; ++i) {
    if (i == 100) before = allocations;
    if (i == 9'900) in_task = allocations - before;  // before the task ends (its runner with it)
    to_task.set();
    to_greenlet.wait();
    to_greenlet.clear();
  }
  future.join();
  EXPECT_EQ(in_task, 0);
}

TEST_F(AioAllocTest, AwaitsOfReadyObjectsAndSleepsDoNotAllocate) {
  gevent::Event set;
  set.set();
  gevent::AsyncResult<int> result;
  result.set(1);
  auto done = gevent::spawn([] { return 2; });
  done.join();
  long counted = -1;
  auto task = [&]() -> aio::Task<> {
    for (int i = 0; i < 200; ++i) co_await gevent::aio::sleep(0ms);  // warm-up: the runner parks
    const long before = allocations;
    long sum = 0;
    for (int i = 0; i < 1000; ++i) {
      co_await set;
      sum += co_await result;
      co_await gevent::aio::sleep(0ms);
    }
    counted = allocations - before;
    EXPECT_EQ(sum, 1000);
  };
  aio::wait(task());
  EXPECT_EQ(counted, 0);
}

}  // namespace
