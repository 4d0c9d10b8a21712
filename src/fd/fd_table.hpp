// The waits of the fd layer that are not a socket's own (see fd_state.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <system_error>

#include "fd/deadline.hpp"
#include "fd/fd_state.hpp"
#include "gevent/detail/waiter.hpp"

namespace gevent::detail {

// A wait on any number of fds at once (select, poll, wait_read): a node per side asked for,
// in each fd's state, all waking one Waiter. Nothing is allocated for up to kInline sides;
// more take one allocation for the whole wait. Every node leaves its state when this goes.
class FdSetWait {
 public:
  static constexpr std::size_t kInline = 8;

  // Room for `sides` calls of watch_side (an fd watched for reading and writing counts two).
  FdSetWait(Hub& hub, std::size_t sides, FdWait::Kind kind);
  ~FdSetWait();
  FdSetWait(const FdSetWait&) = delete;
  FdSetWait& operator=(const FdSetWait&) = delete;

  // Watches `side` of `fd`, joining the hub's table if nothing there owns the fd yet. Fails
  // with the kernel's error (EBADF: not an open fd); a regular file or a directory, which
  // epoll refuses, is always ready and never wakes the wait.
  std::error_code watch_side(int fd, FdState::Side side);
  // Watches fd for the edges that can bring poll(2) `events`: the write side for writability,
  // the read side for everything else (data, urgent data, hang-ups and errors, which also end
  // a wait for nothing else). Takes room for two sides.
  std::error_code watch_events(int fd, short events);

  // Suspends until a watched side becomes ready (an edge after it was watched) or a wait is
  // cancelled (true), or `timeout` passes (false). Kill and Timeout are thrown.
  bool wait(MaybeDuration timeout);
  // The same wait for callers that must not throw a kill or Timeout (the hooks): one ends it
  // as interrupted and stays pending (Waiter::wait_nothrow).
  WaitResult wait_nothrow(MaybeDuration timeout);
  // The reason a wait was cancelled (cancel_wait, or its fd closed), if one was.
  std::error_code cancelled() const;
  // Waits, as wait_nothrow, until `found()` (a look at the fds that does not block) is true
  // after a wake-up: woken. A wake-up that found nothing (another greenlet took it) waits on;
  // at the deadline, one last look decides (woken or timed_out). A kill or Timeout due:
  // interrupted, and it stays pending.
  template <class Found>
  WaitResult wait_until(MaybeDuration timeout, Found found) {
    Deadline deadline(timeout);
    for (;;) {
      const WaitResult result = wait_nothrow(deadline.remaining());
      if (result == WaitResult::interrupted) return result;
      if (found()) return WaitResult::woken;
      if (result == WaitResult::timed_out) return result;
    }
  }

 private:
  FdWait* nodes() { return heap_ ? heap_.get() : inline_; }
  const FdWait* nodes() const { return heap_ ? heap_.get() : inline_; }
  bool rejoin();
  void describe_wait();
  std::error_code join(FdWait& wait);

  Hub& hub_;
  Waiter waiter_;
  FdWait::Kind kind_;
  std::size_t used_ = 0;
  std::size_t capacity_;
  FdWait inline_[kInline];
  std::unique_ptr<FdWait[]> heap_;
};

// What `hub`'s table holds now, for tests and diagnostics.
struct FdTableCounts {
  std::size_t waits = 0;    // greenlets' waits on one side of one fd, in progress
  std::size_t fds = 0;      // fds in the epoll set
  std::size_t adopted = 0;  // of those, fds that nothing owns (a select's, a wait_read's)
};
FdTableCounts fd_table_counts(Hub& hub);

// Wakes the waits on `fd` in `hub`'s table with `reason`: all of them, or only those of
// wait_read / wait_write. Returns how many there were.
int cancel_waits(Hub& hub, int fd, std::error_code reason, bool only_raw = false);

// `fd` is about to be closed or replaced (the hooked close, dup2): its waits in `hub`'s table
// wake with errc::bad_file_descriptor, and a state of the table's own leaves the table, before
// the number can be reused.
void forget_fd(Hub& hub, int fd);

}  // namespace gevent::detail
