// wait_read / wait_write / cancel_wait on raw file descriptors.
#include <algorithm>
#include <vector>

#include "gevent/detail/fd_watch.hpp"
#include "gevent/socket.hpp"
#include "io/socket_state.hpp"

namespace gevent {
namespace {

// This thread's raw-fd waits in progress, for cancel_wait(). Few at a time: a vector will do.
thread_local std::vector<detail::FdWatch*> raw_waits;

void wait_fd(int fd, int events, MaybeDuration timeout, const char* what) {
  detail::FdWatch watch(fd, events);
  raw_waits.push_back(&watch);
  struct Unregister {
    detail::FdWatch* watch;
    ~Unregister() { std::erase(raw_waits, watch); }
  } unregister{&watch};
  detail::throw_if(watch.wait(timeout), what);
}

}  // namespace

void wait_read(int fd, MaybeDuration timeout) { wait_fd(fd, loop::READ, timeout, "wait_read"); }

void wait_write(int fd, MaybeDuration timeout) { wait_fd(fd, loop::WRITE, timeout, "wait_write"); }

void wait_readwrite(int fd, MaybeDuration timeout) {
  wait_fd(fd, loop::READ | loop::WRITE, timeout, "wait_readwrite");
}

int cancel_wait(int fd, std::error_code reason) {
  int woken = 0;
  for (auto* watch : raw_waits)
    if (watch->fd() == fd && watch->cancel(reason)) ++woken;
  return woken;
}

}  // namespace gevent
