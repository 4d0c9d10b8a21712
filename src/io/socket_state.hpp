// What a gevent::socket holds, shared with the rest of the io layer (TLS, servers).
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "fd/deadline.hpp"
#include "fd/fd_state.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/duration.hpp"
#include "gevent/socket.hpp"

namespace gevent::detail {

struct SocketState;

// TLS on top of a socket: recv and send go through it once a socket is wrapped.
class TlsLayer {
 public:
  virtual ~TlsLayer() = default;
  virtual std::size_t recv(SocketState& s, std::span<char> buf, Deadline& deadline,
                           std::error_code& ec) = 0;
  virtual std::size_t send(SocketState& s, std::string_view data, Deadline& deadline,
                           std::error_code& ec) = 0;
};

// Aligned, and what every recv and send reads first, so that an operation touches three cache
// lines of it, not four or five (it matters with a thousand connections in turn).
struct alignas(64) SocketState {
  int fd = -1;
  int family = AF_UNSPEC;
  int type = 0;
  std::unique_ptr<TlsLayer> tls;
  MaybeDuration timeout;
  SideWatch read_watch{io, FdState::kRead};
  SideWatch write_watch{io, FdState::kWrite};
  FdState io;  // in the hub's fd table once the socket first waits

  void adopt(int new_fd) {
    fd = new_fd;
    io.set_fd(new_fd);
  }
  // Wakes the greenlets waiting on the fd with `reason`, drops TLS, leaves the fd table (which
  // must happen before the fd is closed) and forgets the fd, which it returns to be closed or
  // handed on.
  int release_fd(std::error_code reason) {
    read_watch.cancel(reason);
    write_watch.cancel(reason);
    tls.reset();
    const int old = fd;
    adopt(-1);
    return old;
  }
  // Waits for `watch` within what is left of `deadline`; errc::operation_would_block at once
  // for a non-blocking socket.
  std::error_code wait(SideWatch& watch, Deadline& deadline);
};

// recv within `deadline` (socket::recv's core).
std::size_t recv_within(SocketState& s, std::span<char> buf, int flags, Deadline& deadline,
                        std::error_code& ec);
// A recv that never waits: errc::operation_would_block when nothing can be read now. A plain
// socket whose last read emptied it says so without the syscall, which is right while it is
// in the fd table (its next edge ends the hint): a server's connection, parked in between.
std::size_t recv_now(SocketState& s, std::span<char> buf, std::error_code& ec);

// What a gevent::socket holds, for the io layer (TLS); applications cannot reach it.
struct SocketAccess {
  static SocketState& of(const gevent::socket& sock) { return *sock.state_; }
};

inline std::error_code last_os_error() { return {errno, std::system_category()}; }
inline bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// Runs attempt(fd), a non-blocking syscall returning -1 with errno on failure, until it
// succeeds, fails with something other than EAGAIN/EINTR, or waiting on `watch` fails.
// Returns the syscall's result, or 0 with ec set.
template <class Attempt>
std::size_t retry_io(SocketState& s, SideWatch& watch, Deadline& deadline, std::error_code& ec,
                     Attempt attempt) {
  yield_if_over_budget();
  for (;;) {
    if (s.fd < 0) {
      ec = std::make_error_code(std::errc::bad_file_descriptor);
      return 0;
    }
    // A non-blocking socket never waits in the fd table, so no edge would end the hint.
    if (!watch.maybe_ready() && !deadline.nonblocking() && (ec = s.wait(watch, deadline))) return 0;
    const auto n = attempt(s.fd);
    if (n >= 0) {
      ec.clear();
      return static_cast<std::size_t>(n);
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) {
      ec.assign(err, std::system_category());
      return 0;
    }
    if ((ec = s.wait(watch, deadline))) return 0;
  }
}

template <class Attempt>
std::size_t retry_io(SocketState& s, SideWatch& watch, std::error_code& ec, Attempt attempt) {
  Deadline deadline(s.timeout);
  return retry_io(s, watch, deadline, ec, attempt);
}

[[noreturn]] void throw_io_error(std::error_code ec, const char* what);
inline void throw_if(std::error_code ec, const char* what) {
  if (ec) throw_io_error(ec, what);
}

}  // namespace gevent::detail
