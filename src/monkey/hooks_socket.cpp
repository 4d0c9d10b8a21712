// patch_socket(): the data calls on sockets, pipes, FIFOs, ttys and eventfds, connect,
// accept, and close/dup2/dup3.
//
// Socket I/O runs with MSG_DONTWAIT (read and write on a socket as recv and send), so the
// fd's O_NONBLOCK is never changed and F_GETFL shows what the program set. Other waitable fds
// are waited on for readiness first, then called. connect and accept, which have no per-call
// flag, set O_NONBLOCK for the one call and put it back.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "fd/fd_table.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/monkey.hpp"
#include "monkey/fd_wait.hpp"
#include "monkey/socket_calls.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Hub;
using gevent::detail::FdState;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace gevent::monkey::detail {

bool is_stream_socket(int fd) {
  int type = 0;
  socklen_t size = sizeof type;
  return sys::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM;
}

ssize_t interrupted() { return fail(Outcome::interrupted); }

size_t total_length(const msghdr& msg) {
  size_t total = 0;
  for (size_t i = 0; i < msg.msg_iovlen; ++i) total += msg.msg_iov[i].iov_len;
  return total;
}

}  // namespace gevent::monkey::detail

namespace {

constexpr auto kRead = FdState::kRead;
constexpr auto kWrite = FdState::kWrite;

// --- sockets ---

ssize_t recv_from(Hub& hub, int fd, void* buf, size_t len, int flags, sockaddr* from,
                  socklen_t* fromlen) {
  if (!take_turn(hub)) return interrupted();
  BlockingCall call(hub, fd, kRead);
  const auto once = [&](size_t done) {
    return retry(call, [&] {
      return sys::recvfrom(fd, static_cast<char*>(buf) + done, len - done,
                           (flags & ~MSG_WAITALL) | MSG_DONTWAIT, from, fromlen);
    });
  };
  ssize_t n = once(0);
  // MSG_WAITALL: a blocking stream recv returns once it has it all, or at the end of stream,
  // an error or a timeout, with what it has.
  if (!(flags & MSG_WAITALL) || n <= 0 || static_cast<size_t>(n) == len || !is_stream_socket(fd))
    return n;
  size_t done = static_cast<size_t>(n);
  while (done < len) {
    n = once(done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

// A blocking stream send returns once everything is sent (or a timeout or error came after a
// part: then the part's count); a datagram goes whole or not at all.
ssize_t send_to(Hub& hub, int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                socklen_t tolen) {
  if (!take_turn(hub)) return interrupted();
  BlockingCall call(hub, fd, kWrite);
  size_t done = 0;
  for (;;) {
    const ssize_t n = retry(call, [&] {
      return sys::sendto(fd, static_cast<const char*>(buf) + done, len - done, flags | MSG_DONTWAIT,
                         to, tolen);
    });
    if (n < 0) return done > 0 ? static_cast<ssize_t>(done) : n;
    done += static_cast<size_t>(n);
    if (done >= len || n == 0 || user_nonblocking(fd)) return static_cast<ssize_t>(done);
  }
}

ssize_t recv_msg(Hub& hub, int fd, msghdr* msg, int flags) {
  if (!take_turn(hub)) return interrupted();
  BlockingCall call(hub, fd, kRead);
  return retry(call, [&] { return sys::recvmsg(fd, msg, flags | MSG_DONTWAIT); });
}

// The iovecs of `msg` after the first `sent` bytes.
std::vector<iovec> rest_of(const msghdr& msg, size_t sent) {
  std::vector<iovec> rest;
  for (size_t i = 0; i < msg.msg_iovlen; ++i) {
    iovec part = msg.msg_iov[i];
    const size_t skip = std::min(sent, part.iov_len);
    sent -= skip;
    part.iov_base = static_cast<char*>(part.iov_base) + skip;
    part.iov_len -= skip;
    if (part.iov_len > 0) rest.push_back(part);
  }
  return rest;
}

// EAGAIN from connect: a Unix socket's listener has a full backlog. The blocking call waits
// on the listener, which no readiness of this fd reports, for up to SO_SNDTIMEO, then fails
// with EAGAIN: look again after 1 ms, then at most every 10 ms, until that timeout.
int connect_past_full_backlog(int fd, const sockaddr* addr, socklen_t len) {
  gevent::detail::Deadline deadline(socket_timeout(fd, SO_SNDTIMEO));
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    const gevent::MaybeDuration left = deadline.remaining();
    if (left && left.value() == gevent::Duration::zero()) {
      errno = EAGAIN;
      return -1;
    }
    gevent::detail::Waiter timer({"connect past a full backlog (polling)",
                                  gevent::detail::WaitTopic::Subject::fd,
                                  static_cast<std::uintptr_t>(fd)});
    const gevent::Duration nap =
        left ? std::min<gevent::Duration>(left.value(), pause) : gevent::Duration(pause);
    if (timer.wait_nothrow(nap) == gevent::detail::WaitResult::interrupted)
      return static_cast<int>(interrupted());
    pause = std::min(pause * 2, std::chrono::milliseconds(10));
    const int result = with_nonblocking(fd, [&] { return sys::connect(fd, addr, len); });
    if (result == 0 || errno != EAGAIN) return result;
  }
}

int connect_cooperatively(Hub& hub, int fd, const sockaddr* addr, socklen_t len) {
  if (!take_turn(hub)) return static_cast<int>(interrupted());
  int result = with_nonblocking(fd, [&] { return sys::connect(fd, addr, len); });
  if (result < 0 && errno == EAGAIN) result = connect_past_full_backlog(fd, addr, len);
  if (result == 0 || errno != EINPROGRESS) return result;
  BlockingCall call(hub, fd, kWrite);
  Outcome outcome;
  do {
    outcome = call.wait();
  } while (outcome == Outcome::ready && !ready_now(fd, POLLOUT));
  // socket(7): connect that runs past SO_SNDTIMEO fails with EINPROGRESS.
  if (outcome != Outcome::ready) return static_cast<int>(fail(outcome, EINPROGRESS));
  int error = 0;
  socklen_t size = sizeof error;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return -1;
  if (error == 0) return 0;
  errno = error;
  return -1;
}

int accept_cooperatively(Hub& hub, int fd, sockaddr* addr, socklen_t* len, int accept_flags) {
  if (!take_turn(hub)) return static_cast<int>(interrupted());
  BlockingCall call(hub, fd, kRead);
  return static_cast<int>(retry(call, [&] {
    return with_nonblocking(fd, [&] { return sys::accept4(fd, addr, len, accept_flags); });
  }));
}

// --- pipes, FIFOs, ttys, eventfds ---

// The call once the fd is ready for `side` (or at once, when the program made it
// non-blocking: then it reports EAGAIN itself).
template <class Call>
ssize_t when_ready(Hub& hub, int fd, FdState::Side side, Call call) {
  if (!take_turn(hub)) return interrupted();
  const short events = side == kRead ? POLLIN : POLLOUT;
  if (ready_now(fd, events) || user_nonblocking(fd)) return call();
  gevent::detail::Deadline forever({});
  do {
    if (const Outcome outcome = wait_fd(hub, fd, side, forever); outcome != Outcome::ready)
      return fail(outcome);
  } while (!ready_now(fd, events));
  return call();
}

// Writable means room for PIPE_BUF bytes: a blocking write is made of pieces that size, each
// of which cannot block, so that writes of up to PIPE_BUF stay atomic.
ssize_t write_waitable(Hub& hub, int fd, const void* buf, size_t len) {
  if (user_nonblocking(fd)) return sys::write(fd, buf, len);
  size_t done = 0;
  do {
    const size_t piece = std::min<size_t>(len - done, PIPE_BUF);
    const ssize_t n = when_ready(hub, fd, kWrite, [&] {
      return sys::write(fd, static_cast<const char*>(buf) + done, piece);
    });
    if (n < 0) return done > 0 ? static_cast<ssize_t>(done) : n;
    done += static_cast<size_t>(n);
  } while (done < len);
  return static_cast<ssize_t>(done);
}

// read/write/readv/writev: by the fd's kind; a socket call on what turns out not to be a
// socket any more (ENOTSOCK) asks again.
template <class OnSocket, class OnOther, class Original>
ssize_t by_kind(int fd, OnSocket on_socket, OnOther on_other, Original original) {
  FdKind kind = fd_kind(fd);
  if (kind == FdKind::socket) {
    const ssize_t n = on_socket();
    if (n >= 0 || errno != ENOTSOCK) return n;
    kind = refresh_fd_kind(fd);
  }
  return kind == FdKind::waitable ? on_other() : original();
}

void forget(int fd) {
  if (Hub* hub = Hub::current_if_exists()) gevent::detail::forget_fd(*hub, fd);
  forget_fd_kind(fd);
}

// readv/writev's vector as a message for recvmsg/sendmsg.
msghdr message_of(const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  return msg;
}

}  // namespace

namespace gevent::monkey::detail {

ssize_t send_msg(Hub& hub, int fd, const msghdr* msg, int flags) {
  if (!take_turn(hub)) return interrupted();
  BlockingCall call(hub, fd, FdState::kWrite);
  ssize_t n = retry(call, [&] { return sys::sendmsg(fd, msg, flags | MSG_DONTWAIT); });
  if (n <= 0 || static_cast<size_t>(n) >= total_length(*msg) || user_nonblocking(fd)) return n;
  size_t done = static_cast<size_t>(n);
  std::vector<iovec> rest = rest_of(*msg, done);
  msghdr more{};  // the address and ancillary data went with the first part
  while (!rest.empty()) {
    more.msg_iov = rest.data();
    more.msg_iovlen = rest.size();
    n = retry(call, [&] { return sys::sendmsg(fd, &more, flags | MSG_DONTWAIT); });
    if (n <= 0) break;
    done += static_cast<size_t>(n);
    rest = rest_of(more, static_cast<size_t>(n));
  }
  return static_cast<ssize_t>(done);
}

}  // namespace gevent::monkey::detail

namespace gevent::monkey {
void patch_socket() {
  detail::link_socket_batch_hooks();
  detail::patch(detail::kSocket);
}
}  // namespace gevent::monkey

extern "C" {

ssize_t recv(int fd, void* buf, size_t len, int flags) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT)) return sys::recv(fd, buf, len, flags);
  return recv_from(*hub, fd, buf, len, flags, nullptr, nullptr);
}

ssize_t recvfrom(int fd, void* __restrict buf, size_t len, int flags, sockaddr* __restrict from,
                 socklen_t* __restrict fromlen) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT)) return sys::recvfrom(fd, buf, len, flags, from, fromlen);
  return recv_from(*hub, fd, buf, len, flags, from, fromlen);
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT)) return sys::recvmsg(fd, msg, flags);
  return recv_msg(*hub, fd, msg, flags);
}

ssize_t send(int fd, const void* buf, size_t len, int flags) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT)) return sys::send(fd, buf, len, flags);
  return send_to(*hub, fd, buf, len, flags, nullptr, 0);
}

ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
               socklen_t tolen) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT)) return sys::sendto(fd, buf, len, flags, to, tolen);
  return send_to(*hub, fd, buf, len, flags, to, tolen);
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || (flags & MSG_DONTWAIT)) return sys::sendmsg(fd, msg, flags);
  return send_msg(*hub, fd, msg, flags);
}

ssize_t read(int fd, void* buf, size_t len) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub) return sys::read(fd, buf, len);
  return by_kind(
      fd, [&] { return recv_from(*hub, fd, buf, len, 0, nullptr, nullptr); },
      [&] { return when_ready(*hub, fd, kRead, [&] { return sys::read(fd, buf, len); }); },
      [&] { return sys::read(fd, buf, len); });
}

ssize_t write(int fd, const void* buf, size_t len) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub) return sys::write(fd, buf, len);
  return by_kind(
      fd, [&] { return send_to(*hub, fd, buf, len, 0, nullptr, 0); },
      [&] { return write_waitable(*hub, fd, buf, len); }, [&] { return sys::write(fd, buf, len); });
}

ssize_t readv(int fd, const iovec* iov, int count) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || count < 0) return sys::readv(fd, iov, count);
  msghdr msg = message_of(iov, count);
  return by_kind(
      fd, [&] { return recv_msg(*hub, fd, &msg, 0); },
      [&] { return when_ready(*hub, fd, kRead, [&] { return sys::readv(fd, iov, count); }); },
      [&] { return sys::readv(fd, iov, count); });
}

ssize_t writev(int fd, const iovec* iov, int count) {
  Hub* hub = cooperative_hub(kSocket);
  if (!hub || count < 0) return sys::writev(fd, iov, count);
  msghdr msg = message_of(iov, count);
  return by_kind(
      fd, [&] { return send_msg(*hub, fd, &msg, 0); },
      [&] { return when_ready(*hub, fd, kWrite, [&] { return sys::writev(fd, iov, count); }); },
      [&] { return sys::writev(fd, iov, count); });
}

int connect(int fd, const sockaddr* addr, socklen_t len) {
  Hub* hub = cooperative_hub(kSocket);
  const int flags = hub ? sys::fcntl(fd, F_GETFL) : -1;
  if (flags < 0 || (flags & O_NONBLOCK)) return sys::connect(fd, addr, len);
  return connect_cooperatively(*hub, fd, addr, len);
}

int accept4(int fd, sockaddr* __restrict addr, socklen_t* __restrict len, int accept_flags) {
  Hub* hub = cooperative_hub(kSocket);
  const int flags = hub ? sys::fcntl(fd, F_GETFL) : -1;
  if (flags < 0 || (flags & O_NONBLOCK)) return sys::accept4(fd, addr, len, accept_flags);
  return accept_cooperatively(*hub, fd, addr, len, accept_flags);
}

int accept(int fd, sockaddr* __restrict addr, socklen_t* __restrict len) {
  return accept4(fd, addr, len, 0);
}

int close(int fd) {
  if (patched(kSocket)) forget(fd);
  return sys::close(fd);
}

int dup2(int fd, int fd2) noexcept {
  if (patched(kSocket) && fd != fd2) forget(fd2);
  return sys::dup2(fd, fd2);
}

int dup3(int fd, int fd2, int flags) noexcept {
  if (patched(kSocket) && fd != fd2) forget(fd2);
  return sys::dup3(fd, fd2, flags);
}

// _FORTIFY_SOURCE's checked forms: the size check, then the hook.
[[noreturn]] void __chk_fail() noexcept;

ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  if (len > buflen) __chk_fail();
  return read(fd, buf, len);
}

ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) __chk_fail();
  return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void* __restrict buf, size_t len, size_t buflen, int flags,
                       sockaddr* __restrict from, socklen_t* __restrict fromlen) {
  if (len > buflen) __chk_fail();
  return recvfrom(fd, buf, len, flags, from, fromlen);
}

}  // extern "C"
