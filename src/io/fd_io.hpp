// Raw fd I/O shared by the file objects and subprocess.
#pragma once

#include <sys/types.h>

namespace gevent::detail {

// write(2) that reports EPIPE instead of raising SIGPIPE (which kills the process by
// default) when the reading end of a pipe is gone. Sockets have MSG_NOSIGNAL; pipes do not.
ssize_t write_without_sigpipe(int fd, const void* buf, size_t n);

}  // namespace gevent::detail
