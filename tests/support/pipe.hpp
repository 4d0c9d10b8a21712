// A pipe for tests: both ends closed when it goes (or earlier, one at a time).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

namespace gevent::testing {

struct Pipe {
  int r = -1;
  int w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    r = fds[0];
    w = fds[1];
  }
  Pipe(Pipe&& o) noexcept : r(std::exchange(o.r, -1)), w(std::exchange(o.w, -1)) {}
  ~Pipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) ::close(std::exchange(r, -1));
  }
  void close_w() {
    if (w >= 0) ::close(std::exchange(w, -1));
  }
  void put(const char* s = "x") const { ASSERT_GT(::write(w, s, 1), 0); }
};

}  // namespace gevent::testing
