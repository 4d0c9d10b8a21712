// patch_select(): poll, ppoll, select, pselect and the epoll_wait family.
//
// Each runs first as the original with a zero timeout (which also reports bad fds). When that
// finds something, or the timeout is zero, it returns at once, after yielding if the greenlet
// has used up the hub's budget (gevent yields in every select, lest a spinning poll starve
// the hub; a budgeted yield keeps that promise without a switch per ready poll). Otherwise the
// greenlet waits on its fds in the hub's fd table, and looks again at each wake-up.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <new>
#include <system_error>

#include "fd/fd_table.hpp"
#include "gevent/monkey.hpp"
#include "monkey/fd_wait.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Duration;
using gevent::Hub;
using gevent::MaybeDuration;
using gevent::detail::FdSetWait;
using gevent::detail::WaitResult;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

MaybeDuration from_ms(int ms) {
  if (ms < 0) return {};
  return std::chrono::milliseconds(ms);
}

// A null timeout is none.
MaybeDuration from_timespec(const timespec* ts) {
  if (!ts) return {};
  return duration_of(*ts);
}

bool valid(const timespec* ts) { return !ts || valid_timespec(*ts); }

// `check()` is the call with a zero timeout: > 0 found, 0 nothing, < 0 failed. `arm(wait)`
// watches the fds; `sides` is how many it may watch.
template <class Check, class Arm>
int wait_until_ready(Hub& hub, MaybeDuration timeout, std::size_t sides, Check check, Arm arm) {
  int n = check();
  if (n != 0 || (timeout && timeout.value() == Duration::zero())) {
    SavedErrno saved;
    take_turn(hub);  // a kill or Timeout due waits for the next switch point
    return n;
  }
  try {
    FdSetWait wait(hub, sides, gevent::detail::FdWait::Kind::set);
    if (const std::error_code error = arm(wait)) {
      errno = error.value();
      return -1;
    }
    if (wait.wait_until(timeout, [&] { return (n = check()) != 0; }) == WaitResult::interrupted)
      return static_cast<int>(fail(Outcome::interrupted));
    return n;
  } catch (const std::system_error& e) {
    errno = e.code().value();
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  }
  return -1;
}

int poll_cooperatively(Hub& hub, pollfd* fds, nfds_t count, MaybeDuration timeout) {
  return wait_until_ready(
      hub, timeout, 2 * count, [&] { return sys::poll(fds, count, 0); },
      [&](FdSetWait& wait) {
        for (nfds_t i = 0; i < count; ++i)
          if (fds[i].fd >= 0)
            if (std::error_code error = wait.watch_events(fds[i].fd, fds[i].events)) return error;
        return std::error_code();
      });
}

struct FdSets {
  fd_set* sets[3];
  fd_set given[3];  // what the caller asked for; select overwrites its sets
  static constexpr short kEvents[3] = {POLLIN, POLLOUT, POLLPRI};

  FdSets(fd_set* r, fd_set* w, fd_set* e) : sets{r, w, e} {
    for (int i = 0; i < 3; ++i)
      if (sets[i]) given[i] = *sets[i];
  }
  void restore() {
    for (int i = 0; i < 3; ++i)
      if (sets[i]) *sets[i] = given[i];
  }
  std::size_t count(int nfds) const {
    std::size_t n = 0;
    for (int i = 0; i < 3; ++i)
      if (sets[i])
        for (int fd = 0; fd < nfds; ++fd) n += FD_ISSET(fd, &given[i]) ? 1 : 0;
    return n;
  }
  std::error_code arm(FdSetWait& wait, int nfds) const {
    for (int i = 0; i < 3; ++i)
      if (sets[i])
        for (int fd = 0; fd < nfds; ++fd)
          if (FD_ISSET(fd, &given[i]))
            if (std::error_code error = wait.watch_events(fd, kEvents[i])) return error;
    return {};
  }
};

int select_cooperatively(Hub& hub, int nfds, FdSets& sets, MaybeDuration timeout) {
  return wait_until_ready(
      hub, timeout, sets.count(nfds),
      [&] {
        sets.restore();
        timeval zero{};
        return sys::select(nfds, sets.sets[0], sets.sets[1], sets.sets[2], &zero);
      },
      [&](FdSetWait& wait) { return sets.arm(wait, nfds); });
}

int epoll_cooperatively(Hub& hub, int epfd, epoll_event* events, int max, MaybeDuration timeout) {
  return wait_until_ready(
      hub, timeout, 1, [&] { return sys::epoll_wait(epfd, events, max, 0); },
      [&](FdSetWait& wait) { return wait.watch_side(epfd, gevent::detail::FdState::kRead); });
}

}  // namespace

namespace gevent::monkey {
void patch_select() { detail::patch(detail::kSelect); }
}  // namespace gevent::monkey

extern "C" {

int poll(pollfd* fds, nfds_t count, int timeout_ms) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub) return sys::poll(fds, count, timeout_ms);
  return poll_cooperatively(*hub, fds, count, from_ms(timeout_ms));
}

// A signal mask to apply during the wait would apply to every greenlet of the thread: with
// one, these are the original calls.
int ppoll(pollfd* fds, nfds_t count, const timespec* timeout, const sigset_t* mask) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub || mask || !valid(timeout)) return sys::ppoll(fds, count, timeout, mask);
  return poll_cooperatively(*hub, fds, count, from_timespec(timeout));
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* timeout) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub || nfds < 0 || nfds > FD_SETSIZE ||
      (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0)))
    return sys::select(nfds, r, w, e, timeout);
  MaybeDuration limit;
  if (timeout)
    limit = std::chrono::seconds(timeout->tv_sec) + std::chrono::microseconds(timeout->tv_usec);
  const auto start = gevent::detail::Clock::now();
  FdSets sets(r, w, e);
  const int n = select_cooperatively(*hub, nfds, sets, limit);
  if (timeout) {  // Linux's select leaves the time not slept in *timeout
    const Duration left = limit.value() - (gevent::detail::Clock::now() - start);
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::max(left, Duration::zero()));
    timeout->tv_sec = static_cast<time_t>(us.count() / 1'000'000);
    timeout->tv_usec = static_cast<suseconds_t>(us.count() % 1'000'000);
  }
  return n;
}

int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* timeout,
            const sigset_t* mask) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub || mask || nfds < 0 || nfds > FD_SETSIZE || !valid(timeout))
    return sys::pselect(nfds, r, w, e, timeout, mask);
  FdSets sets(r, w, e);
  return select_cooperatively(*hub, nfds, sets, from_timespec(timeout));
}

int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub || max <= 0) return sys::epoll_wait(epfd, events, max, timeout_ms);
  return epoll_cooperatively(*hub, epfd, events, max, from_ms(timeout_ms));
}

int epoll_pwait(int epfd, epoll_event* events, int max, int timeout_ms, const sigset_t* mask) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub || mask || max <= 0) return sys::epoll_pwait(epfd, events, max, timeout_ms, mask);
  return epoll_cooperatively(*hub, epfd, events, max, from_ms(timeout_ms));
}

int epoll_pwait2(int epfd, epoll_event* events, int max, const timespec* timeout,
                 const sigset_t* mask) {
  Hub* hub = cooperative_hub(kSelect);
  if (!hub || mask || max <= 0 || !valid(timeout))
    return sys::epoll_pwait2(epfd, events, max, timeout, mask);
  return epoll_cooperatively(*hub, epfd, events, max, from_timespec(timeout));
}

// _FORTIFY_SOURCE's checked forms: the size check, then the hook.
[[noreturn]] void __chk_fail() noexcept;

int __poll_chk(pollfd* fds, nfds_t count, int timeout_ms, size_t fdslen) {
  if (fdslen / sizeof *fds < count) __chk_fail();
  return poll(fds, count, timeout_ms);
}

int __ppoll_chk(pollfd* fds, nfds_t count, const timespec* timeout, const sigset_t* mask,
                size_t fdslen) {
  if (fdslen / sizeof *fds < count) __chk_fail();
  return ppoll(fds, count, timeout, mask);
}

}  // extern "C"
