// patch_socket(), the calls that move several messages or a file at once: sendmmsg, recvmmsg
// and sendfile to a socket, each as its blocking form makes it, waiting only its greenlet.
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

#include <chrono>
#include <optional>

#include "gevent/monkey.hpp"
#include "monkey/fd_wait.hpp"
#include "monkey/socket_calls.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Hub;
using gevent::detail::FdState;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

// A blocking sendmmsg sends every message. On a stream socket each goes whole (send_msg), as
// the next must not start after a part of this one.
int send_messages(Hub& hub, int fd, mmsghdr* messages, unsigned count, int flags) {
  if (!take_turn(hub)) return static_cast<int>(interrupted());
  const bool stream = is_stream_socket(fd);
  BlockingCall call(hub, fd, FdState::kWrite);
  unsigned sent = 0;
  while (sent < count) {
    if (stream) {
      const msghdr& message = messages[sent].msg_hdr;
      const ssize_t n = send_msg(hub, fd, &message, flags);
      if (n < 0) return sent > 0 ? static_cast<int>(sent) : -1;
      messages[sent++].msg_len = static_cast<unsigned>(n);
      // A part of a message (a timeout or error came) ends the call: the next must not follow it.
      if (static_cast<size_t>(n) < total_length(message)) break;
      continue;
    }
    const ssize_t n = retry(call, [&] {
      return sys::sendmmsg(fd, messages + sent, count - sent, flags | MSG_DONTWAIT);
    });
    if (n < 0) return sent > 0 ? static_cast<int>(sent) : -1;
    sent += static_cast<unsigned>(n);
    if (n == 0 || user_nonblocking(fd)) break;
  }
  return static_cast<int>(sent);
}

// A blocking recvmmsg waits for the first message, then for more until it has `count`, the
// timeout (if given) has passed, or, with MSG_WAITFORONE, at once. As the kernel's, the
// timeout is looked at after each message (a wait for the next may run past it; recvmmsg(2),
// BUGS) and is not written back. An error after some messages ends the call with their count.
int receive_messages(Hub& hub, int fd, mmsghdr* messages, unsigned count, int flags,
                     const timespec* timeout) {
  if (!take_turn(hub)) return static_cast<int>(interrupted());
  std::optional<std::chrono::steady_clock::time_point> until;
  if (timeout) until = std::chrono::steady_clock::now() + duration_of(*timeout);
  BlockingCall call(hub, fd, FdState::kRead);
  const auto attempt = [&](unsigned got) {
    return sys::recvmmsg(fd, messages + got, count - got, (flags & ~MSG_WAITFORONE) | MSG_DONTWAIT,
                         nullptr);
  };
  ssize_t n = retry(call, [&] { return attempt(0); });
  if (n <= 0 || (flags & MSG_WAITFORONE) || user_nonblocking(fd)) return static_cast<int>(n);
  auto got = static_cast<unsigned>(n);
  while (got < count && !(until && std::chrono::steady_clock::now() >= *until)) {
    n = attempt(got);
    if (n > 0) {
      got += static_cast<unsigned>(n);
    } else if (n < 0 && would_block(errno)) {
      if (call.wait() != Outcome::ready) break;
    } else {
      break;
    }
  }
  return static_cast<int>(got);
}

// A blocking sendfile to a socket: all of `count` sent, or a part after a timeout or error.
ssize_t send_file(Hub& hub, int out_fd, int in_fd, off_t* offset, size_t count) {
  if (!take_turn(hub)) return interrupted();
  BlockingCall call(hub, out_fd, FdState::kWrite);
  size_t sent = 0;
  while (sent < count) {
    const ssize_t n = retry(call, [&] {
      return with_nonblocking(out_fd,
                              [&] { return sys::sendfile(out_fd, in_fd, offset, count - sent); });
    });
    if (n < 0) return sent > 0 ? static_cast<ssize_t>(sent) : n;
    if (n == 0) break;  // the end of the input
    sent += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(sent);
}

}  // namespace

namespace gevent::monkey::detail {
void link_socket_batch_hooks() {}
}  // namespace gevent::monkey::detail

extern "C" {

int sendmmsg(int fd, mmsghdr* messages, unsigned count, int flags) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT) || count == 0)
    return sys::sendmmsg(fd, messages, count, flags);
  return send_messages(*hub, fd, messages, count, flags);
}

int recvmmsg(int fd, mmsghdr* messages, unsigned count, int flags, timespec* timeout) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT) || count == 0 || (timeout && !valid_timespec(*timeout)))
    return sys::recvmmsg(fd, messages, count, flags, timeout);
  return receive_messages(*hub, fd, messages, count, flags, timeout);
}

ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  Hub* hub = cooperative_hub(kSocket);
  const int flags = hub ? sys::fcntl(out_fd, F_GETFL) : -1;
  if (flags < 0 || (flags & O_NONBLOCK) || fd_kind(out_fd) != FdKind::socket)
    return sys::sendfile(out_fd, in_fd, offset, count);
  return send_file(*hub, out_fd, in_fd, offset, count);
}

// _FILE_OFFSET_BITS=64's name for it (the same call on x86-64).
ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) {
  return sendfile(out_fd, in_fd, offset, count);
}

}  // extern "C"
