// Test harness: every test runs under a watchdog, and hub tests end by checking that the
// hub shut down cleanly (no greenlets, watchers or file descriptors left behind).
//
// Link gevent_test_support; it provides main(). GEVENT_TEST_TIMEOUT (seconds, default 30)
// bounds each test: a test still running then prints its name and the process aborts.
#pragma once

#include <gtest/gtest.h>

#include "gevent/detail/sanitizers.hpp"

namespace gevent::testing {

// How many greenlets a stress test keeps alive at once. TSan gives each greenlet a fiber of
// its own and dies past 8128 threads and fibers, so under TSan stress tests scale down.
inline constexpr int kManyGreenlets = GEVENT_TSAN ? 2000 : 10000;

// Open file descriptors of this process right now.
int count_open_fds();

// Checks, in a child process (a death test: call it from a *DeathTest), that gevent::config()
// rejects `variable`=`value` with std::invalid_argument whose message contains `message`.
void expect_config_rejects(const char* variable, const char* value, const char* message);

// Fixture for tests that use the hub. SetUp records the open fds; TearDown runs the hub
// until nothing is pending, then checks that no greenlet is alive, no watcher is active,
// destroys the hub and checks that the fd count is back to the baseline.
class HubTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  int fds_before_ = 0;
};

}  // namespace gevent::testing
