#include "support/harness.hpp"

#include <dirent.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "gevent/config.hpp"
#include "gevent/hub.hpp"
#include "gevent/loop.hpp"

namespace gevent::testing {
namespace {

using namespace std::chrono_literals;

// Aborts the process when one test runs longer than GEVENT_TEST_TIMEOUT seconds.
class Watchdog : public ::testing::EmptyTestEventListener {
 public:
  Watchdog() : limit_(std::chrono::seconds(read_limit())), thread_([this] { watch(); }) {}
  ~Watchdog() override {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard lock(mutex_);
    name_ = std::string(info.test_suite_name()) + "." + info.name();
    deadline_ = std::chrono::steady_clock::now() + limit_;
    running_ = true;
    changed_.notify_all();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lock(mutex_);
    running_ = false;
    changed_.notify_all();
  }

 private:
  static long read_limit() {
    const char* text = std::getenv("GEVENT_TEST_TIMEOUT");
    const long seconds = text ? std::atol(text) : 0;
    return seconds > 0 ? seconds : 30;
  }

  void watch() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      if (!running_) {
        changed_.wait(lock);
        continue;
      }
      if (changed_.wait_until(lock, deadline_) == std::cv_status::timeout && running_ &&
          std::chrono::steady_clock::now() >= deadline_) {
        std::fprintf(stderr, "\nTIMEOUT: %s ran longer than %lld s\n", name_.c_str(),
                     static_cast<long long>(limit_.count()));
        std::fflush(stderr);
        std::_Exit(124);
      }
    }
  }

  std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string name_;
  std::chrono::steady_clock::time_point deadline_;
  bool running_ = false;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace

int count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory stream's own fd
}

void HubTest::SetUp() {
  fds_before_ = count_open_fds();
  Hub& hub = Hub::current();
  if (const char* wanted = std::getenv("GEVENT_LOOP")) {
    ASSERT_EQ(hub.backend(), wanted) << "the hub does not run the backend GEVENT_LOOP names";
  }
}

void HubTest::TearDown() {
  Hub& hub = Hub::current();
  EXPECT_TRUE(hub.join(10s)) << "the hub still had work 10 s after the test";
  EXPECT_EQ(hub.live_greenlets(), 0u) << "greenlets left alive";
  EXPECT_EQ(hub.pending_timers(), 0u) << "hub timers left armed";
  EXPECT_FALSE(hub.has_ready()) << "greenlets or callbacks left queued";
  // The hub's own thread-safe wake-up watcher stays active (unreferenced) for its whole life.
  EXPECT_EQ(hub.loop().active_watchers(), 1) << "loop watchers left active";
  EXPECT_EQ(hub.stacks_in_use(), 0u) << "greenlet stacks not returned";
  Hub::destroy_current();
  EXPECT_EQ(count_open_fds(), fds_before_) << "file descriptors leaked";
}

void expect_config_rejects(const char* variable, const char* value, const char* message) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv(variable, value, 1);
        try {
          gevent::config();
        } catch (const std::invalid_argument& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::exit(3);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(3), message);
}

}  // namespace gevent::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // libuv opens a signal pipe the first time any of its loops exists and keeps it for the
  // process's life: open it now, so fd-leak checks compare like with like.
  gevent::loop::make_loop("libuv", false).reset();
  ::testing::UnitTest::GetInstance()->listeners().Append(new gevent::testing::Watchdog());
  return RUN_ALL_TESTS();
}
