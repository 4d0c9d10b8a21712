// Greenlet<T>: spawn, get, join, kill, links, names, states.
#include <gevent/gevent.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class GreenletTest : public HubTest {};

TEST_F(GreenletTest, SpawnRunsWhenTheCurrentGreenletWaitsAndGetReturnsTheValue) {
  bool ran = false;
  auto g = gevent::spawn([&] {
    ran = true;
    return 42;
  });
  EXPECT_FALSE(ran) << "spawn must only schedule";
  EXPECT_TRUE(g.started());
  EXPECT_FALSE(g.ready());
  EXPECT_EQ(g.get(), 42);
  EXPECT_TRUE(ran);
  EXPECT_TRUE(g.ready());
  EXPECT_TRUE(g.dead());
  EXPECT_TRUE(g.successful());
  EXPECT_EQ(g.exception(), nullptr);
}

TEST_F(GreenletTest, ArgumentsAreCopiedOrMovedIntoTheGreenlet) {
  auto g = gevent::spawn([](std::unique_ptr<int> p, std::string s) { return *p + int(s.size()); },
                         std::make_unique<int>(40), std::string("ab"));
  EXPECT_EQ(g.get(), 42);
}

TEST_F(GreenletTest, VoidGreenletAndMoveOnlyResult) {
  int side = 0;
  auto v = gevent::spawn([&] { side = 7; });
  static_assert(std::is_same_v<decltype(v), gevent::Greenlet<void>>);
  v.get();
  EXPECT_EQ(side, 7);
  auto m = gevent::spawn([] { return std::make_unique<int>(5); });
  std::unique_ptr<int> taken = std::move(m.get());
  EXPECT_EQ(*taken, 5);
}

TEST_F(GreenletTest, GetRethrowsTheExceptionTheGreenletDiedWith) {
  auto g = gevent::spawn([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_THROW(
      {
        try {
          g.get();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_TRUE(g.dead());
  EXPECT_FALSE(g.successful());
  EXPECT_NE(g.exception(), nullptr);
}

TEST_F(GreenletTest, AFailureIsReportedOnStderrOnceWithNameAndMessage) {
  ::testing::internal::CaptureStderr();
  auto g = gevent::spawn([] { throw std::logic_error("bad thing"); });
  g.set_name("worker");
  g.join();
  g.join();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("worker"), std::string::npos) << err;
  EXPECT_NE(err.find("std::logic_error: bad thing"), std::string::npos) << err;
  EXPECT_EQ(err.find("bad thing"), err.rfind("bad thing")) << "reported more than once: " << err;
}

TEST_F(GreenletTest, GreenletExitIsANormalEndAndIsNotReported) {
  ::testing::internal::CaptureStderr();
  auto g = gevent::spawn([] { throw gevent::GreenletExit(); });
  g.join();
  EXPECT_TRUE(g.successful());
  EXPECT_EQ(g.exception(), nullptr);
  EXPECT_THROW(g.get(), gevent::GreenletExit);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(GreenletTest, DefaultNamesCountUpAndNamesCanBeSet) {
  auto a = gevent::spawn([] {});
  auto b = gevent::spawn([] {});
  const std::string na = a.name(), nb = b.name();
  ASSERT_EQ(na.rfind("Greenlet-", 0), 0u) << na;
  EXPECT_EQ(std::stoul(nb.substr(9)), std::stoul(na.substr(9)) + 1);
  b.set_name("b");
  EXPECT_EQ(b.name(), "b");
  auto c = gevent::spawn(gevent::SpawnOptions{.name = "named"}, [] {});
  EXPECT_EQ(c.name(), "named");
  gevent::joinall(std::vector{a, b, c});
}

TEST_F(GreenletTest, GreenletsRunInSpawnOrderAndInterleaveAtSwitchPoints) {
  std::vector<std::string> log;
  auto worker = [&](std::string name) {
    for (int i = 0; i < 3; ++i) {
      log.push_back(name + std::to_string(i));
      gevent::sleep();
    }
  };
  auto a = gevent::spawn(worker, "a");
  auto b = gevent::spawn(worker, "b");
  gevent::joinall(std::vector{a, b});
  EXPECT_EQ(log, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST_F(GreenletTest, UnstartedGreenletRunsOnlyAfterStart) {
  bool ran = false;
  gevent::Greenlet g{[&] { ran = true; }};
  EXPECT_FALSE(g.started());
  gevent::sleep(1ms);
  EXPECT_FALSE(ran);
  g.start();
  g.start();  // a second start is a no-op
  g.join();
  EXPECT_TRUE(ran);
}

TEST_F(GreenletTest, StartLaterAndSpawnLaterWaitTheirDelay) {
  const auto t0 = std::chrono::steady_clock::now();
  auto g = gevent::spawn_later(30ms, [&] { return std::chrono::steady_clock::now() - t0; });
  EXPECT_GE(g.get(), 30ms);
  gevent::Greenlet<int> h{[] { return 1; }};
  h.start_later(10ms);
  EXPECT_FALSE(h.join(0ms));
  EXPECT_EQ(h.get(), 1);
}

TEST_F(GreenletTest, JoinWithTimeoutReturnsFalseWhileRunning) {
  auto g = gevent::spawn([] { gevent::sleep(200ms); });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(g.join(20ms));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 20ms);
  EXPECT_LT(waited, 150ms);
  g.kill();
}

TEST_F(GreenletTest, GetWithTimeoutThrowsTimeout) {
  auto g = gevent::spawn([] {
    gevent::sleep(200ms);
    return 1;
  });
  EXPECT_THROW(g.get(10ms), gevent::Timeout);
  g.kill();
}

TEST_F(GreenletTest, KillThrowsGreenletExitAtTheSwitchPointAndRaiiRuns) {
  bool cleaned = false, after = false;
  auto g = gevent::spawn([&] {
    struct Cleanup {
      bool& flag;
      ~Cleanup() { flag = true; }
    } cleanup{cleaned};
    gevent::sleep(10s);
    after = true;
  });
  gevent::sleep();
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_TRUE(cleaned);
  EXPECT_FALSE(after);
  EXPECT_TRUE(g.successful());
  EXPECT_THROW(g.get(), gevent::GreenletExit);
}

TEST_F(GreenletTest, KillWithACustomException) {
  auto g = gevent::spawn([] { gevent::sleep(10s); });
  gevent::sleep();
  ::testing::internal::CaptureStderr();
  g.kill(std::runtime_error("stop"));
  ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(g.successful());
  EXPECT_THROW(g.get(), std::runtime_error);
}

TEST_F(GreenletTest, KillingAnUnstartedOrScheduledGreenletMeansItNeverRuns) {
  bool ran = false;
  gevent::Greenlet g{[&] { ran = true; }};
  g.kill();
  g.start();
  auto s = gevent::spawn([&] { ran = true; });
  s.kill();
  auto later = gevent::spawn_later(5ms, [&] { ran = true; });
  later.kill();
  gevent::sleep(20ms);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(g.dead());
  EXPECT_TRUE(s.dead());
  EXPECT_TRUE(later.dead());
  EXPECT_TRUE(s.successful());
}

TEST_F(GreenletTest, KillIsSafeOnDeadAndEmptyHandlesThrowClearly) {
  auto g = gevent::spawn([] {});
  g.join();
  g.kill();
  g.kill();
  gevent::Greenlet<int> empty;
  EXPECT_FALSE(empty);
  EXPECT_THROW(empty.join(), std::logic_error);
}

TEST_F(GreenletTest, NonBlockingKillReturnsAtOnce) {
  auto g = gevent::spawn([] {
    try {
      gevent::sleep(10s);
    } catch (const gevent::GreenletExit&) {
      gevent::sleep(20ms);  // slow cleanup
      throw;
    }
  });
  gevent::sleep();
  g.kill(nullptr, /*block=*/false);
  EXPECT_FALSE(g.dead());
  g.join();
  EXPECT_TRUE(g.dead());
}

TEST_F(GreenletTest, KillWithTimeoutGivesUpOnAStubbornGreenlet) {
  auto g = gevent::spawn([] {
    try {
      gevent::sleep(10s);
    } catch (const gevent::GreenletExit&) {
      gevent::sleep(100ms);
    }
  });
  gevent::sleep();
  g.kill(nullptr, true, 10ms);
  EXPECT_FALSE(g.dead());
  g.join();
}

TEST_F(GreenletTest, KillingTheCurrentGreenletThrowsRightThere) {
  bool after = false;
  auto g = gevent::spawn([&] {
    gevent::getcurrent().kill();
    after = true;
  });
  g.join();
  EXPECT_FALSE(after);
  EXPECT_TRUE(g.successful());
}

TEST_F(GreenletTest, JoiningYourselfIsAnError) {
  gevent::Greenlet<void> self;
  auto g = gevent::spawn([&] { self.join(); });
  self = g;
  EXPECT_THROW(g.get(), std::logic_error);
}

TEST_F(GreenletTest, LinksFireOnDeathInOrderAndLinkAfterDeathStillFires) {
  std::vector<std::string> log;
  auto g = gevent::spawn([] { return 3; });
  g.link([&](gevent::Greenlet<int>& done) { log.push_back("link " + std::to_string(done.get())); });
  g.link_value([&](gevent::Greenlet<int>&) { log.push_back("value"); });
  g.link_exception([&](gevent::Greenlet<int>&) { log.push_back("exception"); });
  g.rawlink([&](gevent::Greenlet<int>&) { log.push_back("raw"); });
  const auto token = g.link([&](gevent::Greenlet<int>&) { log.push_back("unlinked"); });
  EXPECT_TRUE(g.unlink(token));
  EXPECT_FALSE(g.unlink(token));
  g.join();
  gevent::sleep(1ms);
  g.link([&](gevent::Greenlet<int>&) { log.push_back("late"); });
  gevent::sleep(1ms);
  EXPECT_EQ(log, (std::vector<std::string>{"link 3", "value", "raw", "late"}));
}

TEST_F(GreenletTest, LinkExceptionFiresOnlyOnFailure) {
  ::testing::internal::CaptureStderr();
  int value_calls = 0, exception_calls = 0;
  auto g = gevent::spawn([] { throw std::runtime_error("x"); });
  g.link_value([&](auto&) { ++value_calls; });
  g.link_exception([&](auto&) { ++exception_calls; });
  g.join();
  gevent::sleep(1ms);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(value_calls, 0);
  EXPECT_EQ(exception_calls, 1);
}

TEST_F(GreenletTest, LinkCallbacksMayBlockButRawlinkCallbacksMayNot) {
  bool blocked_fine = false;
  std::string raw_error;
  auto g = gevent::spawn([] {});
  g.link([&](auto&) {
    gevent::sleep(1ms);
    blocked_fine = true;
  });
  g.rawlink([&](auto&) {
    try {
      gevent::sleep(1ms);
    } catch (const gevent::BlockingSwitchOutError& e) {
      raw_error = e.what();
    }
  });
  g.join();
  gevent::sleep(10ms);
  EXPECT_TRUE(blocked_fine);
  EXPECT_NE(raw_error.find("hub"), std::string::npos) << raw_error;
}

TEST_F(GreenletTest, HandleOutlivesFinishedGreenletAndDroppedHandleStillRuns) {
  int runs = 0;
  gevent::spawn([&] { ++runs; });  // handle dropped at once
  gevent::spawn_raw([&](int n) { runs += n; }, 10);
  gevent::sleep(1ms);
  EXPECT_EQ(runs, 11);
}

TEST_F(GreenletTest, PerSpawnStackSizeIsHonoured) {
  auto g = gevent::spawn(gevent::SpawnOptions{.stack_size = 1 << 20}, [] {
    volatile char big[600 * 1024];
    for (std::size_t i = 0; i < sizeof big; i += 4096) big[i] = 1;
    return big[4096];
  });
  EXPECT_EQ(g.get(), 1);
}

TEST_F(GreenletTest, ThousandsOfGreenletsReuseStacks) {
  std::vector<gevent::Greenlet<int>> all;
  for (int i = 0; i < 5000; ++i)
    all.push_back(gevent::spawn([i] {
      gevent::sleep(1ms);
      return i;
    }));
  gevent::joinall(all);
  long sum = 0;
  for (auto& g : all) sum += g.get();
  EXPECT_EQ(sum, 5000L * 4999 / 2);
}

TEST_F(GreenletTest, ExceptionStateIsPerGreenletAcrossSwitches) {
  // A greenlet blocked inside a catch block must still see its own exception after others
  // threw and caught theirs meanwhile.
  std::string seen_after_switch;
  auto a = gevent::spawn([&] {
    try {
      throw std::runtime_error("a's");
    } catch (...) {
      gevent::sleep(5ms);
      try {
        throw;
      } catch (const std::runtime_error& e) {
        seen_after_switch = e.what();
      }
    }
  });
  auto b = gevent::spawn([] {
    try {
      throw std::logic_error("b's");
    } catch (...) {
      gevent::sleep(1ms);
    }
    EXPECT_EQ(std::uncaught_exceptions(), 0);
  });
  gevent::joinall(std::vector<gevent::AnyGreenlet>{a, b});
  EXPECT_EQ(seen_after_switch, "a's");
}

// gevent: a Greenlet is truthy while started and not dead.
TEST_F(GreenletTest, AGreenletIsTrueWhileStartedAndNotDead) {
  gevent::Greenlet<void> empty;
  EXPECT_FALSE(empty);
  EXPECT_FALSE(empty.valid());
  gevent::Greenlet<int> unstarted([] { return 1; });
  EXPECT_FALSE(unstarted);
  EXPECT_TRUE(unstarted.valid());
  unstarted.start();
  EXPECT_TRUE(unstarted);
  EXPECT_EQ(unstarted.get(), 1);
  EXPECT_FALSE(unstarted) << "dead";
  EXPECT_TRUE(unstarted.valid());
  EXPECT_TRUE(gevent::getcurrent()) << "the main greenlet is running";
}

TEST_F(GreenletTest, UsingAGreenletFromAnotherThreadThrowsWrongThreadError) {
  auto g = gevent::spawn([] { gevent::sleep(50ms); });
  std::string error;
  std::thread other([&] {
    try {
      g.kill();
    } catch (const gevent::WrongThreadError& e) {
      error = e.what();
    }
    gevent::Hub::destroy_current();
  });
  other.join();
  EXPECT_NE(error.find("thread"), std::string::npos) << error;
  g.join();
}

}  // namespace
