// The sys layer: the library's libc calls reach libc even when the program defines the same
// function itself, as the monkey layer will.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "sys/libc.hpp"

namespace {

std::atomic<int> interposed_recv_calls{0};

// Resolved by a constructor of the library, before this file's own static initializers.
const bool resolved_before_main =
    gevent::sys::detail::libc_resolved.load(std::memory_order_acquire);

}  // namespace

// This program's own recv, found before libc's by every call to ::recv in the process: it
// counts the call and fails it. The sys layer must not be one of its callers.
extern "C" ssize_t recv(int, void*, size_t, int) {
  interposed_recv_calls.fetch_add(1);
  errno = ENOSYS;
  return -1;
}

namespace {

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(gevent::sys::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    gevent::sys::close(fds[0]);
    gevent::sys::close(fds[1]);
  }
};

TEST(SysLibc, ResolvedBeforeMain) { EXPECT_TRUE(resolved_before_main); }

TEST(SysLibc, CallsReachLibcPastTheProgramsOwnDefinition) {
  SocketPair pair;
  ASSERT_EQ(gevent::sys::send(pair.fds[0], "ping", 4, 0), 4);
  char buf[8] = {};
  EXPECT_EQ(gevent::sys::recv(pair.fds[1], buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::memcmp(buf, "ping", 4), 0);
  EXPECT_EQ(interposed_recv_calls.load(), 0);

  errno = 0;
  EXPECT_EQ(::recv(pair.fds[1], buf, sizeof buf, MSG_DONTWAIT), -1);  // the program's own
  EXPECT_EQ(errno, ENOSYS);
  EXPECT_EQ(interposed_recv_calls.load(), 1);
}

TEST(SysLibc, OriginalsByName) {
  void* recv_original = gevent::sys::original("recv");
  ASSERT_NE(recv_original, nullptr);
  EXPECT_NE(recv_original, reinterpret_cast<void*>(&::recv));  // not this program's
  EXPECT_EQ(recv_original, reinterpret_cast<void*>(gevent::sys::libc().recv));
  EXPECT_EQ(gevent::sys::original("poll"), ::dlsym(RTLD_NEXT, "poll"));
  EXPECT_EQ(gevent::sys::original("getaddrinfo"), ::dlsym(RTLD_NEXT, "getaddrinfo"));
  EXPECT_EQ(gevent::sys::original("no_such_function"), nullptr);
  EXPECT_EQ(gevent::sys::original(""), nullptr);
}

TEST(SysLibc, ErrorsKeepTheLibcContract) {
  errno = 0;
  EXPECT_EQ(gevent::sys::close(-1), -1);
  EXPECT_EQ(errno, EBADF);
  char c;
  EXPECT_EQ(gevent::sys::read(-1, &c, 1), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
