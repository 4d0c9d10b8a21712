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

// The call with O_NONBLOCK set on `fd` for its duration (`flags` being the fd's own), then the
// flags as they were: for calls with no per-call flag (connect, accept, sendfile). Nothing
// else of this thread runs in between.
template <class Call>
auto with_nonblocking(int fd, int flags, Call call) {
  sys::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  const auto result = call();
  SavedErrno saved;
  sys::fcntl(fd, F_SETFL, flags);
  return result;
}

// Defined with sendfile, sendmmsg and recvmmsg; patch_socket() calls it, so that a program
// linking the archive without --whole-archive still gets them.
void link_socket_batch_hooks();

}  // namespace gevent::monkey::detail
