// How a hooked call on an fd becomes cooperative: what kind of fd it is, whether the program
// asked for blocking, and the wait itself (the fd layer's FdSetWait, which does not throw).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "fd/deadline.hpp"
#include "fd/fd_state.hpp"
#include "gevent/duration.hpp"
#include "gevent/hub.hpp"
#include "monkey/state.hpp"

namespace gevent::monkey::detail {

enum class FdKind : std::uint8_t {
  unknown,
  socket,       // recv/send with MSG_DONTWAIT, then wait
  waitable,     // a pipe, FIFO, tty, eventfd...: wait for readiness, then the call itself
  passthrough,  // a regular file, directory or block device: always ready
};

// The fd's kind, from a cache by fd number (fstat on a miss). The cache can be stale when an
// fd was closed behind the hooks (glibc's internal close): every user of a kind survives a
// stale one (a socket call on a non-socket fails with ENOTSOCK, and the caller asks again).
FdKind fd_kind(int fd);
FdKind refresh_fd_kind(int fd);
void forget_fd_kind(int fd);

// Whether the program made the fd non-blocking (O_NONBLOCK as F_GETFL shows it).
bool user_nonblocking(int fd);
// The socket's SO_RCVTIMEO or SO_SNDTIMEO: none when unset (or not a socket).
MaybeDuration socket_timeout(int fd, int option);

enum class Outcome { ready, timed_out, interrupted, closed, failed /* errno says why */ };
// Suspends the calling greenlet until `fd` is ready for `side` (an edge after the call),
// the deadline passes, a kill or Timeout is due, or the fd is closed (close, dup2).
Outcome wait_fd(Hub& hub, int fd, gevent::detail::FdState::Side side,
                gevent::detail::Deadline& deadline);
// -1 with the errno a blocking call gives for `outcome`: EAGAIN when a timeout passed (or
// `timeout_errno`), ECANCELED for a kill or Timeout, EBADF for a closed fd; errno as it is
// for a failure of the wait itself (ENOMEM, or the kernel's refusal to watch the fd).
ssize_t fail(Outcome outcome, int timeout_errno = EAGAIN);

// Whether fd is ready for `events` now (poll with a zero timeout); an error counts as ready,
// so that the call itself reports it.
bool ready_now(int fd, short events);

// Fairness for hooked calls (fd_state.hpp's yield_if_over_budget, which throws): a greenlet
// past the hub's budget yields until the hub has polled. False when a kill or Timeout is due.
inline bool take_turn(Hub& hub) {
  if (hub.current_greenlet().has_pending()) return false;
  return !hub.run_budget_spent() || hub.yield_nothrow(true);
}

// A blocking call that may wait several times, with one deadline: the socket's timeout for
// its direction (SO_RCVTIMEO or SO_SNDTIMEO), read at the first wait.
class BlockingCall {
 public:
  BlockingCall(Hub& hub, int fd, gevent::detail::FdState::Side side)
      : hub_(hub), fd_(fd), side_(side) {}
  Outcome wait();
  int fd() const { return fd_; }

 private:
  Hub& hub_;
  int fd_;
  gevent::detail::FdState::Side side_;
  std::optional<gevent::detail::Deadline> deadline_;  // from the first wait on
};

// Runs `attempt`, the call in a form that never blocks, until it does not fail with EAGAIN:
// at once when the program made the fd non-blocking, else after waiting as the blocking call
// would have.
template <class Attempt>
ssize_t retry(BlockingCall& call, Attempt attempt) {
  ssize_t n = attempt();
  if (n >= 0 || !would_block(errno) || user_nonblocking(call.fd())) return n;
  for (;;) {
    if (const Outcome outcome = call.wait(); outcome != Outcome::ready) return fail(outcome);
    n = attempt();
    if (n >= 0 || !would_block(errno)) return n;
  }
}

}  // namespace gevent::monkey::detail
