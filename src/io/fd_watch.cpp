#include "gevent/detail/fd_watch.hpp"

#include "gevent/detail/waiter.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"

namespace gevent::detail {

FdWatch::~FdWatch() { release(); }

void FdWatch::release() {
  watcher_.reset();
  if (hub_) hub_->detach(*this);
  hub_ = nullptr;
}

void FdWatch::hub_closing() {
  watcher_.reset();
  hub_ = nullptr;
}

void FdWatch::bind_to(Hub& hub) {
  release();
  watcher_ = hub.loop().io(fd_, events_, [this](int) { on_ready(); });
  hub_ = &hub;
  hub.attach(*this);
}

// The watcher stays active until the woken greenlet runs and stops it: stopping it here
// would let the loop drop the fd from epoll (and add it back at the next wait) whenever the
// loop is polled between this wake-up and the greenlet's turn, two epoll_ctl calls per wait.
void FdWatch::on_ready() {
  if (waiter_) waiter_->wake();
}

std::error_code FdWatch::wait(MaybeDuration timeout) {
  Hub& hub = Hub::current();
  if (hub.in_hub()) Hub::throw_blocking_in_hub("waiting for a file descriptor");
  if (waiter_)
    throw ConcurrentObjectUseError(
        "gevent: another greenlet is already waiting for this file descriptor (fd " +
        std::to_string(fd_) + ")");
  if (hub_ != &hub || !watcher_) bind_to(hub);
  Waiter waiter;
  waiter_ = &waiter;
  reason_.clear();
  struct Done {
    FdWatch& watch;
    ~Done() {
      watch.waiter_ = nullptr;
      if (watch.watcher_) watch.watcher_->stop();
    }
  } done{*this};
  watcher_->start();
  if (!waiter.wait(timeout)) return std::make_error_code(std::errc::timed_out);
  return reason_;
}

bool FdWatch::cancel(std::error_code reason) {
  if (!waiter_) return false;
  reason_ = reason;
  if (watcher_) watcher_->stop();
  waiter_->wake();
  return true;
}

}  // namespace gevent::detail
