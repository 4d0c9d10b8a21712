// wait_read / wait_write / cancel_wait on raw file descriptors, through a loop watcher made
// for each wait (sockets wait through the reactor instead; see reactor.hpp).
#include <algorithm>
#include <vector>

#include "gevent/detail/waiter.hpp"
#include "gevent/hub.hpp"
#include "gevent/socket.hpp"
#include "io/socket_state.hpp"

namespace gevent {
namespace {

// A raw-fd wait in progress.
struct RawWait {
  int fd;
  detail::Waiter& waiter;
  std::error_code reason;  // set by cancel_wait()
};

// A hub's raw-fd waits, for cancel_wait(): a service of the hub. Few at a time: a vector
// will do.
struct RawWaits final : detail::HubService {
  explicit RawWaits(Hub&) {}
  std::vector<RawWait*> waits;
};

void wait_fd(int fd, int events, MaybeDuration timeout, const char* what) {
  Hub& hub = Hub::current();
  if (hub.in_hub()) Hub::throw_blocking_in_hub("waiting for a file descriptor");
  detail::Waiter waiter;
  RawWait wait{fd, waiter, {}};
  const auto watcher = hub.loop().io(fd, events, [&waiter](int) { waiter.wake(); });
  std::vector<RawWait*>& raw_waits = hub.service<RawWaits>().waits;
  raw_waits.push_back(&wait);
  struct Unregister {
    std::vector<RawWait*>& waits;
    RawWait* wait;
    ~Unregister() { std::erase(waits, wait); }
  } unregister{raw_waits, &wait};
  watcher->start();
  detail::throw_if(waiter.wait(timeout) ? wait.reason : std::make_error_code(std::errc::timed_out),
                   what);
}

}  // namespace

void wait_read(int fd, MaybeDuration timeout) { wait_fd(fd, loop::READ, timeout, "wait_read"); }

void wait_write(int fd, MaybeDuration timeout) { wait_fd(fd, loop::WRITE, timeout, "wait_write"); }

void wait_readwrite(int fd, MaybeDuration timeout) {
  wait_fd(fd, loop::READ | loop::WRITE, timeout, "wait_readwrite");
}

int cancel_wait(int fd, std::error_code reason) {
  Hub* hub = Hub::current_if_exists();
  if (!hub) return 0;
  int woken = 0;
  for (RawWait* wait : hub->service<RawWaits>().waits) {
    if (wait->fd != fd) continue;
    wait->reason = reason;
    wait->waiter.wake();
    ++woken;
  }
  return woken;
}

}  // namespace gevent
