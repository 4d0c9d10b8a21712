// The monitor thread (gevent/monitor.hpp): a hub blocked by a greenlet is reported once, with
// the greenlet and its thread's backtrace; the blocked call is left alone; a busy but
// cooperative hub and an idle one are not reported.
#include "gevent/monitor.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "gevent/config.hpp"
#include "gevent/gevent.hpp"
#include "support/harness.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

class MonitorTest : public gevent::testing::HubTest {
 protected:
  // The monitor thread and what it keeps for the life of the process (libunwind's pipe) come
  // with the first monitored hub: before the first test counts the open descriptors.
  static void SetUpTestSuite() {
    gevent::config().monitor_thread = true;
    gevent::Hub::current();
    gevent::Hub::destroy_current();
    gevent::config().monitor_thread = false;
  }

  void SetUp() override {
    gevent::config().monitor_thread = true;  // for the hub HubTest makes
    gevent::config().max_blocking_time = 100ms;
    gevent::set_blocking_report_handler([this](const gevent::BlockingReport& report) {
      std::lock_guard lock(mutex_);
      reports_.push_back(report);
      reported_at_.push_back(Clock::now());
    });
    HubTest::SetUp();
  }
  void TearDown() override {
    HubTest::TearDown();
    gevent::set_blocking_report_handler(nullptr);
    gevent::config().monitor_thread = false;
  }
  std::vector<gevent::BlockingReport> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  Clock::time_point first_reported_at() {
    std::lock_guard lock(mutex_);
    return reported_at_.at(0);
  }

 private:
  std::mutex mutex_;
  std::vector<gevent::BlockingReport> reports_;
  std::vector<Clock::time_point> reported_at_;
};

[[gnu::noinline]] void spin_for_a_while(std::chrono::milliseconds how_long) {
  const auto until = Clock::now() + how_long;
  volatile unsigned spins = 0;
  while (Clock::now() < until) spins = spins + 1;
}

[[gnu::noinline]] int sleep_without_the_hub() {
  volatile int result = ::usleep(300'000);  // not patched: blocks the whole hub
  return result;
}

TEST_F(MonitorTest, ASpinningGreenletIsReportedWithItsNameAndBacktrace) {
  Clock::time_point started;
  gevent::Greenlet<void> spinner([&] {
    started = Clock::now();
    spin_for_a_while(300ms);
  });
  spinner.set_name("spinner");
  spinner.start();
  spinner.join();
  gevent::sleep(50ms);
  const auto found = reports();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].greenlet_id, 0u);
  EXPECT_GE(found[0].blocked_for, 100ms);
  EXPECT_LT(first_reported_at() - started, 300ms) << "reported while it still ran";
  EXPECT_NE(found[0].text.find("has run"), std::string::npos) << found[0].text;
  const gevent::HubCounters counters = gevent::hub_counters();
  EXPECT_EQ(counters.blocked_incidents, 1u);
  EXPECT_GE(counters.time_blocked, 200ms) << "the incident lasted the 300 ms spin";
  if (!GEVENT_TSAN) {  // under TSan the sampling signal waits for the spin to end
    EXPECT_EQ(found[0].greenlet_name, "spinner");
    EXPECT_NE(found[0].backtrace.find("spin_for_a_while"), std::string::npos) << found[0].backtrace;
  }
}

TEST_F(MonitorTest, AnUnpatchedSleepIsReportedAndTakesItsFullTime) {
  int result = -1;
  Clock::duration took{};
  auto sleeper = gevent::spawn([&] {
    const auto start = Clock::now();
    result = sleep_without_the_hub();
    took = Clock::now() - start;
  });
  sleeper.join();
  gevent::sleep(50ms);
  EXPECT_EQ(result, 0) << "the monitor interrupted the call";
  EXPECT_GE(took, 300ms);
  const auto found = reports();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].greenlet_name, sleeper.name());
  EXPECT_NE(found[0].text.find("system call"), std::string::npos) << found[0].text;
  EXPECT_NE(found[0].backtrace.find("sleep"), std::string::npos) << found[0].backtrace;
  EXPECT_NE(found[0].backtrace.find("sleep_without_the_hub"), std::string::npos)
      << found[0].backtrace;
  if (GEVENT_TEST_DEBUG_INFO) {  // file:line from the test's own line table
    EXPECT_NE(found[0].backtrace.find(" at " __FILE__ ":"), std::string::npos)
        << found[0].backtrace;
  }
}

TEST_F(MonitorTest, ABusyButCooperativeHubIsNotReported) {
  const auto until = Clock::now() + 400ms;
  std::vector<gevent::Greenlet<void>> workers;
  for (int i = 0; i < 3; ++i)
    workers.push_back(gevent::spawn([&] {
      while (Clock::now() < until) {
        spin_for_a_while(5ms);
        gevent::sleep();
      }
    }));
  gevent::joinall(workers);
  EXPECT_TRUE(reports().empty()) << reports()[0].text;
}

TEST_F(MonitorTest, AnIdleHubIsNotReported) {
  gevent::sleep(300ms);
  EXPECT_TRUE(reports().empty()) << reports()[0].text;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

class MemoryMonitorTest : public MonitorTest {
 protected:
  void SetUp() override {
    gevent::config().max_memory_usage = resident_bytes() + (64 << 20);
    gevent::config().memory_monitor_period = 20ms;
    gevent::set_memory_report_handler([this](const gevent::MemoryReport& report) {
      std::lock_guard lock(mutex_);
      memory_reports_.push_back(report);
    });
    MonitorTest::SetUp();
  }
  void TearDown() override {
    MonitorTest::TearDown();
    gevent::set_memory_report_handler(nullptr);
    gevent::config().max_memory_usage.reset();
    gevent::config().memory_monitor_period = 5s;
  }
  // Waits (up to 2 s) for the n-th memory report.
  std::optional<gevent::MemoryReport> memory_report(std::size_t n) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (memory_reports_.size() >= n) return memory_reports_[n - 1];
      }
      gevent::sleep(10ms);
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::vector<gevent::MemoryReport> memory_reports_;
};

TEST_F(MemoryMonitorTest, MemoryAboveTheThresholdAndBackUnderIsReported) {
  const std::size_t threshold = *gevent::config().max_memory_usage;
  // Mapped here rather than allocated: a sanitizer's allocator would keep a freed block in
  // its quarantine, resident.
  constexpr std::size_t kBallast = std::size_t{128} << 20;
  void* ballast =
      ::mmap(nullptr, kBallast, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(ballast, MAP_FAILED);
  std::memset(ballast, 'x', kBallast);
  const auto above = memory_report(1);
  if (!above) ::munmap(ballast, kBallast);
  ASSERT_TRUE(above);
  EXPECT_TRUE(above->exceeded);
  EXPECT_GT(above->rss, threshold);
  EXPECT_EQ(above->threshold, threshold);
  ::munmap(ballast, kBallast);
  const auto under = memory_report(2);
  ASSERT_TRUE(under);
  EXPECT_FALSE(under->exceeded);
  EXPECT_LE(under->rss, threshold);
}

TEST(MonitorConfigDeathTest, MalformedVariablesNameThemselves) {
  gevent::testing::expect_config_rejects("GEVENT_MONITOR_THREAD_ENABLE", "maybe",
                                         "GEVENT_MONITOR_THREAD_ENABLE='maybe'");
  gevent::testing::expect_config_rejects("GEVENT_MAX_BLOCKING_TIME", "-1",
                                         "GEVENT_MAX_BLOCKING_TIME='-1'");
  gevent::testing::expect_config_rejects("GEVENT_MAX_MEMORY_USAGE", "12X",
                                         "GEVENT_MAX_MEMORY_USAGE='12X'");
}

TEST(MonitorConfigDeathTest, VariablesAreRead) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("GEVENT_MONITOR_THREAD_ENABLE", "on", 1);
        ::setenv("GEVENT_MAX_BLOCKING_TIME", "0.25", 1);
        ::setenv("GEVENT_MAX_MEMORY_USAGE", "2G", 1);
        const gevent::Config& c = gevent::config();
        std::exit(c.monitor_thread && c.max_blocking_time == 250ms &&
                          c.max_memory_usage == std::size_t{2} << 30
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
