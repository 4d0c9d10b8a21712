#include "monkey/fd_wait.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <new>
#include <system_error>

#include "fd/fd_table.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

namespace gevent::monkey::detail {
namespace {

// Kinds by fd number, for the fds below kCached (the rest ask fstat every time). Untouched
// pages cost nothing.
constexpr int kCached = 1 << 20;
std::atomic<FdKind> kinds[kCached];

FdKind classify(int fd) {
  struct stat st;
  if (sys::fstat(fd, &st) != 0) return FdKind::passthrough;  // the call reports EBADF
  if (S_ISSOCK(st.st_mode)) return FdKind::socket;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISLNK(st.st_mode))
    return FdKind::passthrough;
  return FdKind::waitable;  // FIFOs, character devices, anonymous inodes (eventfd, timerfd)
}

}  // namespace

FdKind refresh_fd_kind(int fd) {
  const FdKind kind = classify(fd);
  if (fd >= 0 && fd < kCached && kind != FdKind::passthrough)
    kinds[fd].store(kind, std::memory_order_relaxed);
  return kind;
}

FdKind fd_kind(int fd) {
  if (fd < 0 || fd >= kCached) return classify(fd);
  const FdKind kind = kinds[fd].load(std::memory_order_relaxed);
  return kind != FdKind::unknown ? kind : refresh_fd_kind(fd);
}

void forget_fd_kind(int fd) {
  if (fd >= 0 && fd < kCached) kinds[fd].store(FdKind::unknown, std::memory_order_relaxed);
}

bool user_nonblocking(int fd) {
  const int flags = sys::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK);
}

MaybeDuration socket_timeout(int fd, int option) {
  timeval tv{};
  socklen_t size = sizeof tv;
  if (sys::getsockopt(fd, SOL_SOCKET, option, &tv, &size) != 0) return {};
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return {};
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

Outcome wait_fd(Hub& hub, int fd, gevent::detail::FdState::Side side,
                gevent::detail::Deadline& deadline) {
  try {
    gevent::detail::FdSetWait wait(hub, 1, gevent::detail::FdWait::Kind::raw);
    if (wait.watch_side(fd, side)) return Outcome::closed;
    switch (wait.wait_nothrow(deadline.remaining())) {
      case gevent::detail::WaitResult::woken:
        return wait.cancelled() ? Outcome::closed : Outcome::ready;
      case gevent::detail::WaitResult::timed_out:
        return Outcome::timed_out;
      case gevent::detail::WaitResult::interrupted:
        return Outcome::interrupted;
    }
  } catch (const std::system_error& e) {
    errno = e.code().value();
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  }
  return Outcome::failed;
}

Outcome BlockingCall::wait() {
  if (!deadline_)
    deadline_.emplace(
        socket_timeout(fd_, side_ == gevent::detail::FdState::kRead ? SO_RCVTIMEO : SO_SNDTIMEO));
  return wait_fd(hub_, fd_, side_, *deadline_);
}

bool ready_now(int fd, short events) {
  pollfd p{fd, events, 0};
  return sys::poll(&p, 1, 0) != 0;
}

ssize_t fail(Outcome outcome, int timeout_errno) {
  switch (outcome) {
    case Outcome::timed_out:
      errno = timeout_errno;
      break;
    case Outcome::interrupted:
      errno = kInterrupted;
      break;
    case Outcome::closed:
    case Outcome::ready:
      errno = EBADF;
      break;
    case Outcome::failed:
      break;
  }
  return -1;
}

}  // namespace gevent::monkey::detail
