#include "io/fd_io.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

#include "sys/libc.hpp"

namespace gevent::detail {

// SIGPIPE is blocked for this thread around the write; the one the write raised (not one
// that was pending already) is then taken back with sigtimedwait, so no handler sees it.
ssize_t write_without_sigpipe(int fd, const void* buf, size_t n) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t written = sys::write(fd, buf, n);
  const int err = errno;
  if (written < 0 && err == EPIPE && !was_pending) {
    const timespec no_wait{};
    while (sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = err;
  return written;
}

}  // namespace gevent::detail
