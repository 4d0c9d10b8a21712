// The fd layer on its own: FdSetWait over real pipes, the table's own states for fds nothing
// owns, the wait that does not throw, and waits on more fds than fit inline.
#include <gevent/gevent.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "fd/fd_table.hpp"
#include "support/harness.hpp"
#include "support/pipe.hpp"

using namespace std::chrono_literals;
using gevent::detail::FdSetWait;
using gevent::detail::FdState;
using gevent::detail::FdWait;
using gevent::detail::WaitResult;
using gevent::testing::HubTest;
using gevent::testing::Pipe;

namespace {

class FdTableTest : public HubTest {};

gevent::detail::FdTableCounts table() { return gevent::detail::fd_table_counts(gevent::get_hub()); }

TEST_F(FdTableTest, AWaitOnAPipeEndsAtItsEdgeAndLeavesNothingBehind) {
  Pipe pipe;
  auto writer = gevent::spawn([&] {
    gevent::sleep(5ms);
    EXPECT_EQ(table().waits, 1u);
    EXPECT_EQ(table().adopted, 1u);  // the pipe: nothing owns it
    pipe.put();
  });
  {
    FdSetWait wait(gevent::get_hub(), 1, FdWait::Kind::set);
    ASSERT_FALSE(wait.watch_side(pipe.r, FdState::kRead));
    EXPECT_TRUE(wait.wait(5s));
    EXPECT_FALSE(wait.cancelled());
  }
  writer.join();
  EXPECT_EQ(table().waits, 0u);
  EXPECT_EQ(table().adopted, 0u);
}

TEST_F(FdTableTest, ATimedOutWaitReturnsFalse) {
  Pipe pipe;
  FdSetWait wait(gevent::get_hub(), 1, FdWait::Kind::set);
  ASSERT_FALSE(wait.watch_side(pipe.r, FdState::kRead));
  EXPECT_FALSE(wait.wait(5ms));
  EXPECT_EQ(wait.wait_nothrow(5ms), WaitResult::timed_out);
}

TEST_F(FdTableTest, WatchingAClosedFdFailsWithEbadf) {
  Pipe pipe;
  FdSetWait wait(gevent::get_hub(), 2, FdWait::Kind::set);
  ASSERT_FALSE(wait.watch_side(pipe.r, FdState::kRead));  // the table and its epoll fd exist
  const int closed = ::dup(pipe.r);                       // a number no fd has now
  ::close(closed);
  EXPECT_EQ(wait.watch_side(closed, FdState::kRead), std::errc::bad_file_descriptor);
  EXPECT_EQ(table().adopted, 1u);  // the pipe only
}

TEST_F(FdTableTest, AKillEndsANothrowWaitAndStaysPending) {
  Pipe pipe;
  std::vector<const char*> log;
  auto g = gevent::spawn([&] {
    {
      FdSetWait wait(gevent::get_hub(), 1, FdWait::Kind::raw);
      EXPECT_FALSE(wait.watch_side(pipe.r, FdState::kRead));
      log.push_back(wait.wait_nothrow({}) == WaitResult::interrupted ? "interrupted" : "other");
    }
    gevent::get_hub().throw_pending();
    log.push_back("not reached");
  });
  gevent::sleep(1ms);
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_EQ(log, (std::vector<const char*>{"interrupted"}));
  EXPECT_EQ(table().waits, 0u);
}

TEST_F(FdTableTest, CancelWaitsEndsOnlyTheRawOnes) {
  Pipe pipe;
  bool raw_cancelled = false;
  bool set_woken = false;
  auto raw = gevent::spawn([&] {
    FdSetWait wait(gevent::get_hub(), 1, FdWait::Kind::raw);
    EXPECT_FALSE(wait.watch_side(pipe.r, FdState::kRead));
    raw_cancelled = wait.wait(5s) && wait.cancelled() == std::errc::operation_canceled;
  });
  auto set = gevent::spawn([&] {
    FdSetWait wait(gevent::get_hub(), 1, FdWait::Kind::set);
    EXPECT_FALSE(wait.watch_side(pipe.r, FdState::kRead));
    set_woken = wait.wait(20ms);
  });
  gevent::sleep(5ms);
  EXPECT_EQ(table().waits, 2u);  // one state for the fd, shared
  EXPECT_EQ(table().fds, 1u);
  EXPECT_EQ(gevent::detail::cancel_waits(gevent::get_hub(), pipe.r,
                                         std::make_error_code(std::errc::operation_canceled), true),
            1);
  raw.join();
  set.join();
  EXPECT_TRUE(raw_cancelled);
  EXPECT_FALSE(set_woken);  // it timed out: the cancel was not for it
}

// cancel_wait counts greenlets: a wait_readwrite has two sides and is one.
TEST_F(FdTableTest, CancelWaitCountsAWaitOnBothSidesOnce) {
  Pipe pipe;  // its read end is neither readable (empty) nor ever writable
  auto waiter = gevent::spawn([&] {
    try {
      gevent::wait_readwrite(pipe.r);
    } catch (const std::system_error& e) {
      return e.code();
    }
    return std::error_code();
  });
  gevent::sleep(1ms);
  EXPECT_EQ(table().waits, 2u);
  EXPECT_EQ(gevent::cancel_wait(pipe.r), 1);
  EXPECT_EQ(waiter.get(), std::errc::operation_canceled);
}

TEST_F(FdTableTest, AWaitOnMoreFdsThanFitInlineWakesOnTheLast) {
  std::vector<Pipe> pipes(3 * FdSetWait::kInline);
  auto writer = gevent::spawn([&] {
    gevent::sleep(5ms);
    EXPECT_EQ(table().waits, pipes.size());
    pipes.back().put();
  });
  FdSetWait wait(gevent::get_hub(), pipes.size(), FdWait::Kind::set);
  for (const Pipe& pipe : pipes) ASSERT_FALSE(wait.watch_side(pipe.r, FdState::kRead));
  EXPECT_TRUE(wait.wait(5s));
  writer.join();
}

}  // namespace
