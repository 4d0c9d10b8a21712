// Every libc I/O call the library makes goes through here, never straight to ::recv and
// friends: when the monkey layer exists, these bind to the original (unhooked) functions so
// that gevent-cpp never re-enters its own hooks. Thin inline wrappers until then.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace gevent::detail::sys {

inline int socket(int domain, int type, int protocol) { return ::socket(domain, type, protocol); }
inline int close(int fd) { return ::close(fd); }
inline int bind(int fd, const sockaddr* a, socklen_t n) { return ::bind(fd, a, n); }
inline int listen(int fd, int backlog) { return ::listen(fd, backlog); }
inline int connect(int fd, const sockaddr* a, socklen_t n) { return ::connect(fd, a, n); }
inline int accept4(int fd, sockaddr* a, socklen_t* n, int flags) {
  return ::accept4(fd, a, n, flags);
}
inline ssize_t recv(int fd, void* buf, size_t n, int flags) { return ::recv(fd, buf, n, flags); }
inline ssize_t send(int fd, const void* buf, size_t n, int flags) {
  return ::send(fd, buf, n, flags);
}
inline ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* a, socklen_t* len) {
  return ::recvfrom(fd, buf, n, flags, a, len);
}
inline ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* a,
                      socklen_t len) {
  return ::sendto(fd, buf, n, flags, a, len);
}
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) { return ::sendmsg(fd, msg, flags); }
inline ssize_t recvmsg(int fd, msghdr* msg, int flags) { return ::recvmsg(fd, msg, flags); }
inline ssize_t read(int fd, void* buf, size_t n) { return ::read(fd, buf, n); }
inline ssize_t write(int fd, const void* buf, size_t n) { return ::write(fd, buf, n); }
inline ssize_t sendfile(int out, int in, off_t* offset, size_t n) {
  return ::sendfile(out, in, offset, n);
}
inline int shutdown(int fd, int how) { return ::shutdown(fd, how); }
inline int poll(pollfd* fds, nfds_t n, int timeout_ms) { return ::poll(fds, n, timeout_ms); }
inline int epoll_create1(int flags) { return ::epoll_create1(flags); }
inline int epoll_ctl(int ep, int op, int fd, epoll_event* e) { return ::epoll_ctl(ep, op, fd, e); }
inline int epoll_wait(int ep, epoll_event* out, int n, int ms) {
  return ::epoll_wait(ep, out, n, ms);
}
inline int fcntl_getfl(int fd) { return ::fcntl(fd, F_GETFL); }
inline int fcntl_setfl(int fd, int flags) { return ::fcntl(fd, F_SETFL, flags); }
inline int open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
inline int pipe2(int fds[2], int flags) { return ::pipe2(fds, flags); }
inline pid_t waitpid(pid_t pid, int* status, int flags) { return ::waitpid(pid, status, flags); }
inline pid_t fork() { return ::fork(); }

}  // namespace gevent::detail::sys
