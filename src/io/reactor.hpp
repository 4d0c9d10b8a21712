// The sockets' reactor: one edge-triggered epoll set per hub, watched by the hub's loop
// through a single IoWatcher on the epoll fd.
//
// Why not one loop IoWatcher per socket: libev and libuv both use level-triggered epoll,
// which re-polls every fd reported by the previous epoll_wait and, when a watcher is stopped
// at the wrong moment, removes and re-adds the fd (two epoll_ctl calls). An edge-triggered
// set registers each socket once (EPOLL_CTL_ADD at its first wait, EPOLL_CTL_DEL at close)
// and touches it in between at most once (EPOLL_CTL_MOD, at the first wait to write). Measured with
// bench/echo.sh (see docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <memory>
#include <system_error>

#include "gevent/detail/intrusive_list.hpp"
#include "gevent/duration.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class Reactor;
class Waiter;

// One socket fd in its hub's reactor, with a waiting greenlet per direction.
class Registration final {
 public:
  enum Side { kRead = 0, kWrite = 1 };

  Registration() = default;
  ~Registration() { release(); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Suspends the calling greenlet until the fd becomes ready for `side` (an edge reported
  // after the call began), `timeout` passes (errc::timed_out) or cancel() (its reason).
  // Call it after the operation failed with EAGAIN. One greenlet per side at a time
  // (ConcurrentObjectUseError); from the hub: BlockingSwitchOutError.
  std::error_code wait(Side side, MaybeDuration timeout);
  // Wakes the greenlet waiting on `side`, if any, with `reason`; returns whether one was.
  bool cancel(Side side, std::error_code reason);
  bool waiting(Side side) const { return sides_[side].waiter != nullptr; }

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

  // Leaves the reactor (EPOLL_CTL_DEL); call before the fd is closed or handed on.
  void release();
  void set_fd(int fd) {
    release();
    fd_ = fd;
  }
  int fd() const { return fd_; }

 private:
  friend class Reactor;
  struct SideState {
    Waiter* waiter = nullptr;
    std::error_code reason;
    bool maybe_ready = true;
  };
  void on_events(std::uint32_t events);
  static void ready(SideState& side);
  // Joins `hub`'s reactor, watching writability only if `side` is kWrite.
  void join(Hub& hub, Side side);
  std::uint32_t interest() const;

  int fd_ = -1;
  bool hung_up_ = false;  // EPOLLRDHUP, EPOLLHUP or EPOLLERR seen since the fd joined
  // EPOLLOUT is asked for from the first wait for writability on: most sockets never wait to
  // write, and with EPOLLOUT every ACK that frees send buffer would report them
  // (bench/http.sh: a fast server then saw two events per keep-alive request).
  bool watch_writable_ = false;
  Hub* hub_ = nullptr;
  Reactor* reactor_ = nullptr;
  SideState sides_[2];
  ListHook<Registration> in_reactor_;  // the reactor's list, to re-register after fork()
};

// One direction of a Registration, what a socket's read_watch / write_watch is.
class SideWatch {
 public:
  SideWatch(Registration& registration, Registration::Side side)
      : registration_(registration), side_(side) {}
  std::error_code wait(MaybeDuration timeout) { return registration_.wait(side_, timeout); }
  bool cancel(std::error_code reason) { return registration_.cancel(side_, reason); }
  bool waiting() const { return registration_.waiting(side_); }
  bool maybe_ready() const { return registration_.maybe_ready(side_); }
  void drained() { registration_.drained(side_); }

 private:
  Registration& registration_;
  Registration::Side side_;
};

}  // namespace gevent::detail
