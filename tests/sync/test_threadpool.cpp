// ThreadPool: jobs on real OS threads, results handed back to the hub.
#include <gevent/event.hpp>
#include <gevent/gevent.hpp>
#include <gevent/threadpool.hpp>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class ThreadPoolTest : public HubTest {};

// Blocks the calling OS thread until `done` says so; false if that took over 5 s.
bool block_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST_F(ThreadPoolTest, SpawnReturnsTheValue) {
  gevent::ThreadPool pool(2);
  gevent::AsyncResult<int> result = pool.spawn([](int a, int b) { return a * b; }, 6, 7);
  EXPECT_EQ(result.get(), 42);
  EXPECT_TRUE(result.successful());
}

TEST_F(ThreadPoolTest, MoveOnlyArgumentsAndResultsAndVoidJobs) {
  gevent::ThreadPool pool(2);
  auto moved = pool.spawn([](std::unique_ptr<int> p) { return p; }, std::make_unique<int>(5));
  std::unique_ptr<int> taken = std::move(moved.get());
  EXPECT_EQ(*taken, 5);
  std::atomic<bool> ran = false;
  gevent::AsyncResult<void> done = pool.spawn([&ran] { ran = true; });
  done.get();
  EXPECT_TRUE(ran);
}

TEST_F(ThreadPoolTest, TheExceptionThrownOnThePoolThreadIsRethrownByGet) {
  gevent::ThreadPool pool(1);
  auto result = pool.spawn([]() -> int { throw std::runtime_error("disk on fire"); });
  try {
    result.get();
    ADD_FAILURE() << "get() returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "disk on fire");
  }
  EXPECT_FALSE(result.successful());
}

TEST_F(ThreadPoolTest, JobsRunOnThreadsOtherThanTheHubs) {
  gevent::ThreadPool pool(3);
  const std::thread::id hub_thread = std::this_thread::get_id();
  const auto ids = pool.map([](int) { return std::this_thread::get_id(); }, std::vector{1, 2, 3});
  for (const std::thread::id id : ids) EXPECT_NE(id, hub_thread);
}

// The job holds its OS thread until the hub has run a ticking greenlet 20 times: it only
// returns in time if the hub kept running meanwhile.
TEST_F(ThreadPoolTest, TheHubKeepsRunningGreenletsWhileAJobBlocksItsThread) {
  gevent::ThreadPool pool(1);
  std::atomic<int> ticks = 0;
  auto ticker = gevent::spawn([&ticks] {
    for (;;) {
      gevent::sleep(1ms);
      ++ticks;
    }
  });
  auto job = pool.spawn([&ticks] { return block_until([&ticks] { return ticks >= 20; }); });
  EXPECT_TRUE(job.get()) << "only " << ticks << " ticks while the job blocked";
  ticker.kill();
}

TEST_F(ThreadPoolTest, MainWaitingOnlyForAJobIsNotLoopExit) {
  gevent::ThreadPool pool(1);
  auto result = pool.spawn([] {
    std::this_thread::sleep_for(30ms);
    return 7;
  });
  int value = 0;
  EXPECT_NO_THROW(value = result.get());
  EXPECT_EQ(value, 7);
}

TEST_F(ThreadPoolTest, ApplyReturnsTheValueOrRethrows) {
  gevent::ThreadPool pool(2);
  EXPECT_EQ(pool.apply([](std::string s) { return s + "!"; }, std::string("hi")), "hi!");
  EXPECT_THROW(pool.apply([] { throw std::logic_error("no"); }), std::logic_error);
}

// Later items finish first; the results still come back in input order.
TEST_F(ThreadPoolTest, MapKeepsTheOrderOfItsInput) {
  gevent::ThreadPool pool(4);
  const std::vector<int> items{1, 2, 3, 4, 5, 6};
  const std::vector<int> squares = pool.map(
      [](int x) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * (7 - x)));
        return x * x;
      },
      items);
  EXPECT_EQ(squares, (std::vector<int>{1, 4, 9, 16, 25, 36}));
}

TEST_F(ThreadPoolTest, MapRethrowsTheFirstFailureAndVoidMapWaitsForAll) {
  gevent::ThreadPool pool(2);
  const auto fail_on_odd = [](int x) {
    if (x % 2) throw std::out_of_range(std::to_string(x));
    return x;
  };
  try {
    pool.map(fail_on_odd, std::vector{2, 3, 5});
    ADD_FAILURE() << "map() returned";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "3");
  }
  std::atomic<int> sum = 0;
  pool.map([&sum](int x) { sum += x; }, std::views::iota(1, 11));
  EXPECT_EQ(sum, 55);
}

TEST_F(ThreadPoolTest, TenThousandJobsThroughTenThreadsAllComplete) {
  gevent::ThreadPool pool(10);
  std::vector<gevent::AsyncResult<long>> results;
  for (long i = 1; i <= 10'000; ++i) results.push_back(pool.spawn([i] { return i; }));
  long sum = 0;
  for (const auto& result : results) sum += result.get();
  EXPECT_EQ(sum, 10'000L * 10'001 / 2);
  EXPECT_LE(pool.started_threads(), 10u);
  EXPECT_EQ(pool.pending(), 0u);
}

// Three jobs that each wait for the other two to start can only finish on three threads.
TEST_F(ThreadPoolTest, ThreadsStartLazilyAndRunJobsInParallelUpToSize) {
  gevent::ThreadPool pool(3);
  EXPECT_EQ(pool.started_threads(), 0u);
  std::atomic<int> started = 0;
  const auto meet_the_others = [&started] {
    ++started;
    return block_until([&started] { return started >= 3; });
  };
  std::vector<gevent::AsyncResult<bool>> results;
  for (int i = 0; i < 5; ++i) results.push_back(pool.spawn(meet_the_others));
  EXPECT_EQ(pool.started_threads(), 3u);
  for (const auto& result : results) EXPECT_TRUE(result.get());
}

TEST_F(ThreadPoolTest, SizeZeroThrowsInvalidArgument) {
  EXPECT_THROW(gevent::ThreadPool(0), std::invalid_argument);
}

TEST_F(ThreadPoolTest, SpawnFromAnotherThreadThrowsWrongThreadError) {
  gevent::ThreadPool pool(1);
  std::optional<bool> refused;
  std::thread other([&] {
    try {
      pool.spawn([] {});
      refused = false;
    } catch (const gevent::WrongThreadError&) {
      refused = true;
    }
  });
  other.join();
  EXPECT_EQ(refused, true);
}

TEST_F(ThreadPoolTest, TheHubsPoolExistsWithTenThreadsByDefault) {
  gevent::ThreadPool& pool = gevent::get_hub().threadpool();
  EXPECT_EQ(&pool, &gevent::get_hub().threadpool());
  EXPECT_EQ(pool.size(), 10u);
  EXPECT_EQ(pool.apply([] { return 1; }), 1);
}

TEST_F(ThreadPoolTest, TheHubsPoolSizeComesFromConfig) {
  const std::size_t before = gevent::config().threadpool_size;
  gevent::config().threadpool_size = 3;
  EXPECT_EQ(gevent::get_hub().threadpool().size(), 3u);
  gevent::config().threadpool_size = before;
}

TEST(ThreadPoolConfigDeathTest, GeventThreadpoolSizeSetsTheHubsPoolSize) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("GEVENT_THREADPOOL_SIZE", "3", 1);
        std::exit(gevent::get_hub().threadpool().size() == 3 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ThreadPoolConfigDeathTest, AMalformedGeventThreadpoolSizeThrowsNamingIt) {
  for (const char* bad : {"0", "ten", "4x", "-1", "99999999999999999999999"})
    gevent::testing::expect_config_rejects(
        "GEVENT_THREADPOOL_SIZE", bad,
        ("GEVENT_THREADPOOL_SIZE='" + std::string(bad) + "'").c_str());
}

TEST_F(ThreadPoolTest, ATimeoutAroundGetFiresAndTheLateResultStillArrives) {
  gevent::ThreadPool pool(1);
  auto result = pool.spawn([] {
    std::this_thread::sleep_for(150ms);
    return 3;
  });
  try {
    gevent::Timeout timeout{20ms};
    result.get();
    ADD_FAILURE() << "get() returned before the timeout";
  } catch (const gevent::Timeout&) {
  }
  EXPECT_FALSE(result.ready());
  EXPECT_EQ(result.get(), 3);
}

// Nobody holds the AsyncResult any more when the job ends; the hub still waits for it.
TEST_F(ThreadPoolTest, AResultNobodyWaitsForIsDeliveredHarmlessly) {
  gevent::ThreadPool pool(1);
  EXPECT_THROW(pool.spawn([] { std::this_thread::sleep_for(50ms); }).get(10ms), gevent::Timeout);
  EXPECT_TRUE(gevent::get_hub().join(5s));
}

TEST_F(ThreadPoolTest, DestroyingThePoolFailsQueuedJobsAndFinishesTheRunningOne) {
  std::atomic<bool> first_started = false;
  std::optional<gevent::AsyncResult<int>> running, queued;
  {
    gevent::ThreadPool pool(1);
    running = pool.spawn([&first_started] {
      first_started = true;
      std::this_thread::sleep_for(30ms);
      return 1;
    });
    queued = pool.spawn([] { return 2; });
    while (!first_started) gevent::sleep(1ms);
  }
  try {
    queued->get();
    ADD_FAILURE() << "the queued job ran";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("destroyed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(running->get(), 1);
}

TEST_F(ThreadPoolTest, RunCallbackThreadsafeFromAPlainThreadWakesAWaitingGreenlet) {
  gevent::Hub& hub = gevent::get_hub();
  gevent::Event event;
  auto waiter = gevent::spawn([&event] { event.wait(); });
  hub.add_external_work();  // the plain thread is work the hub must wait for
  std::jthread other([&hub, &event] {
    std::this_thread::sleep_for(10ms);
    hub.run_callback_threadsafe([&hub, &event] {
      hub.remove_external_work();
      event.set();
    });
  });
  EXPECT_TRUE(waiter.join(5s));
  EXPECT_TRUE(event.is_set());
}

}  // namespace
