// gevent::signal_handler with real signals sent to this process.
#include <gevent/gevent.hpp>
#include <gevent/signal.hpp>

#include <signal.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class SignalTest : public HubTest {};

TEST_F(SignalTest, EachSignalRunsTheHandlerInAGreenlet) {
  gevent::Queue<int> seen;
  gevent::AnyGreenlet main = gevent::getcurrent();
  bool ran_elsewhere = true;
  auto handler = gevent::signal_handler(
      SIGUSR1,
      [&](int tag) {
        ran_elsewhere = ran_elsewhere && gevent::getcurrent() != main;
        gevent::sleep(1ms);  // a greenlet of its own: it may wait
        seen.put(tag);
      },
      7);
  EXPECT_TRUE(handler.active());
  EXPECT_EQ(handler.signum(), SIGUSR1);
  ::kill(::getpid(), SIGUSR1);
  EXPECT_EQ(seen.get(true, 1s), 7);
  ::kill(::getpid(), SIGUSR1);
  EXPECT_EQ(seen.get(true, 1s), 7);
  EXPECT_TRUE(ran_elsewhere);
  handler.cancel();
  EXPECT_FALSE(handler.active());
  handler.cancel();  // idempotent
}

TEST_F(SignalTest, CancellingOneHandlerLeavesTheOther) {
  int first = 0, second = 0;
  gevent::Event second_ran;
  auto a = gevent::signal_handler(SIGUSR2, [&] { ++first; });
  auto b = gevent::signal_handler(SIGUSR2, [&] {
    ++second;
    second_ran.set();
  });
  a.cancel();
  ::kill(::getpid(), SIGUSR2);
  EXPECT_TRUE(second_ran.wait(1s));
  gevent::sleep(5ms);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
}

TEST_F(SignalTest, DestroyingTheHandleStopsWatching) {
  {
    auto handler = gevent::signal_handler(SIGUSR1, [] {});
    EXPECT_EQ(gevent::get_hub().loop().active_watchers(), 2);
    gevent::SignalHandler moved = std::move(handler);
    EXPECT_TRUE(moved.active());
    EXPECT_FALSE(handler.active());  // NOLINT(bugprone-use-after-move): moved-from is empty
  }
  EXPECT_EQ(gevent::get_hub().loop().active_watchers(), 1);
}

TEST_F(SignalTest, AHandlerDoesNotKeepTheLoopAlive) {
  auto handler = gevent::signal_handler(SIGUSR1, [] {});
  EXPECT_TRUE(gevent::get_hub().join(1s));  // returns at once: nothing else to do
}

TEST_F(SignalTest, ASignalWatchedByAnotherThreadsHubIsAClearError) {
  auto handler = gevent::signal_handler(SIGUSR1, [] {});
  std::string message;
  std::thread other([&] {
    try {
      auto theirs = gevent::signal_handler(SIGUSR1, [] {});
    } catch (const std::logic_error& e) {
      message = e.what();
    }
  });
  other.join();
  EXPECT_NE(message.find("already watched by another loop"), std::string::npos) << message;
}

TEST_F(SignalTest, SignalsThatCannotBeCaughtAreRejected) {
  EXPECT_THROW((void)gevent::signal_handler(SIGKILL, [] {}), std::invalid_argument);
  EXPECT_THROW((void)gevent::signal_handler(SIGSTOP, [] {}), std::invalid_argument);
  EXPECT_THROW((void)gevent::signal_handler(0, [] {}), std::invalid_argument);
  EXPECT_THROW((void)gevent::signal_handler(100000, [] {}), std::invalid_argument);
}

}  // namespace
