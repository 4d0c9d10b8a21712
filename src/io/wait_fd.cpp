// wait_read / wait_write / cancel_wait on raw file descriptors, through the hub's fd table
// like every other wait on an fd (fd/fd_table.hpp).
#include <poll.h>

#include <cerrno>

#include "fd/fd_table.hpp"
#include "gevent/hub.hpp"
#include "gevent/socket.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"

namespace gevent {
namespace {

// Whether fd is ready now. Edges reported before the wait began are gone, so this looks
// first, as a level-triggered watcher would.
bool ready_now(int fd, bool read, bool write, const char* what) {
  pollfd p{fd, static_cast<short>((read ? POLLIN : 0) | (write ? POLLOUT : 0)), 0};
  while (sys::poll(&p, 1, 0) < 0)
    if (errno != EINTR) detail::throw_io_error(detail::last_os_error(), what);
  if (p.revents & POLLNVAL)
    detail::throw_io_error(std::make_error_code(std::errc::bad_file_descriptor), what);
  return p.revents != 0;
}

void wait_fd(int fd, bool read, bool write, MaybeDuration timeout, const char* what) {
  Hub& hub = Hub::current();
  if (hub.in_hub()) Hub::throw_blocking_in_hub("waiting for a file descriptor");
  if (ready_now(fd, read, write, what)) return hub.yield();  // a switch point all the same
  detail::FdSetWait wait(hub, 2, detail::FdWait::Kind::raw);
  std::error_code error;
  if (read) error = wait.watch_side(fd, detail::FdState::kRead);
  if (!error && write) error = wait.watch_side(fd, detail::FdState::kWrite);
  if (!error)
    error = wait.wait(timeout) ? wait.cancelled() : std::make_error_code(std::errc::timed_out);
  detail::throw_if(error, what);
}

}  // namespace

void wait_read(int fd, MaybeDuration timeout) { wait_fd(fd, true, false, timeout, "wait_read"); }

void wait_write(int fd, MaybeDuration timeout) { wait_fd(fd, false, true, timeout, "wait_write"); }

void wait_readwrite(int fd, MaybeDuration timeout) {
  wait_fd(fd, true, true, timeout, "wait_readwrite");
}

int cancel_wait(int fd, std::error_code reason) {
  Hub* hub = Hub::current_if_exists();
  return hub ? detail::cancel_waits(*hub, fd, reason, true) : 0;
}

}  // namespace gevent
