// gevent::aio's combinators (gather, wait_any, timeout, try_timeout, shield) and tasks handed
// to a hub from another thread.
#include <gevent/aio.hpp>
#include <gevent/gevent.hpp>

#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;
namespace aio = gevent::aio;

namespace {

class AioCombinatorTest : public HubTest {};

// Sleeps `ms`, then returns `value` (or throws when `value` is negative); counts its ends.
aio::Task<int> after(int ms, int value, int* ended = nullptr) {
  struct CountEnd {
    int* ended;
    ~CountEnd() {
      if (ended) ++*ended;
    }
  } count{ended};
  co_await aio::sleep(std::chrono::milliseconds(ms));
  if (value < 0) throw std::runtime_error("failed " + std::to_string(value));
  co_return value;
}

std::vector<aio::Task<int>> tasks_of(std::initializer_list<std::pair<int, int>> specs, int* ended) {
  std::vector<aio::Task<int>> tasks;
  for (auto [ms, value] : specs) tasks.push_back(after(ms, value, ended));
  return tasks;
}

TEST_F(AioCombinatorTest, GatherGivesTheValuesInOrder) {
  auto values = aio::wait(aio::gather(tasks_of({{20, 1}, {5, 2}, {10, 3}}, nullptr)));
  EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
}

TEST_F(AioCombinatorTest, GatherRunsItsTasksConcurrently) {
  int arrived = 0;
  gevent::Event all_there;
  auto meet = [&](int value) -> aio::Task<int> {
    if (++arrived == 3) all_there.set();
    co_await all_there;  // one at a time, the first would wait forever (LoopExit)
    co_return value;
  };
  std::vector<aio::Task<int>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(meet(i));
  EXPECT_EQ(aio::wait(aio::gather(std::move(tasks))), (std::vector<int>{0, 1, 2}));
}

TEST_F(AioCombinatorTest, GathersFirstFailureCancelsTheOthersAndWaitsForThem) {
  int ended = 0;
  try {
    aio::wait(aio::gather(tasks_of({{10'000, 1}, {2, -1}, {10'000, 3}}, &ended)));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "failed -1");
  }
  EXPECT_EQ(ended, 3);  // every child's frame is gone when gather rethrows
}

TEST_F(AioCombinatorTest, CancellingAGatherCancelsItsChildren) {
  int ended = 0;
  auto future = aio::spawn(aio::gather(tasks_of({{10'000, 1}, {10'000, 2}}, &ended)));
  gevent::sleep(2ms);
  future.kill();
  EXPECT_EQ(ended, 2);
  EXPECT_THROW(future.get(), gevent::GreenletExit);
}

TEST_F(AioCombinatorTest, WaitAnyGivesTheFirstAndCancelsTheRest) {
  int ended = 0;
  auto [index, value] =
      aio::wait(aio::wait_any(tasks_of({{10'000, 1}, {2, 2}, {10'000, 3}}, &ended)));
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 2);
  EXPECT_EQ(ended, 3);
}

TEST_F(AioCombinatorTest, WaitAnyRethrowsTheFirstFailure) {
  EXPECT_THROW(aio::wait(aio::wait_any(tasks_of({{10'000, 1}, {1, -5}}, nullptr))),
               std::runtime_error);
  EXPECT_THROW(aio::wait(aio::wait_any(std::vector<aio::Task<int>>{})), std::invalid_argument);
}

TEST_F(AioCombinatorTest, TimeoutThrowsItsOwnExpiryAndTryTimeoutSwallowsIt) {
  EXPECT_EQ(aio::wait(aio::timeout(1s, after(1, 7))), 7);
  EXPECT_THROW(aio::wait(aio::timeout(2ms, after(10'000, 7))), gevent::Timeout);
  EXPECT_EQ(aio::wait(aio::try_timeout(2ms, after(10'000, 7))), std::nullopt);
  EXPECT_EQ(aio::wait(aio::try_timeout(1s, after(1, 8))), std::optional<int>(8));
}

TEST_F(AioCombinatorTest, AnOuterTimeoutPassesThroughTryTimeout) {
  auto task = []() -> aio::Task<std::string> {
    gevent::Timeout outer(2ms);
    try {
      co_await aio::try_timeout(1s, after(10'000, 1));
    } catch (const gevent::Timeout& t) {
      co_return t.is(outer) ? "outer" : "inner";
    }
    co_return "none";
  };
  EXPECT_EQ(aio::wait(task()), "outer");
}

TEST_F(AioCombinatorTest, AShieldedTaskRunsToItsEndAndTheCancellationComesAsItReturns) {
  bool inner_finished = false;
  bool reached_after_shield = false;
  auto inner = [&]() -> aio::Task<int> {
    co_await aio::sleep(10ms);
    inner_finished = true;
    co_return 5;
  };
  auto outer = [&]() -> aio::Task<int> {
    int v = co_await aio::shield(inner());  // the kill is thrown as it returns
    reached_after_shield = true;
    co_return v;
  };
  auto future = aio::spawn(outer());
  gevent::sleep(2ms);
  future.kill();
  EXPECT_TRUE(inner_finished);
  EXPECT_FALSE(reached_after_shield);
  EXPECT_THROW(future.get(), gevent::GreenletExit);
}

// A hub on a thread of its own runs tasks other threads hand it.
TEST(AioThreadsafeTest, TasksSubmittedFromOtherThreadsRunOnTheHub) {
  std::promise<gevent::Hub*> hub_ready;
  gevent::Event* stop = nullptr;
  std::promise<void> stop_ready;
  std::thread hub_thread([&] {
    gevent::Event stop_event;
    stop = &stop_event;
    gevent::get_hub().add_external_work();  // stays up until told
    hub_ready.set_value(&gevent::get_hub());
    stop_ready.set_value();
    stop_event.wait();
    gevent::get_hub().remove_external_work();
    gevent::Hub::destroy_current();
  });
  gevent::Hub* hub = hub_ready.get_future().get();
  stop_ready.get_future().wait();
  auto hub_thread_id = []() -> aio::Task<std::thread::id> {
    co_await aio::sleep(0ms);
    co_return std::this_thread::get_id();
  };
  auto failing = []() -> aio::Task<int> {
    co_await aio::sleep(0ms);
    throw std::domain_error("on the hub");
  };
  std::vector<std::thread> submitters;
  std::atomic<int> right_thread{0};
  for (int t = 0; t < 4; ++t)
    submitters.emplace_back([&] {
      for (int i = 0; i < 250; ++i)
        if (aio::run_threadsafe(*hub, hub_thread_id()).get() == hub_thread.get_id()) ++right_thread;
    });
  for (auto& s : submitters) s.join();
  EXPECT_EQ(right_thread.load(), 1000);
  EXPECT_THROW(aio::run_threadsafe(*hub, failing()).get(), std::domain_error);
  auto set_stop = [](gevent::Event* event) -> aio::Task<> {
    event->set();
    co_return;
  };
  aio::run_threadsafe(*hub, set_stop(stop)).get();
  hub_thread.join();
}

}  // namespace
