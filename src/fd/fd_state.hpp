// The fd layer: what a hub knows about each file descriptor that greenlets wait on, and the
// one way to wait on it.
//
// Every hub has one FdTable (a hub service, fd_table.cpp): an edge-triggered epoll set,
// watched by the hub's loop through a single IoWatcher on the epoll fd, and an index from fd
// number to that fd's FdState. Sockets and file objects embed their FdState (it joins the
// table at their first wait and leaves at close); a wait on an fd that nothing owns
// (select/poll, wait_read) gets a state of the table's own for as long as somebody waits on
// it. Either way one fd has one state, so a socket, a select over it and (later) a hooked
// call on it share the same registration and waiters.
//
// Why not one loop IoWatcher per socket: libev and libuv both use level-triggered epoll,
// which re-polls every fd reported by the previous epoll_wait and, when a watcher is stopped
// at the wrong moment, removes and re-adds the fd (two epoll_ctl calls). An edge-triggered
// set registers each socket once (EPOLL_CTL_ADD at its first wait, EPOLL_CTL_DEL at close)
// and touches it in between at most once (EPOLL_CTL_MOD, at the first wait to write).
// Measured with bench/echo.sh (see docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <system_error>

#include "gevent/detail/intrusive_list.hpp"
#include "gevent/duration.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class FdTable;
class Waiter;

class FdState;
void forget_fd(Hub& hub, int fd);

// One greenlet waiting on one side of one fd; lives on the waiting greenlet's stack. Or a
// callback (FdState::call_when_ready) that the hub calls once, at the next edge or cancel.
struct FdWait {
  enum class Kind : std::uint8_t {
    owner,  // the socket's or file object's own call: one at a time per side
    raw,    // wait_read / wait_write: cancel_wait() ends it
    set,    // select / poll
  };
  Waiter* waiter = nullptr;  // null for a callback
  void (*callback)(FdWait& wait) = nullptr;
  FdState* state = nullptr;  // the state whose list holds it; null once taken out
  int fd = -1;
  std::uint8_t side = 0;
  Kind kind = Kind::owner;
  std::error_code reason;  // why it was cancelled; empty when woken by readiness
  ListHook<FdWait> hook;
};

// One fd in its hub's FdTable: its waiters per side and what the last edge said.
class FdState {
 public:
  enum Side { kRead = 0, kWrite = 1 };

  FdState() = default;
  ~FdState() { release(); }
  FdState(const FdState&) = delete;
  FdState& operator=(const FdState&) = delete;

  // The owner's wait: suspends the calling greenlet until the fd becomes ready for `side`
  // (an edge reported after the call began), `timeout` passes (errc::timed_out) or cancel()
  // (its reason). Call it after the operation failed with EAGAIN. One owner's wait per side
  // at a time (ConcurrentObjectUseError); from the hub: BlockingSwitchOutError.
  std::error_code wait(Side side, MaybeDuration timeout);
  // No greenlet waits: the hub calls `wait.callback` (which must not block or switch) at the
  // next edge on `side` (reason empty) or when the wait is cancelled (reason set); the wait
  // has left the state by then. Call it after an operation failed with EAGAIN (or after a
  // short read, see drained()). The fd joins this thread's table if it is not in it; throws
  // std::system_error when the kernel refuses.
  void call_when_ready(Side side, FdWait& wait);
  // Takes out a wait of call_when_ready that has not been called.
  void forget(FdWait& wait) {
    if (wait.state == this) remove_wait(wait);
  }
  // Wakes every greenlet waiting on `side`, with `reason`; returns whether there was one.
  bool cancel(Side side, std::error_code reason);
  // Wakes the waits on the fd (all, or only wait_read / wait_write's) with `reason`;
  // returns how many there were.
  int cancel_waits(std::error_code reason, bool only_raw);
  // Whether the owner's wait is in progress on `side`.
  bool waiting(Side side) const { return sides_[side].owner_waiting; }

  // Whether an operation on `side` may succeed without waiting: false from an EAGAIN (or a
  // drained(): a short read of a stream) until the next edge. Only a hint that saves the
  // doomed syscall; a stale true costs one EAGAIN, and a false is always ended by an edge,
  // since the fd is in the edge-triggered set whenever a greenlet waits.
  bool maybe_ready(Side side) const { return sides_[side].maybe_ready; }
  // Once the peer's FIN (or an error) has been reported, a short read no longer means the
  // next read would block: it returns the end of stream, and no further edge comes.
  void drained(Side side) {
    if (!(side == kRead && hung_up_)) sides_[side].maybe_ready = false;
  }

  // Leaves the table (EPOLL_CTL_DEL); call before the fd is closed or handed on. Waits still
  // on it (another greenlet's select or wait_read) wake: a select looks again, a wait_read
  // ends with errc::bad_file_descriptor.
  void release();
  void set_fd(int fd) {
    release();
    fd_ = fd;
  }
  int fd() const { return fd_; }

 private:
  friend class FdTable;
  friend class FdSetWait;
  friend void forget_fd(Hub& hub, int fd);
  struct SideState {
    IntrusiveList<FdWait, &FdWait::hook> waits;
    bool owner_waiting = false;
    bool maybe_ready = true;
  };
  void on_events(std::uint32_t events);
  void ready(Side side);
  void join(Hub& hub, Side side);
  void release_adopted();
  std::uint32_t interest() const;
  bool has_waits() const { return sides_[kRead].waits.front() || sides_[kWrite].waits.front(); }
  void add_wait(Side side, FdWait& wait);
  void remove_wait(FdWait& wait);
  int wake_all(Side side, std::error_code reason, bool only_raw);
  void notify(FdWait& wait);

  int fd_ = -1;
  bool hung_up_ = false;  // EPOLLRDHUP, EPOLLHUP or EPOLLERR seen since the fd joined
  // EPOLLOUT is asked for from the first wait for writability on: most sockets never wait to
  // write, and with EPOLLOUT every ACK that frees send buffer would report them
  // (bench/http.sh: a fast server then saw two events per keep-alive request).
  bool watch_writable_ = false;
  bool table_owned_ = false;  // made by the table for waits on an fd nothing else owns
  FdTable* table_ = nullptr;  // set while in a table
  SideState sides_[2];
};

// One direction of an FdState, what a socket's read_watch / write_watch is.
class SideWatch {
 public:
  SideWatch(FdState& state, FdState::Side side) : state_(state), side_(side) {}
  std::error_code wait(MaybeDuration timeout) { return state_.wait(side_, timeout); }
  bool cancel(std::error_code reason) { return state_.cancel(side_, reason); }
  bool waiting() const { return state_.waiting(side_); }
  bool maybe_ready() const { return state_.maybe_ready(side_); }
  void drained() { state_.drained(side_); }

 private:
  FdState& state_;
  FdState::Side side_;
};

// Fairness, asked before every I/O call on an fd (a socket's, a file object's; the hooks'
// next): a greenlet that has run past the hub's budget without waiting yields until the hub
// has polled for I/O, even when its call could complete at once. Without it, one client
// streaming into a greenlet whose socket always has data starves every other greenlet of the
// hub (docs/benchmarks.md). A switch point: a kill or Timeout due is thrown here.
void yield_if_over_budget();

}  // namespace gevent::detail
