// Event and AsyncResult.
#include <gevent/event.hpp>
#include <gevent/gevent.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class EventTest : public HubTest {};
using Clock = std::chrono::steady_clock;

TEST_F(EventTest, WaitBlocksUntilSetAndWakesEveryWaiter) {
  gevent::Event event;
  int woken = 0;
  std::vector<gevent::Greenlet<void>> waiters;
  for (int i = 0; i < 5; ++i)
    waiters.push_back(gevent::spawn([&] {
      EXPECT_TRUE(event.wait());
      ++woken;
    }));
  gevent::sleep(5ms);
  EXPECT_EQ(woken, 0);
  event.set();
  gevent::joinall(waiters);
  EXPECT_EQ(woken, 5);
  EXPECT_TRUE(event.is_set());
}

TEST_F(EventTest, WaitOnASetEventReturnsAtOnceAndClearResets) {
  gevent::Event event;
  event.set();
  EXPECT_TRUE(event.wait(0ms));
  event.clear();
  EXPECT_FALSE(event.is_set());
  const auto t0 = Clock::now();
  EXPECT_FALSE(event.wait(20ms));
  EXPECT_GE(Clock::now() - t0, 20ms);
}

TEST_F(EventTest, SetThenClearedBeforeTheWaiterRunsStillReportsSet) {
  gevent::Event event;
  auto waiter = gevent::spawn([&] { return event.wait(); });
  gevent::sleep();
  event.set();
  event.clear();
  EXPECT_TRUE(waiter.get());
}

TEST_F(EventTest, AWaiterKilledWhileWaitingLeavesTheEventUsable) {
  gevent::Event event;
  auto doomed = gevent::spawn([&] { event.wait(); });
  auto other = gevent::spawn([&] { return event.wait(1s); });
  gevent::sleep();
  doomed.kill();
  event.set();
  EXPECT_TRUE(other.get());
}

TEST_F(EventTest, RawlinkRunsInTheHubWhenSet) {
  gevent::Event event;
  std::vector<std::string> log;
  event.rawlink([&] { log.push_back(gevent::getcurrent().name()); });
  const auto token = event.rawlink([&] { log.push_back("removed"); });
  EXPECT_TRUE(event.unlink(token));
  event.set();
  gevent::sleep();
  EXPECT_EQ(log, std::vector<std::string>{"Hub"});
}

TEST_F(EventTest, WaitWorksWithGeventWait) {
  gevent::Event a, b;
  gevent::spawn_later(5ms, [&] { b.set(); });
  std::vector<gevent::Event*> events{&a, &b};
  auto ready = gevent::wait(events, 1s, 1);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(*ready[0], &b);
}

TEST_F(EventTest, AsyncResultDeliversAValueToEveryGetter) {
  gevent::AsyncResult<int> result;
  auto a = gevent::spawn([=] { return result.get(); });
  auto b = gevent::spawn([=] { return result.get(); });
  gevent::sleep();
  EXPECT_FALSE(result.ready());
  gevent::spawn([=]() mutable { result.set(42); });
  EXPECT_EQ(a.get(), 42);
  EXPECT_EQ(b.get(), 42);
  EXPECT_TRUE(result.successful());
  EXPECT_EQ(result.get_nowait(), 42);
}

TEST_F(EventTest, AsyncResultRethrowsAnException) {
  gevent::AsyncResult<std::string> result;
  result.set_exception(std::runtime_error("no answer"));
  EXPECT_TRUE(result.ready());
  EXPECT_FALSE(result.successful());
  EXPECT_THROW(result.get(), std::runtime_error);
}

TEST_F(EventTest, AsyncResultGetTimesOutAndGetNowaitRefusesEarly) {
  gevent::AsyncResult<int> result;
  EXPECT_THROW(result.get_nowait(), gevent::Timeout);
  const auto t0 = Clock::now();
  EXPECT_THROW(result.get(10ms), gevent::Timeout);
  EXPECT_GE(Clock::now() - t0, 10ms);
  EXPECT_FALSE(result.wait(1ms));
}

TEST_F(EventTest, AsyncResultHoldsMoveOnlyAndVoid) {
  gevent::AsyncResult<std::unique_ptr<int>> owned;
  owned.set(std::make_unique<int>(7));
  EXPECT_EQ(*owned.get(), 7);
  gevent::AsyncResult<void> done;
  gevent::spawn([=]() mutable { done.set(); });
  done.get();
  EXPECT_TRUE(done.successful());
}

TEST_F(EventTest, AsyncResultLinksFireOnCompletionLikeAFuture) {
  gevent::AsyncResult<int> result;
  int seen = 0;
  result.rawlink([&](gevent::AsyncResult<int>& done) { seen = done.get_nowait(); });
  gevent::spawn_later(2ms, [=]() mutable { result.set(9); });
  gevent::sleep(20ms);
  EXPECT_EQ(seen, 9);
  int late = 0;
  result.rawlink([&](auto&) { late = 1; });
  gevent::sleep();
  EXPECT_EQ(late, 1);
}

}  // namespace

namespace {

class EventRegressionTest : public HubTest {};

TEST_F(EventRegressionTest, ARawlinkFiresOnceNotOnEverySet) {
  gevent::Event event;
  int calls = 0;
  event.rawlink([&] { ++calls; });
  event.set();
  gevent::sleep();
  event.clear();
  event.set();
  gevent::sleep();
  EXPECT_EQ(calls, 1);
}

}  // namespace
