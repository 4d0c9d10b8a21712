// The loop backends against the contract of gevent/loop.hpp, with real fds, signals and
// child processes. Every test runs on both backends.
#include "gevent/loop.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

namespace gevent::loop {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using RunMode = Loop::RunMode;

// Runs iterations until `done()` or until `limit` has passed; a ticking timer keeps any one
// iteration from blocking for long.
bool run_until(Loop& loop, const std::function<bool()>& done, Duration limit = 5s) {
  const auto tick = loop.timer(5ms, 5ms, [] {});
  tick->start();
  const auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) loop.run(RunMode::once);
  return done();
}

// Both ends of a pipe or socket pair, closed on destruction.
struct FdPair {
  int fds[2] = {-1, -1};
  ~FdPair() {
    for (const int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  int first() const { return fds[0]; }
  int second() const { return fds[1]; }
};

struct Pipe : FdPair {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  int read_end() const { return first(); }
  int write_end() const { return second(); }
};

struct SocketPair : FdPair {
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
};

void write_byte(int fd) { ASSERT_EQ(write(fd, "x", 1), 1); }

class LoopTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string_view backend() const { return GetParam(); }

  std::unique_ptr<Loop> loop_ = make_loop(GetParam(), /*default_loop=*/true);
};

INSTANTIATE_TEST_SUITE_P(Backends, LoopTest, ::testing::Values("libev", "libuv"),
                         [](const auto& info) { return info.param; });

TEST_P(LoopTest, NamesItsBackend) { EXPECT_EQ(loop_->backend(), backend()); }

TEST_P(LoopTest, IoReportsReadReadiness) {
  Pipe pipe;
  int fired = 0;
  int revents = 0;
  const auto watcher = loop_->io(pipe.read_end(), READ, [&](int events) {
    ++fired;
    revents = events;
  });
  EXPECT_EQ(watcher->fd(), pipe.read_end());
  EXPECT_EQ(watcher->events(), READ);
  watcher->start();
  loop_->run(RunMode::nowait);
  EXPECT_EQ(fired, 0);

  write_byte(pipe.write_end());
  EXPECT_TRUE(run_until(*loop_, [&] { return fired > 0; }));
  EXPECT_EQ(revents, READ);
}

TEST_P(LoopTest, IoReportsWriteReadiness) {
  Pipe pipe;
  int revents = 0;
  const auto watcher = loop_->io(pipe.write_end(), WRITE, [&](int events) { revents = events; });
  watcher->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return revents != 0; }));
  EXPECT_EQ(revents, WRITE);
}

TEST_P(LoopTest, IoSetEventsChangesWhatAnActiveWatcherWaitsFor) {
  Pipe pipe;
  int revents = 0;
  // The write end of a pipe never becomes readable.
  const auto watcher = loop_->io(pipe.write_end(), READ, [&](int events) { revents = events; });
  watcher->start();
  EXPECT_FALSE(run_until(
      *loop_, [&] { return revents != 0; }, 30ms));

  watcher->set_events(WRITE);
  EXPECT_TRUE(watcher->active());
  EXPECT_EQ(watcher->events(), WRITE);
  EXPECT_TRUE(run_until(*loop_, [&] { return revents != 0; }));
  EXPECT_EQ(revents, WRITE);
}

TEST_P(LoopTest, IoStopStopsDelivery) {
  Pipe pipe;
  int fired = 0;
  const auto watcher = loop_->io(pipe.read_end(), READ, [&](int) { ++fired; });
  write_byte(pipe.write_end());
  watcher->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return fired > 0; }));

  watcher->stop();
  EXPECT_FALSE(watcher->active());
  const int fired_before = fired;
  // The byte is still unread, so an active watcher would fire again.
  EXPECT_FALSE(run_until(
      *loop_, [&] { return fired > fired_before; }, 30ms));
}

TEST_P(LoopTest, IoWatchersShareAnFd) {
  SocketPair sockets;
  int read_events = 0;
  int write_events = 0;
  const auto reader = loop_->io(sockets.first(), READ, [&](int) { ++read_events; });
  auto writer = loop_->io(sockets.first(), WRITE, [&](int) { ++write_events; });
  reader->start();
  writer->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return write_events > 0; }));
  EXPECT_EQ(read_events, 0);

  writer.reset();
  write_byte(sockets.second());
  EXPECT_TRUE(run_until(*loop_, [&] { return read_events > 0; }));
}

TEST_P(LoopTest, IoWatcherCanBeReplacedOnTheSameFd) {
  Pipe pipe;
  write_byte(pipe.write_end());
  int fired = 0;
  auto watcher = loop_->io(pipe.read_end(), READ, [&](int) { ++fired; });
  watcher->start();
  watcher = loop_->io(pipe.read_end(), READ, [&](int) { fired += 10; });
  watcher->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return fired > 0; }));
  EXPECT_EQ(fired % 10, 0);
}

TEST_P(LoopTest, IoRejectsBadArguments) {
  EXPECT_THROW(loop_->io(-1, READ, [](int) {}), std::invalid_argument);
  EXPECT_THROW(loop_->io(0, 4, [](int) {}), std::invalid_argument);
}

TEST_P(LoopTest, OneShotTimerFiresOnceNoEarlierThanAsked) {
  int fired = 0;
  Clock::time_point fired_at;
  const auto timer = loop_->timer(30ms, Duration::zero(), [&] {
    ++fired;
    fired_at = Clock::now();
  });
  const auto started_at = Clock::now();
  timer->start();
  EXPECT_TRUE(timer->active());
  EXPECT_TRUE(run_until(*loop_, [&] { return fired > 0; }));
  EXPECT_GE(fired_at - started_at, 30ms);
  EXPECT_FALSE(timer->active());
  EXPECT_FALSE(run_until(
      *loop_, [&] { return fired > 1; }, 50ms));
}

TEST_P(LoopTest, RepeatingTimerKeepsItsSchedule) {
  std::vector<Clock::time_point> fired_at;
  const auto timer = loop_->timer(20ms, 15ms, [&] { fired_at.push_back(Clock::now()); });
  const auto started_at = Clock::now();
  timer->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return fired_at.size() >= 3; }));
  ASSERT_GE(fired_at.size(), 3U);
  EXPECT_GE(fired_at[0] - started_at, 20ms);
  EXPECT_GE(fired_at[2] - started_at, 20ms + 2 * 15ms);
  EXPECT_TRUE(timer->active());

  timer->stop();
  EXPECT_FALSE(timer->active());
  const size_t count = fired_at.size();
  EXPECT_FALSE(run_until(
      *loop_, [&] { return fired_at.size() > count; }, 50ms));
}

TEST_P(LoopTest, StoppedTimerDoesNotFire) {
  bool fired = false;
  const auto timer = loop_->timer(10ms, Duration::zero(), [&] { fired = true; });
  timer->start();
  timer->stop();
  EXPECT_FALSE(run_until(
      *loop_, [&] { return fired; }, 50ms));
}

TEST_P(LoopTest, TimerSetReschedulesAnActiveTimer) {
  bool fired = false;
  const auto timer = loop_->timer(1h, Duration::zero(), [&] { fired = true; });
  timer->start();
  timer->set(10ms, Duration::zero());
  EXPECT_TRUE(timer->active());
  EXPECT_TRUE(run_until(
      *loop_, [&] { return fired; }, 2s));
}

TEST_P(LoopTest, AsyncSendFromAnotherThreadWakesABlockedRun) {
  std::atomic<bool> fired = false;
  const auto async = loop_->async([&] { fired = true; });
  async->start();
  // Bounds run(once) should the wake-up be lost.
  const auto guard = loop_->timer(5s, Duration::zero(), [] {});
  guard->start();

  std::thread sender([&] {
    std::this_thread::sleep_for(30ms);
    async->send();
  });
  const auto started_at = Clock::now();
  for (int i = 0; i < 10 && !fired; ++i) loop_->run(RunMode::once);
  sender.join();
  EXPECT_TRUE(fired);
  EXPECT_LT(Clock::now() - started_at, 4s);
}

TEST_P(LoopTest, SignalWatcherSeesRaisedSignal) {
  int fired = 0;
  const auto watcher = loop_->signal(SIGUSR1, [&] { ++fired; });
  EXPECT_EQ(watcher->signum(), SIGUSR1);
  watcher->start();
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_TRUE(run_until(*loop_, [&] { return fired > 0; }));
}

TEST_P(LoopTest, SignalIsWatchedByOneLoopAtATime) {
  auto first = loop_->signal(SIGUSR2, [] {});
  EXPECT_NO_THROW(loop_->signal(SIGUSR2, [] {}));
  for (const char* other_backend : {"libev", "libuv"}) {
    SCOPED_TRACE(other_backend);
    const auto other = make_loop(other_backend, /*default_loop=*/false);
    EXPECT_THROW(other->signal(SIGUSR2, [] {}), std::logic_error);
    first.reset();
    EXPECT_NO_THROW(other->signal(SIGUSR2, [] {}));
    first = loop_->signal(SIGUSR2, [] {});
  }
}

TEST_P(LoopTest, SignalRejectsBadNumbers) {
  EXPECT_THROW(loop_->signal(0, [] {}), std::invalid_argument);
  EXPECT_THROW(loop_->signal(NSIG, [] {}), std::invalid_argument);
}

pid_t fork_child_exiting_with(int status) {
  const pid_t pid = fork();
  if (pid == 0) _exit(status);
  return pid;
}

TEST_P(LoopTest, ChildWatcherReportsExitStatus) {
  const pid_t pid = fork_child_exiting_with(7);
  ASSERT_GT(pid, 0);
  bool fired = false;
  const auto watcher = loop_->child(pid, [&] { fired = true; });
  EXPECT_EQ(watcher->pid(), pid);
  watcher->start();
  ASSERT_TRUE(run_until(*loop_, [&] { return fired; }));
  EXPECT_EQ(watcher->rpid(), pid);
  EXPECT_TRUE(WIFEXITED(watcher->rstatus()));
  EXPECT_EQ(WEXITSTATUS(watcher->rstatus()), 7);
}

TEST_P(LoopTest, ChildWatcherForAnyChild) {
  bool fired = false;
  const auto watcher = loop_->child(0, [&] { fired = true; });
  watcher->start();
  const pid_t pid = fork_child_exiting_with(3);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(run_until(*loop_, [&] { return fired; }));
  EXPECT_EQ(watcher->rpid(), pid);
  EXPECT_EQ(WEXITSTATUS(watcher->rstatus()), 3);
}

TEST_P(LoopTest, LibevWatchesChildrenOnlyInTheDefaultLoop) {
  if (backend() != "libev") GTEST_SKIP() << "libuv loops can all watch children";
  const auto other = make_loop("libev", /*default_loop=*/false);
  try {
    other->child(0, [] {});
    ADD_FAILURE() << "expected std::logic_error";
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find("default loop"), std::string::npos);
  }
}

TEST_P(LoopTest, LibevHasOneDefaultLoopAtATime) {
  if (backend() != "libev") GTEST_SKIP() << "libuv has no default loop";
  EXPECT_THROW(make_loop("libev", /*default_loop=*/true), std::logic_error);
  loop_.reset();
  EXPECT_NO_THROW(make_loop("libev", /*default_loop=*/true));
}

TEST_P(LoopTest, PrepareCheckAndIdleWatchersFire) {
  bool prepared = false;
  bool checked = false;
  bool idled = false;
  const auto prepare = loop_->prepare([&] { prepared = true; });
  const auto check = loop_->check([&] { checked = true; });
  const auto idle = loop_->idle([&] { idled = true; });
  prepare->start();
  check->start();
  idle->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return prepared && checked && idled; }));
}

TEST_P(LoopTest, UnreferencedWatcherDoesNotKeepTheLoopAlive) {
  const auto timer = loop_->timer(1h, Duration::zero(), [] {});
  EXPECT_FALSE(loop_->alive());
  timer->start();
  EXPECT_TRUE(loop_->alive());

  timer->set_ref(false);
  EXPECT_FALSE(loop_->alive());
  EXPECT_TRUE(timer->active());
  EXPECT_EQ(loop_->active_watchers(), 1);
  const auto started_at = Clock::now();
  loop_->run(RunMode::once);
  EXPECT_LT(Clock::now() - started_at, 1s);

  timer->set_ref(true);
  EXPECT_TRUE(loop_->alive());
  timer->stop();
  EXPECT_FALSE(loop_->alive());
}

TEST_P(LoopTest, UnreferencedOneShotTimerLeavesReferencesBalanced) {
  bool unreferenced_fired = false;
  const auto unreferenced = loop_->timer(5ms, Duration::zero(), [&] { unreferenced_fired = true; });
  unreferenced->set_ref(false);
  unreferenced->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return unreferenced_fired; }));
  EXPECT_FALSE(loop_->alive());

  // A referenced timer must make run(once) wait for it.
  bool fired = false;
  const auto timer = loop_->timer(20ms, Duration::zero(), [&] { fired = true; });
  timer->start();
  EXPECT_TRUE(loop_->alive());
  loop_->run(RunMode::once);
  EXPECT_TRUE(fired);
}

TEST_P(LoopTest, ActiveWatchersCountsReferencedOrNot) {
  Pipe pipe;
  const auto io = loop_->io(pipe.read_end(), READ, [](int) {});
  auto timer = loop_->timer(1h, Duration::zero(), [] {});
  const auto idle = loop_->idle([] {});
  EXPECT_EQ(loop_->active_watchers(), 0);

  io->start();
  timer->start();
  timer->start();
  EXPECT_EQ(loop_->active_watchers(), 2);
  timer->set_ref(false);
  EXPECT_EQ(loop_->active_watchers(), 2);
  io->stop();
  io->stop();
  EXPECT_EQ(loop_->active_watchers(), 1);
  timer.reset();
  EXPECT_EQ(loop_->active_watchers(), 0);
}

TEST_P(LoopTest, RunNowaitNeverBlocks) {
  Pipe pipe;
  const auto io = loop_->io(pipe.read_end(), READ, [](int) {});
  const auto timer = loop_->timer(1h, Duration::zero(), [] {});
  io->start();
  timer->start();
  const auto started_at = Clock::now();
  for (int i = 0; i < 3; ++i) loop_->run(RunMode::nowait);
  EXPECT_LT(Clock::now() - started_at, 500ms);
}

TEST_P(LoopTest, RunOnceWithNothingActiveReturns) {
  const auto started_at = Clock::now();
  loop_->run(RunMode::once);
  EXPECT_LT(Clock::now() - started_at, 1s);
}

TEST_P(LoopTest, CallbackExceptionLeavesRun) {
  const auto timer = loop_->timer(Duration::zero(), Duration::zero(),
                                  [] { throw std::runtime_error("from callback"); });
  timer->start();
  EXPECT_THROW(run_until(
                   *loop_, [] { return false; }, 1s),
               std::runtime_error);
  EXPECT_NO_THROW(loop_->run(RunMode::nowait));
}

TEST_P(LoopTest, WatcherMayDestroyItselfInItsCallback) {
  std::unique_ptr<TimerWatcher> timer;
  timer = loop_->timer(Duration::zero(), Duration::zero(), [&] { timer.reset(); });
  timer->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return timer == nullptr; }));
}

TEST_P(LoopTest, DestroyingAPendingWatcherCancelsItsCallback) {
  int fired = 0;
  std::unique_ptr<TimerWatcher> first;
  std::unique_ptr<TimerWatcher> second;
  // Both are due in the same iteration; whichever runs first destroys the other.
  first = loop_->timer(Duration::zero(), Duration::zero(), [&] {
    ++fired;
    second.reset();
  });
  second = loop_->timer(Duration::zero(), Duration::zero(), [&] {
    ++fired;
    first.reset();
  });
  first->start();
  second->start();
  EXPECT_TRUE(run_until(*loop_, [&] { return fired > 0; }));
  EXPECT_FALSE(run_until(
      *loop_, [&] { return fired > 1; }, 30ms));
}

TEST_P(LoopTest, DestroyingALoopWithActiveWatchersLeaksNoFd) {
  loop_.reset();
  Pipe pipe;
  const int fds_before = gevent::testing::count_open_fds();
  {
    auto loop = make_loop(backend(), /*default_loop=*/true);
    std::vector<std::unique_ptr<Watcher>> watchers;
    watchers.push_back(loop->io(pipe.read_end(), READ, [](int) {}));
    watchers.push_back(loop->io(pipe.write_end(), WRITE, [](int) {}));
    watchers.push_back(loop->timer(1h, 1h, [] {}));
    watchers.push_back(loop->async([] {}));
    watchers.push_back(loop->signal(SIGUSR1, [] {}));
    watchers.push_back(loop->child(0, [] {}));
    watchers.push_back(loop->prepare([] {}));
    watchers.push_back(loop->check([] {}));
    watchers.push_back(loop->idle([] {}));
    for (const auto& watcher : watchers) watcher->start();
    loop->run(RunMode::nowait);
    EXPECT_EQ(loop->active_watchers(), static_cast<int>(watchers.size()));
    watchers.clear();
    EXPECT_EQ(loop->active_watchers(), 0);
  }
  EXPECT_EQ(gevent::testing::count_open_fds(), fds_before);
}

TEST(MakeLoop, RejectsUnknownBackendNamingTheKnownOnes) {
  try {
    make_loop("bogus", /*default_loop=*/false);
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("libev"), std::string::npos);
    EXPECT_NE(message.find("libuv"), std::string::npos);
  }
}

}  // namespace
}  // namespace gevent::loop
