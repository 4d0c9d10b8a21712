// Group and Pool.
#include <gevent/gevent.hpp>
#include <gevent/pool.hpp>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class PoolTest : public HubTest {};

TEST_F(PoolTest, GroupTracksMembersUntilTheyDie) {
  gevent::Group group;
  auto a = group.spawn([] { gevent::sleep(5ms); });
  auto b = group.spawn([] { return 1; });
  EXPECT_EQ(group.size(), 2u);
  EXPECT_TRUE(group.contains(a));
  EXPECT_TRUE(group.join(1s));
  EXPECT_TRUE(group.empty());
  EXPECT_TRUE(a.dead() && b.dead());
}

TEST_F(PoolTest, AddAndDiscard) {
  gevent::Group group;
  auto g = gevent::spawn([] { gevent::sleep(5ms); });
  group.add(g);
  group.add(g);
  EXPECT_EQ(group.size(), 1u);
  EXPECT_TRUE(group.discard(g));
  EXPECT_FALSE(group.discard(g));
  EXPECT_TRUE(group.join(0ms));
  g.join();
}

TEST_F(PoolTest, JoinWithTimeoutAndRaiseError) {
  ::testing::internal::CaptureStderr();
  gevent::Group group;
  group.spawn([] { gevent::sleep(200ms); });
  EXPECT_FALSE(group.join(10ms));
  group.spawn([] { throw std::runtime_error("member failed"); });
  EXPECT_THROW(group.join({}, /*raise_error=*/true), std::runtime_error);
  group.kill();
  EXPECT_TRUE(group.join(1s));
  ::testing::internal::GetCapturedStderr();
}

TEST_F(PoolTest, KillAndKillone) {
  gevent::Group group;
  auto a = group.spawn([] { gevent::sleep(10s); });
  auto b = group.spawn([] { gevent::sleep(10s); });
  gevent::sleep();
  group.killone(a);
  EXPECT_TRUE(a.dead());
  EXPECT_FALSE(b.dead());
  group.kill();
  EXPECT_TRUE(b.dead());
  EXPECT_TRUE(group.join(1s));
}

TEST_F(PoolTest, PoolOfZeroIsRefusedAtOnce) {
  EXPECT_THROW(gevent::Pool(0), std::invalid_argument);
}

TEST_F(PoolTest, PoolSpawnBlocksWhileFull) {
  gevent::Pool pool{2};
  int running = 0, most = 0;
  auto work = [&] {
    most = std::max(most, ++running);
    gevent::sleep(2ms);
    --running;
  };
  for (int i = 0; i < 10; ++i) pool.spawn(work);
  EXPECT_LE(pool.size(), 2u);
  pool.join();
  EXPECT_EQ(most, 2);
  EXPECT_EQ(pool.free_count(), 2u);
  EXPECT_FALSE(pool.full());
}

TEST_F(PoolTest, WaitAvailableReturnsWhenASlotFrees) {
  gevent::Pool pool{1};
  pool.spawn([] { gevent::sleep(5ms); });
  EXPECT_TRUE(pool.full());
  EXPECT_EQ(pool.wait_available(1ms), 0u);
  EXPECT_EQ(pool.wait_available(1s), 1u);
  pool.join();
}

TEST_F(PoolTest, ApplyAndApplyAsync) {
  gevent::Pool pool{3};
  EXPECT_EQ(pool.apply([](int x) { return x + 1; }, 41), 42);
  auto g = pool.apply_async([] { return std::string("later"); });
  EXPECT_EQ(g.get(), "later");
  EXPECT_THROW(pool.apply([]() -> int { throw std::logic_error("x"); }), std::logic_error);
  pool.join();
}

TEST_F(PoolTest, MapKeepsInputOrder) {
  gevent::Pool pool{4};
  std::vector<int> inputs{5, 1, 4, 2, 3};
  auto results = pool.map(
      [](int ms) {
        gevent::sleep(std::chrono::milliseconds(ms));
        return ms * 10;
      },
      inputs);
  EXPECT_EQ(results, (std::vector<int>{50, 10, 40, 20, 30}));
}

TEST_F(PoolTest, ImapIsOrderedAndImapUnorderedYieldsAsTheyFinish) {
  gevent::Pool pool{5};
  std::vector<int> inputs{30, 10, 20};
  auto slow = [](int ms) {
    gevent::sleep(std::chrono::milliseconds(ms));
    return ms;
  };
  std::vector<int> ordered, unordered;
  for (int& r : pool.imap(slow, inputs)) ordered.push_back(r);
  for (int& r : pool.imap_unordered(slow, inputs)) unordered.push_back(r);
  EXPECT_EQ(ordered, (std::vector<int>{30, 10, 20}));
  EXPECT_EQ(unordered, (std::vector<int>{10, 20, 30}));
}

TEST_F(PoolTest, ImapUnorderedBoundsBufferedResults) {
  gevent::Pool pool{100};
  int started = 0;
  std::vector<int> inputs(50);
  std::iota(inputs.begin(), inputs.end(), 0);
  auto results = pool.imap_unordered(
      [&](int i) {
        ++started;
        return i;
      },
      inputs, /*max_buffered=*/4);
  auto it = results.begin();
  gevent::sleep(5ms);  // nobody consumes: the producer must stop at the bound
  EXPECT_LE(started, 5);
  int count = 1;
  while (++it, it != results.end()) ++count;
  EXPECT_EQ(count, 50);
}

TEST_F(PoolTest, ImapRethrowsAFailureAndLeavingEarlyKillsTheRest) {
  ::testing::internal::CaptureStderr();
  gevent::Pool pool{4};
  std::vector<int> inputs{1, 2, 3, 4, 5, 6};
  EXPECT_THROW(
      {
        for (int& r : pool.imap(
                 [](int i) {
                   if (i == 3) throw std::runtime_error("three");
                   gevent::sleep(std::chrono::milliseconds(i));
                   return i;
                 },
                 inputs))
          (void)r;
      },
      std::runtime_error);
  EXPECT_TRUE(pool.join(1s));
  ::testing::internal::GetCapturedStderr();
}

TEST_F(PoolTest, ProducerConsumerPipelineThroughAPool) {
  gevent::Pool pool{8};
  std::vector<int> inputs(2000);
  std::iota(inputs.begin(), inputs.end(), 1);
  long sum = 0;
  std::set<int> seen;
  for (int& r : pool.imap_unordered(
           [](int i) {
             gevent::sleep();
             return i * 2;
           },
           inputs)) {
    sum += r;
    seen.insert(r);
  }
  EXPECT_EQ(sum, 2L * 2000 * 2001 / 2);
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_TRUE(pool.join(1s));
}

TEST_F(PoolTest, GroupWorksWithGeventWait) {
  gevent::Group group;
  group.spawn([] { gevent::sleep(2ms); });
  std::vector<gevent::Group*> groups{&group};
  EXPECT_EQ(gevent::wait(groups, 1s).size(), 1u);
  EXPECT_TRUE(group.empty());
}

}  // namespace

namespace {

class PoolReviewTest : public HubTest {};

TEST_F(PoolReviewTest, KillingThePoolDuringImapEndsTheIterationInsteadOfHanging) {
  gevent::Pool pool{2};
  std::vector<int> inputs{1, 2, 3, 4, 5, 6};
  auto consumer = gevent::spawn([&] {
    int seen = 0;
    try {
      for (int& r : pool.imap(
               [](int i) {
                 gevent::sleep(std::chrono::milliseconds(20));
                 return i;
               },
               inputs)) {
        (void)r;
        ++seen;
      }
    } catch (const gevent::GreenletExit&) {
      return -1;  // a task was killed: its result is the kill
    }
    return seen;
  });
  gevent::sleep(5ms);
  pool.kill();
  EXPECT_EQ(consumer.get(1s), -1);
  EXPECT_TRUE(pool.join(1s));
}

// gevent's Group.kill returns at its timeout even if a member still lives (unlike killall).
TEST_F(PoolReviewTest, KillWithATimeoutReturnsQuietlyWhileAMemberLives) {
  gevent::Group group;
  auto stubborn = group.spawn([] {
    try {
      gevent::sleep(1h);
    } catch (const gevent::GreenletExit&) {
      gevent::sleep(30ms);  // dies, but only after this
    }
  });
  gevent::sleep();
  EXPECT_NO_THROW(group.kill(nullptr, true, 5ms));
  EXPECT_FALSE(stubborn.dead());
  EXPECT_TRUE(group.join(5s));
}

TEST_F(PoolReviewTest, AddingTheSameGreenletTwiceLeaksNoSlot) {
  gevent::Pool pool{1};
  auto blocker = pool.spawn([] { gevent::sleep(5ms); });
  auto target = gevent::spawn([] { gevent::sleep(20ms); });
  auto a = gevent::spawn([&] { pool.add(target); });
  auto b = gevent::spawn([&] { pool.add(target); });
  gevent::joinall(std::vector<gevent::AnyGreenlet>{a, b, blocker});
  target.join();
  EXPECT_TRUE(pool.join(1s));
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST_F(PoolReviewTest, KillallFromInsideAMemberKillsTheOthersFirst) {
  gevent::Group group;
  std::vector<gevent::Greenlet<void>> members;
  for (int i = 0; i < 5; ++i) members.push_back(group.spawn([] { gevent::sleep(10s); }));
  auto killer = group.spawn([&] { group.kill(); });
  killer.join();
  for (auto& m : members) EXPECT_TRUE(m.dead());
  EXPECT_TRUE(group.join(1s));
}

}  // namespace
