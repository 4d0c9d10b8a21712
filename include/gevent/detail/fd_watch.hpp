// Waiting for one file descriptor to become readable or writable: the building block of
// sockets, file objects and wait_read/wait_write. The loop watcher is created on the first
// wait and kept between waits, so a busy socket costs no allocation per wait.
#pragma once

#include <memory>
#include <system_error>

#include "gevent/detail/hub_bound.hpp"
#include "gevent/duration.hpp"
#include "gevent/loop.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class Waiter;

class FdWatch final : public HubBound {
 public:
  // events: loop::READ or loop::WRITE (or both).
  FdWatch(int fd, int events) : fd_(fd), events_(events) {}
  ~FdWatch();

  // Suspends the calling greenlet until the fd is ready, `timeout` passes
  // (std::errc::timed_out) or cancel() is called (its reason). Returns an empty error_code
  // when ready. Kill and gevent::Timeout propagate as exceptions. One greenlet at a time:
  // a second one throws gevent::ConcurrentObjectUseError. From the hub:
  // BlockingSwitchOutError.
  std::error_code wait(MaybeDuration timeout);

  // Wakes the greenlet waiting in wait(), if any, which returns `reason`. Returns whether
  // one was waiting. Callable from any greenlet or the hub of the same thread.
  bool cancel(std::error_code reason);

  // Drops the loop watcher; call before the fd is closed (libuv insists). Cancel a waiter
  // first. The next wait() on a new fd (set_fd) creates a new watcher.
  void release();
  void set_fd(int fd) {
    release();
    fd_ = fd;
  }

  int fd() const { return fd_; }
  bool waiting() const { return waiter_ != nullptr; }

 private:
  void hub_closing() override;
  void bind_to(Hub& hub);
  void on_ready();

  int fd_;
  int events_;
  Hub* hub_ = nullptr;
  std::unique_ptr<loop::IoWatcher> watcher_;
  Waiter* waiter_ = nullptr;
  std::error_code reason_;
};

}  // namespace gevent::detail
