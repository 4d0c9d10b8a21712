// The sys layer: every libc I/O, fd and process call that gevent-cpp makes, from any layer,
// goes through here (`sys::recv(...)`, never `::recv(...)`). Each call is the original libc
// function, looked up once with dlsym(RTLD_NEXT), so that when the monkey layer defines
// `recv` itself the library still calls the real one and never re-enters its own hooks.
//
// GEVENT_SYS_CALLS is the one list of those functions. tools/check-sys-calls.sh reads it
// and fails the build's tests when an object of the library outside src/sys/ references one
// of them directly; the originals registry (original("recv")) answers by the same names.
//
// Lookups happen in a constructor that runs before main (and lazily, should a call come
// even earlier); after that a call is an indirect call through a resolved table: no lock,
// no allocation, safe from a signal handler wherever the original is.
#pragma once

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string_view>

// X(name) for every libc function of the layer: what the library calls, and what the
// monkey layer will hook, so that get_original() can answer for each.
#define GEVENT_SYS_CALLS(X)                                                                   \
  /* fd lifecycle */                                                                          \
  X(socket)                                                                                   \
  X(socketpair)                                                                               \
  X(connect)                                                                                  \
  X(accept) X(accept4) X(bind) X(listen) X(shutdown) X(close) X(dup) X(dup2) X(dup3) X(pipe)  \
      X(pipe2) X(eventfd) X(open) X(fstat) /* data */                                         \
      X(read) X(readv) X(pread) X(write) X(writev) X(recv) X(recvfrom) X(recvmsg) X(recvmmsg) \
          X(send) X(sendto) X(sendmsg) X(sendmmsg) X(sendfile) X(sendfile64) /* readiness */  \
      X(poll) X(ppoll) X(select) X(pselect) X(epoll_create1) X(epoll_ctl) X(epoll_wait)       \
          X(epoll_pwait) X(epoll_pwait2) /* flags, options, names */                          \
      X(fcntl) X(ioctl) X(setsockopt) X(getsockopt) X(getsockname) X(getpeername) /* sleep */ \
      X(sleep) X(usleep) X(nanosleep) X(clock_nanosleep)                          /* names */ \
      X(getaddrinfo) X(freeaddrinfo) X(getnameinfo) X(gethostbyname) X(gethostbyname_r)       \
          X(gethostbyname2) X(gethostbyname2_r) X(gethostbyaddr)                              \
              X(gethostbyaddr_r)                                   /* processes */            \
      X(fork) X(waitpid) X(wait4) X(waitid) X(kill) X(posix_spawn) /* signals */              \
      X(sigaction) X(signal)

namespace gevent::sys {

// The original of each function, typed as libc declares it.
struct Libc {
#define GEVENT_SYS_MEMBER(name) decltype(&::name) name = nullptr;
  GEVENT_SYS_CALLS(GEVENT_SYS_MEMBER)
#undef GEVENT_SYS_MEMBER
};

namespace detail {
extern Libc libc_table;
extern std::atomic<bool> libc_resolved;
void resolve_libc();
}  // namespace detail

// The table of originals, resolved on first use if the constructor has not run yet.
inline const Libc& libc() {
  if (!detail::libc_resolved.load(std::memory_order_acquire)) [[unlikely]]
    detail::resolve_libc();
  return detail::libc_table;
}

// The original of libc function `name` (one of GEVENT_SYS_CALLS), or null for any other name.
void* original(std::string_view name);

// sys::recv(...) and so on: the original, called with the caller's arguments.
#define GEVENT_SYS_FORWARD(name)   \
  template <class... Args>         \
  inline auto name(Args... args) { \
    return libc().name(args...);   \
  }
GEVENT_SYS_CALLS(GEVENT_SYS_FORWARD)
#undef GEVENT_SYS_FORWARD

}  // namespace gevent::sys
