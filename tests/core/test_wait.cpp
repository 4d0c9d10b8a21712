// wait, iwait, joinall, killall over greenlets.
#include <gevent/gevent.hpp>

#include <stdexcept>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class WaitTest : public HubTest {};

std::vector<gevent::Greenlet<int>> sleepers(std::initializer_list<int> ms) {
  std::vector<gevent::Greenlet<int>> all;
  for (int m : ms)
    all.push_back(gevent::spawn([m] {
      gevent::sleep(std::chrono::milliseconds(m));
      return m;
    }));
  return all;
}

TEST_F(WaitTest, IwaitYieldsInTheOrderTheyFinish) {
  auto all = sleepers({30, 10, 20});
  std::vector<int> order;
  for (auto& g : gevent::iwait(all)) order.push_back(g.get());
  EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
}

TEST_F(WaitTest, IwaitYieldsAlreadyFinishedOnesFirst) {
  auto all = sleepers({20, 1});
  all[1].join();
  std::vector<int> order;
  for (auto& g : gevent::iwait(all)) order.push_back(g.get());
  EXPECT_EQ(order, (std::vector<int>{1, 20}));
}

TEST_F(WaitTest, IwaitStopsAtCountAndAtTimeout) {
  auto all = sleepers({5, 10, 300});
  std::vector<int> first;
  for (auto& g : gevent::iwait(all, {}, 1)) first.push_back(g.get());
  EXPECT_EQ(first, (std::vector<int>{5}));
  std::vector<int> in_time;
  for (auto& g : gevent::iwait(all, 50ms)) in_time.push_back(g.get());
  EXPECT_EQ(in_time, (std::vector<int>{5, 10}));
  gevent::killall(all);
}

TEST_F(WaitTest, WaitReturnsTheReadyOnes) {
  auto all = sleepers({1, 2, 200});
  auto ready = gevent::wait(all, 50ms);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0], &all[0]);
  EXPECT_EQ(ready[1], &all[1]);
  EXPECT_EQ(gevent::wait(all, {}, 1).size(), 1u);
  all[2].kill();
  EXPECT_EQ(gevent::wait(all).size(), 3u);
}

TEST_F(WaitTest, WaitOnNothingReturnsAtOnce) {
  std::vector<gevent::Greenlet<int>> none;
  EXPECT_TRUE(gevent::wait(none).empty());
}

TEST_F(WaitTest, JoinallWaitsForAllAndReturnsThemInFinishingOrder) {
  auto all = sleepers({15, 5});
  auto done = gevent::joinall(all);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0]->get(), 5);
  EXPECT_TRUE(all[0].ready());
}

TEST_F(WaitTest, JoinallWithTimeoutReturnsWhatFinished) {
  auto all = sleepers({1, 300});
  EXPECT_EQ(gevent::joinall(all, 30ms).size(), 1u);
  gevent::killall(all);
}

TEST_F(WaitTest, JoinallRaiseErrorRethrowsTheFirstFailure) {
  ::testing::internal::CaptureStderr();
  std::vector<gevent::Greenlet<int>> all;
  all.push_back(gevent::spawn([] {
    gevent::sleep(100ms);
    return 1;
  }));
  all.push_back(gevent::spawn([]() -> int { throw std::runtime_error("failed"); }));
  EXPECT_THROW(gevent::joinall(all, {}, /*raise_error=*/true), std::runtime_error);
  EXPECT_FALSE(all[0].ready());
  ::testing::internal::GetCapturedStderr();
  gevent::killall(all);
}

// gevent's joinall([a, b]) and wait([a, b]), written as braced lists: greenlets of one result
// type or of several, and pointers to other waitables.
TEST_F(WaitTest, BracedListsOfGreenletsAndWaitablesWork) {
  auto slow = gevent::spawn([] {
    gevent::sleep(20ms);
    return 1;
  });
  auto quick = gevent::spawn([] { return 2; });
  auto nothing = gevent::spawn([] { gevent::sleep(10ms); });
  const auto first = gevent::wait({slow, quick}, {}, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].get(), 2);
  const auto finished = gevent::joinall({slow, nothing});  // different result types
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0], nothing);
  EXPECT_TRUE(slow.ready());
  int yielded = 0;
  for (auto& g : gevent::iwait({quick, slow})) yielded += g.get();
  EXPECT_EQ(yielded, 3);
  EXPECT_EQ(gevent::wait({slow, nothing}).size(), 2u);

  gevent::Event opened, other;
  auto opener = gevent::spawn([&] { other.set(); });
  const auto set = gevent::wait({&opened, &other}, 1s, 1);
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0], &other);
  opener.join();

  auto sleeper = gevent::spawn([] { gevent::sleep(10s); });
  auto other_sleeper = gevent::spawn([] {
    gevent::sleep(10s);
    return 0;
  });
  gevent::killall({sleeper, other_sleeper});
  EXPECT_TRUE(sleeper.dead());
  EXPECT_TRUE(other_sleeper.dead());
}

TEST_F(WaitTest, KillallKillsEveryGreenletAndWaits) {
  auto all = sleepers({1000, 1000, 1000});
  gevent::sleep();
  gevent::killall(all);
  for (auto& g : all) {
    EXPECT_TRUE(g.dead());
    EXPECT_THROW(g.get(), gevent::GreenletExit);
  }
}

// gevent: "raise Timeout: if blocking and a timeout is given that elapses before all the
// greenlets are dead".
TEST_F(WaitTest, KillallThrowsTimeoutWhenOneOutlivesTheLimit) {
  auto stubborn = gevent::spawn([] {
    try {
      gevent::sleep(1h);
    } catch (const gevent::GreenletExit&) {
      gevent::sleep(50ms);  // dies, but only after this
    }
    return 1;
  });
  auto quick = sleepers({1000});
  gevent::sleep();
  std::vector<gevent::AnyGreenlet> all{stubborn, quick[0]};
  EXPECT_THROW(gevent::killall(all, nullptr, true, 5ms), gevent::Timeout);
  EXPECT_TRUE(quick[0].dead());
  EXPECT_FALSE(stubborn.dead());
  stubborn.join();
  EXPECT_NO_THROW(gevent::killall(all, nullptr, true, 5ms));  // all dead already
}

TEST_F(WaitTest, AWaiterKilledWhileWaitingUnlinksCleanly) {
  auto target = sleepers({50});
  auto waiter = gevent::spawn([&] { return gevent::wait(target).size(); });
  gevent::sleep(1ms);
  waiter.kill();
  EXPECT_EQ(target[0].get(), 50);
}

}  // namespace

namespace {

class WaitRegressionTest : public HubTest {};

TEST_F(WaitRegressionTest, IwaitAndJoinallOverATemporaryRangeKeepTheirOwnHandles) {
  auto a = gevent::spawn([] { return 1; });
  auto b = gevent::spawn([] { return 2; });
  int sum = 0;
  for (auto& g : gevent::iwait(std::vector{a, b})) sum += g.get();
  EXPECT_EQ(sum, 3);
  auto done = gevent::joinall(std::vector{a, b});
  static_assert(std::is_same_v<decltype(done), std::vector<gevent::Greenlet<int>>>);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].get() + done[1].get(), 3);
}

TEST_F(WaitRegressionTest, GetOnATemporaryHandleReturnsTheValueItself) {
  const auto& value = gevent::spawn([] { return std::string(1000, 'x'); }).get();
  EXPECT_EQ(value.size(), 1000u);  // lifetime-extended value, not a dangling reference
  static_assert(std::is_same_v<decltype(gevent::spawn([] { return 1; }).get()), int>);
}

}  // namespace
