// What the socket hooks share (hooks_socket.cpp, hooks_socket_batch.cpp).
#pragma once

#include <fcntl.h>
#include <sys/socket.h>

#include "gevent/hub.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

namespace gevent::monkey::detail {

bool is_stream_socket(int fd);
// -1 with errno ECANCELED: a kill or Timeout is due.
ssize_t interrupted();
// sendmsg as a blocking call makes it: all of the message sent, or a part only after a
// timeout or an error (then the part's count).
ssize_t send_msg(Hub& hub, int fd, const msghdr* msg, int flags);

// The call with O_NONBLOCK set on `fd` for its duration, then the fd's flags as they were just
// before: for calls with no per-call flag (connect, accept, sendfile). Nothing else of this
// thread runs in between.
template <class Call>
auto with_nonblocking(int fd, Call call) {
  const int flags = sys::fcntl(fd, F_GETFL);
  sys::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  const auto result = call();
  SavedErrno saved;
  sys::fcntl(fd, F_SETFL, flags);
  return result;
}

// The bytes of all of `msg`'s iovecs.
size_t total_length(const msghdr& msg);

// Defined with sendfile, sendmmsg and recvmmsg; patch_socket() calls it, so that a program
// linking the archive without --whole-archive still gets them.
void link_socket_batch_hooks();

}  // namespace gevent::monkey::detail
