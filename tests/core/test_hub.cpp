// The hub: sleep, idle, run_callback, LoopExit, blocking from the hub, one hub per thread,
// backend choice, stack overflow.
#include <sys/mman.h>
#include <unistd.h>
#include <gevent/gevent.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class HubFixture : public HubTest {};
using Clock = std::chrono::steady_clock;

TEST_F(HubFixture, SleepWaitsAtLeastItsDurationAndNotFarLonger) {
  for (auto d : {1ms, 15ms, 40ms}) {
    const auto t0 = Clock::now();
    gevent::sleep(d);
    const auto took = Clock::now() - t0;
    EXPECT_GE(took, d);
    EXPECT_LT(took, d + 100ms);
  }
}

TEST_F(HubFixture, SleepAcceptsAnyChronoDurationIncludingFloatingOnes) {
  const auto t0 = Clock::now();
  gevent::sleep(std::chrono::duration<double>(0.01));
  EXPECT_GE(Clock::now() - t0, 10ms);
}

TEST_F(HubFixture, ZeroAndNegativeSleepYieldOnce) {
  std::vector<int> log;
  auto g = gevent::spawn([&] { log.push_back(1); });
  gevent::sleep(-5s);
  log.push_back(2);
  g.join();
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  gevent::sleep(0ms);
  gevent::sleep();
}

TEST_F(HubFixture, NanDurationIsRejected) {
  const auto nan = std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(gevent::sleep(nan), std::invalid_argument);
  auto g = gevent::spawn([] {});
  EXPECT_THROW(g.join(nan), std::invalid_argument);
  g.join();
}

TEST_F(HubFixture, HugeDurationsSaturateInsteadOfOverflowing) {
  auto g = gevent::spawn([] { gevent::sleep(std::chrono::hours::max()); });
  gevent::sleep();
  EXPECT_FALSE(g.join(1ms));
  g.kill();
}

TEST_F(HubFixture, SleepingGreenletsWakeInDeadlineOrder) {
  std::vector<int> order;
  std::vector<gevent::Greenlet<void>> all;
  for (int ms : {30, 10, 20, 10})
    all.push_back(gevent::spawn([&order, ms] {
      gevent::sleep(std::chrono::milliseconds(ms));
      order.push_back(ms);
    }));
  gevent::joinall(all);
  EXPECT_EQ(order, (std::vector<int>{10, 10, 20, 30}));
}

TEST_F(HubFixture, MainWaitingForNothingGetsLoopExitInsteadOfHanging) {
  gevent::Greenlet<void> never{[] {}};  // never started: joining it can never finish
  EXPECT_THROW(never.join(), gevent::LoopExit);
  auto stuck = gevent::spawn([&] { never.join(); });
  EXPECT_THROW(stuck.join(), gevent::LoopExit);
  stuck.kill();
}

TEST_F(HubFixture, AWaitWithATimeoutIsNotLoopExit) {
  gevent::Greenlet<void> never{[] {}};
  EXPECT_FALSE(never.join(5ms));
}

TEST_F(HubFixture, RunCallbackRunsInFifoOrderInTheHub) {
  std::vector<int> order;
  auto& hub = gevent::get_hub();
  for (int i = 0; i < 5; ++i) hub.run_callback([&order, i] { order.push_back(i); });
  gevent::sleep();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(HubFixture, BlockingInAHubCallbackIsAClearErrorAndTheHubGoesOn) {
  std::string error;
  gevent::get_hub().run_callback([&] {
    try {
      gevent::sleep(1ms);
    } catch (const gevent::BlockingSwitchOutError& e) {
      error = e.what();
    }
    EXPECT_EQ(gevent::getcurrent().name(), "Hub");
  });
  ::testing::internal::CaptureStderr();
  gevent::get_hub().run_callback([] { throw std::runtime_error("callback failed"); });
  gevent::sleep(1ms);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(error.find("hub"), std::string::npos);
  EXPECT_NE(err.find("callback failed"), std::string::npos) << err;
}

TEST_F(HubFixture, GetcurrentNamesMainAndSpawnedGreenlets) {
  EXPECT_EQ(gevent::getcurrent().name(), "MainGreenlet");
  auto g = gevent::spawn([] { return gevent::getcurrent().name(); });
  g.set_name("me");
  EXPECT_EQ(g.get(), "me");
  EXPECT_THROW(gevent::getcurrent().kill(), std::logic_error);
}

TEST_F(HubFixture, IdleReturnsOnceNothingElseIsReady) {
  std::vector<std::string> log;
  auto busy = gevent::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      log.push_back("busy");
      gevent::sleep();
    }
  });
  gevent::idle();
  log.push_back("idle");
  busy.join();
  EXPECT_EQ(log.back(), "idle");
}

TEST_F(HubFixture, JoinRunsUntilNothingIsLeft) {
  int done = 0;
  for (int i = 0; i < 3; ++i)
    gevent::spawn([&] {
      gevent::sleep(5ms);
      ++done;
    });
  EXPECT_TRUE(gevent::wait());
  EXPECT_EQ(done, 3);
  auto slow = gevent::spawn([] { gevent::sleep(200ms); });
  EXPECT_FALSE(gevent::wait(10ms));
  slow.kill();
}

TEST_F(HubFixture, TimersAndIoAreNotStarvedByAYieldPingPong) {
  bool stop = false;
  long spins = 0;
  auto spinner = [&] {
    while (!stop) {
      ++spins;
      gevent::sleep();
    }
  };
  auto a = gevent::spawn(spinner);
  auto b = gevent::spawn(spinner);
  const auto t0 = Clock::now();
  gevent::sleep(20ms);
  EXPECT_LT(Clock::now() - t0, 200ms);
  stop = true;
  gevent::joinall(std::vector{a, b});
  EXPECT_GT(spins, 100);
}

TEST_F(HubFixture, EachThreadHasItsOwnIndependentHub) {
  std::atomic<int> finished{0};
  gevent::Hub* main_hub = &gevent::get_hub();
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      {
        EXPECT_NE(&gevent::get_hub(), main_hub);
        std::vector<gevent::Greenlet<int>> gs;
        for (int i = 0; i < 100; ++i)
          gs.push_back(gevent::spawn([i] {
            gevent::sleep(1ms);
            return i;
          }));
        int sum = 0;
        for (auto& g : gs) sum += g.get();
        EXPECT_EQ(sum, 4950);
        EXPECT_EQ(gevent::get_hub().live_greenlets(), 0u);
      }
      gevent::Hub::destroy_current();
      ++finished;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished, 3);
}

TEST_F(HubFixture, AThreadExitingWithBlockedGreenletsUnwindsThem) {
  std::atomic<bool> cleaned{false};
  std::thread([&] {
    gevent::spawn([&] {
      struct Cleanup {
        std::atomic<bool>& flag;
        ~Cleanup() { flag = true; }
      } cleanup{cleaned};
      gevent::sleep(1h);
    });
    gevent::sleep(1ms);
  }).join();  // thread exit destroys its hub, which kills the sleeper
  EXPECT_TRUE(cleaned);
}

TEST_F(HubFixture, AnUnknownBackendIsAClearError) {
  std::string error;
  std::thread([&] {
    const std::string saved = gevent::config().loop;
    gevent::config().loop = "bogus";
    try {
      gevent::get_hub();
    } catch (const std::invalid_argument& e) {
      error = e.what();
    }
    gevent::config().loop = saved;
  }).join();
  EXPECT_NE(error.find("libev"), std::string::npos) << error;
  EXPECT_NE(error.find("libuv"), std::string::npos) << error;
}

TEST_F(HubFixture, CountersSayWhatTheHubDid) {
  const gevent::HubCounters before = gevent::hub_counters();
  std::vector<gevent::Greenlet<void>> three;
  for (int i = 0; i < 3; ++i)
    three.push_back(gevent::spawn([] { gevent::sleep(std::chrono::milliseconds(1)); }));
  const gevent::HubCounters queued = gevent::hub_counters();
  EXPECT_EQ(queued.greenlets_started, before.greenlets_started + 3);
  EXPECT_EQ(queued.greenlets_alive, before.greenlets_alive + 3);
  EXPECT_EQ(queued.ready, before.ready + 3);
  gevent::sleep();  // a yield: they run and sleep, three timers
  const gevent::HubCounters sleeping = gevent::hub_counters();
  EXPECT_EQ(sleeping.timers, before.timers + 3);
  EXPECT_EQ(sleeping.ready, before.ready);
  gevent::joinall(three);
  const gevent::HubCounters after = gevent::hub_counters();
  EXPECT_EQ(after.greenlets_finished, before.greenlets_finished + 3);
  EXPECT_EQ(after.greenlets_alive, before.greenlets_alive);
  EXPECT_GE(after.switches, before.switches + 6);  // each in at its start and after its sleep
  EXPECT_GT(after.loop_iterations, before.loop_iterations);
  EXPECT_EQ(after.timers, before.timers);
}

// Resident pages among the first 48 KiB below each address (a page per stack: `top`).
std::size_t resident_stacks(const std::vector<char*>& tops) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t resident = 0;
  for (char* top : tops) {
    auto* at =
        reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(top - 32 * 1024) & ~(page - 1));
    unsigned char in_core = 0;
    if (::mincore(at, page, &in_core) == 0 && (in_core & 1)) ++resident;
  }
  return resident;
}

// A burst of greenlets that use their stacks: once it has gone and the hub sleeps, the idle
// stacks' memory goes back to the kernel but for a few kept warm (without the trim, 1024
// stay resident).
TEST_F(HubFixture, ABurstsStacksGoBackToTheKernelOnceItHasGone) {
  constexpr int kBurst = 2048;
  std::vector<char*> tops(kBurst);
  std::vector<gevent::Greenlet<void>> burst;
  for (int i = 0; i < kBurst; ++i)
    burst.push_back(gevent::spawn([&tops, i] {
      volatile char used[40 * 1024];
      for (std::size_t at = 0; at < sizeof used; at += 1024) used[at] = 1;
      tops[static_cast<std::size_t>(i)] = const_cast<char*>(&used[sizeof used - 1]);
      gevent::sleep(std::chrono::milliseconds(1));  // all alive at once
    }));
  gevent::joinall(burst);
  const std::size_t after_burst = resident_stacks(tops);
  gevent::sleep(std::chrono::milliseconds(20));  // the hub sleeps: time to trim
  const std::size_t after_trim = resident_stacks(tops);
  std::printf("stacks resident after the burst: %zu, after the hub slept: %zu\n", after_burst,
              after_trim);
  EXPECT_GE(after_burst, 512u);  // the measurement sees warm stacks
  EXPECT_LE(after_trim, 80u);
}

TEST_F(HubFixture, StacksUseGuardPagesWithoutAMappingEach) {
  EXPECT_TRUE(gevent::get_hub().stack_guard() == "madvise" ||
              gevent::get_hub().stack_guard() == "mprotect");
}

// GEVENT_STACK_GUARD: the kind of guard a hub made after it is set uses, and an overflow into
// that guard is still caught (RecursionPastTheStackIsCaught runs with the default kind).
TEST_F(HubFixture, TheStackGuardKindCanBeChosen) {
  gevent::Hub::destroy_current();
  gevent::config().stack_guard = "mprotect";
  struct Restore {
    ~Restore() { gevent::config().stack_guard.clear(); }
  } restore;
  EXPECT_EQ(gevent::get_hub().stack_guard(), "mprotect");
  EXPECT_EQ(gevent::spawn([] { return 7; }).get(), 7);
  gevent::Hub::destroy_current();
  gevent::config().stack_guard = "gutter";
  EXPECT_THROW(gevent::get_hub(), std::invalid_argument);
}

int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return depth > 0 ? recurse(depth - 1) + frame[0] : 0;
}

using HubDeathTest = HubFixture;

TEST_F(HubDeathTest, StackOverflowIsReportedWithTheGreenletsNameThenAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto g = gevent::spawn(gevent::SpawnOptions{.stack_size = 64 * 1024, .name = "deep"},
                               [] { return recurse(1 << 20); });
        g.join();
      },
      "stack overflow in greenlet 'deep'");
}

}  // namespace

namespace {

TEST(ConfigDeathTest, AMalformedStackSizeVariableNamesItself) {
  gevent::testing::expect_config_rejects("GEVENT_STACK_SIZE", "12x", "GEVENT_STACK_SIZE='12x'");
  gevent::testing::expect_config_rejects("GEVENT_STACK_GUARD", "none", "GEVENT_STACK_GUARD='none'");
}

TEST(ConfigDeathTest, StackSizeSuffixesAreUnderstood) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("GEVENT_STACK_SIZE", "256K", 1);
        std::exit(gevent::config().stack_size == 256 * 1024 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace

namespace {

class HubJoinTest : public HubTest {};

TEST_F(HubJoinTest, TwoGreenletsJoiningTheHubAtOnceBothReturn) {
  gevent::spawn([] { gevent::sleep(std::chrono::milliseconds(5)); });
  auto a = gevent::spawn([] { return gevent::get_hub().join(std::chrono::seconds(1)); });
  auto b = gevent::spawn([] { return gevent::get_hub().join(std::chrono::seconds(1)); });
  EXPECT_TRUE(gevent::get_hub().join(std::chrono::seconds(2)));
  EXPECT_TRUE(a.get(std::chrono::seconds(1)));
  EXPECT_TRUE(b.get(std::chrono::seconds(1)));
}

}  // namespace

namespace {

// Per-hub services (gevent/detail/hub_service.hpp), with a log of their lives.
std::vector<std::string> service_log;
// Out of line: GCC 12 misreports string literals built into std::string inline here
// (-Wstringop-overread).
[[gnu::noinline]] void log_service_event(std::string event) {
  service_log.push_back(std::move(event));
}

struct Needed final : gevent::detail::HubService {
  explicit Needed(gevent::Hub&) { log_service_event("made needed"); }
  ~Needed() override { log_service_event("destroyed needed"); }
};

struct Needing final : gevent::detail::HubService {
  explicit Needing(gevent::Hub& hub) : needed(hub.service<Needed>()) {
    log_service_event("made needing");
  }
  ~Needing() override { log_service_event("destroyed needing"); }
  Needed& needed;
};

struct Later final : gevent::detail::HubService {
  explicit Later(gevent::Hub& hub) : hub(hub) { log_service_event("made later"); }
  ~Later() override {
    // The hub's greenlets are gone, and its loop is still there.
    log_service_event("destroyed later, live greenlets: " + std::to_string(hub.live_greenlets()) +
                      ", loop: " + std::string(hub.backend()));
  }
  gevent::Hub& hub;
};

class HubServiceTest : public HubTest {};

TEST_F(HubServiceTest, AServiceIsMadeOnFirstUseOncePerHub) {
  service_log.clear();
  gevent::Hub& hub = gevent::get_hub();
  Needed& first = hub.service<Needed>();
  EXPECT_EQ(&first, &hub.service<Needed>());
  EXPECT_EQ(service_log, (std::vector<std::string>{"made needed"}));

  Needed* other_hubs = nullptr;
  std::thread([&] {
    other_hubs = &gevent::get_hub().service<Needed>();
    gevent::Hub::destroy_current();
  }).join();
  EXPECT_NE(other_hubs, &first);
  EXPECT_EQ(service_log,
            (std::vector<std::string>{"made needed", "made needed", "destroyed needed"}));
}

TEST_F(HubServiceTest, ServicesGoAfterTheGreenletsNewestFirstAndBeforeTheLoop) {
  service_log.clear();
  const std::string backend(gevent::get_hub().backend());
  auto sleeper = gevent::spawn([] {
    struct Unwound {
      ~Unwound() { log_service_event("greenlet unwound"); }
    } unwound;
    gevent::sleep(1h);
  });
  gevent::sleep(1ms);
  gevent::get_hub().service<Needing>();  // makes Needed first, for itself
  gevent::get_hub().service<Later>();
  gevent::Hub::destroy_current();
  EXPECT_EQ(service_log, (std::vector<std::string>{
                             "made needed", "made needing", "made later", "greenlet unwound",
                             "destroyed later, live greenlets: 0, loop: " + backend,
                             "destroyed needing", "destroyed needed"}));
}

}  // namespace
