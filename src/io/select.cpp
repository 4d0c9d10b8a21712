// gevent::select::select and Poll: a non-blocking poll(2) first; only when nothing is ready,
// loop watchers and a Waiter until something is (see select.hpp for the contract).
#include "gevent/select.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>

#include "gevent/detail/waiter.hpp"
#include "gevent/hub.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"

namespace gevent::select {
namespace {

// What select(2) on Linux counts as readable and writable (POLLIN_SET, POLLOUT_SET), plus
// POLLHUP for writable: a hung-up fd does not block a write, and the loop's WRITE watcher
// fires on it, so leaving it out would wake the wait over and over for nothing.
constexpr short kReadable = POLLIN | POLLHUP | POLLERR;
constexpr short kWritable = POLLOUT | POLLERR | POLLHUP;
// The poll(2) events the loop's READ and WRITE watchers stand for.
constexpr short kLoopRead = POLLIN | POLLRDNORM;
constexpr short kLoopWrite = POLLOUT | POLLWRNORM;
// poll(2) reports these whether asked or not.
constexpr short kAlwaysReported = POLLERR | POLLHUP | POLLNVAL;

std::error_code bad_fd() { return std::make_error_code(std::errc::bad_file_descriptor); }

// poll(2) with a zero timeout: fills in every revents, never blocks.
std::error_code poll_now(std::span<pollfd> fds) {
  for (;;) {
    if (sys::poll(fds.data(), fds.size(), 0) >= 0) return {};
    if (errno != EINTR) return detail::last_os_error();
  }
}

// Conditions the loop has no watcher for: exceptional ones (POLLPRI, POLLRDHUP, ...) and the
// hang-ups and errors of an fd watched for nothing else. A READ watcher would not do: it
// also fires on plain data the caller did not ask about, again on every loop iteration. So
// they go to an epoll set of the wait's own, edge-triggered (a lasting condition wakes the
// wait once), and the loop watches the set's fd, readable while it has an event pending.
class ConditionWatch {
 public:
  ConditionWatch() = default;
  ConditionWatch(const ConditionWatch&) = delete;
  ConditionWatch& operator=(const ConditionWatch&) = delete;
  ~ConditionWatch() {
    watcher_.reset();  // before its fd is closed (libuv insists)
    if (epoll_fd_ >= 0) sys::close(epoll_fd_);
  }

  // Watches fd for `events` (poll(2) bits; POLLERR and POLLHUP always). Throws
  // std::system_error when the kernel refuses.
  void add(loop::Loop& loop, int fd, short events, const loop::IoCallback& wake) {
    if (epoll_fd_ < 0) open(loop, wake);
    epoll_event event{};
    event.events = static_cast<std::uint16_t>(events) | EPOLLET;
    event.data.fd = fd;
    if (sys::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0) return;
    // EEXIST: the same fd listed twice, with the same events. EPERM: a regular file or a
    // directory, which epoll refuses and which never has such a condition.
    if (errno == EEXIST || errno == EPERM) return;
    throw std::system_error(detail::last_os_error(), "gevent::select: epoll_ctl");
  }

  // Takes the pending events out, so that the set's fd is readable again only for new ones.
  // Call after a wake-up and before checking readiness, so that nothing is lost between.
  void drain() {
    if (epoll_fd_ < 0) return;
    std::array<epoll_event, 64> events;
    int n = 0;
    do {
      n = sys::epoll_wait(epoll_fd_, events.data(), events.size(), 0);
    } while (n == static_cast<int>(events.size()) || (n < 0 && errno == EINTR));
  }

 private:
  void open(loop::Loop& loop, const loop::IoCallback& wake) {
    epoll_fd_ = sys::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0)
      throw std::system_error(detail::last_os_error(), "gevent::select: epoll_create1");
    watcher_ = loop.io(epoll_fd_, loop::READ, wake);
    watcher_->start();
  }

  int epoll_fd_ = -1;
  std::unique_ptr<loop::IoWatcher> watcher_;
};

// The watchers of one wait, all waking one Waiter; stopped and destroyed with this object.
class ReadinessWait {
 public:
  ReadinessWait(Hub& hub, std::size_t fds) : loop_(hub.loop()) { watchers_.reserve(fds); }
  ReadinessWait(const ReadinessWait&) = delete;
  ReadinessWait& operator=(const ReadinessWait&) = delete;

  // Watches fd for the poll(2) events given: READ and WRITE through loop watchers, anything
  // else through the ConditionWatch.
  void watch(int fd, short events) {
    const int io =
        ((events & kLoopRead) ? loop::READ : 0) | ((events & kLoopWrite) ? loop::WRITE : 0);
    if (io != 0) {
      watchers_.push_back(loop_.io(fd, io, wake_));
      watchers_.back()->start();
    }
    const short rest = static_cast<short>(events & ~(kLoopRead | kLoopWrite | kAlwaysReported));
    if (rest != 0 || io == 0) conditions_.add(loop_, fd, rest, wake_);
  }

  // Suspends until a watcher fires (true) or `timeout` passes (false).
  bool wait(MaybeDuration timeout) {
    if (timeout && timeout.value() == Duration::zero()) return false;
    waiter_.reset();
    const bool woken = waiter_.wait(timeout);
    conditions_.drain();
    return woken;
  }

 private:
  loop::Loop& loop_;
  detail::Waiter waiter_;
  // Captures only `this`, so std::function keeps it inline: copying it allocates nothing.
  const loop::IoCallback wake_ = [this](int) { waiter_.wake(); };
  ConditionWatch conditions_;
  std::vector<std::unique_ptr<loop::IoWatcher>> watchers_;  // destroyed first
};

// What select and poll share. check(ec) checks readiness without blocking and collects what
// is ready; it returns true when it found something or failed (ec set). arm(wait) arms the
// watchers. Every call yields once first, as gevent's does, so that it is a switch point.
template <class Check, class Arm>
void wait_until_ready(MaybeDuration timeout, std::error_code& ec, Check check, Arm arm,
                      std::size_t fds) {
  Hub& hub = Hub::current();
  if (!hub.in_hub()) hub.yield();
  if (check(ec) || (timeout && timeout.value() == Duration::zero())) return;
  if (hub.in_hub()) Hub::throw_blocking_in_hub("gevent::select");
  detail::Deadline deadline(timeout);
  ReadinessWait wait(hub, fds);
  try {
    arm(wait);
  } catch (const std::system_error& e) {
    ec = e.code();
    return;
  }
  while (wait.wait(deadline.remaining())) {
    if (check(ec)) return;  // else another greenlet took what woke us: wait on
  }
  check(ec);  // what is ready at the deadline counts
}

struct FdLists {
  std::span<const int> r, w, x;
  std::size_t size() const { return r.size() + w.size() + x.size(); }
};

// One thread's pollfd array for select(), reused so that a call allocates none. Greenlets of
// a thread never use it at once: nothing between filling it and reading it switches.
thread_local std::vector<pollfd> select_pollfds;

std::error_code append_pollfds(std::span<const int> fds, short events, std::vector<pollfd>& out) {
  for (int fd : fds) {
    if (fd < 0) return bad_fd();
    out.push_back({fd, events, 0});
  }
  return {};
}

void collect(std::span<const int> fds, const pollfd* polled, short ready, std::vector<int>& out) {
  for (std::size_t i = 0; i < fds.size(); ++i)
    if (polled[i].revents & ready) out.push_back(fds[i]);
}

bool check_lists(const FdLists& lists, SelectResult& ready, std::error_code& ec) {
  std::vector<pollfd>& fds = select_pollfds;
  fds.clear();
  fds.reserve(lists.size());
  if ((ec = append_pollfds(lists.r, POLLIN, fds)) || (ec = append_pollfds(lists.w, POLLOUT, fds)) ||
      (ec = append_pollfds(lists.x, POLLPRI, fds)) || (ec = poll_now(fds)))
    return true;
  for (const pollfd& p : fds) {
    if (p.revents & POLLNVAL) {
      ec = bad_fd();
      return true;
    }
  }
  const pollfd* at = fds.data();
  collect(lists.r, at, kReadable, ready.rlist);
  collect(lists.w, at + lists.r.size(), kWritable, ready.wlist);
  collect(lists.x, at + lists.r.size() + lists.w.size(), POLLPRI, ready.xlist);
  return !ready.rlist.empty() || !ready.wlist.empty() || !ready.xlist.empty();
}

void arm_lists(const FdLists& lists, ReadinessWait& wait) {
  for (int fd : lists.r) wait.watch(fd, POLLIN);
  for (int fd : lists.w) wait.watch(fd, POLLOUT);
  for (int fd : lists.x) wait.watch(fd, POLLPRI);
}

short to_events(int eventmask, const char* what) {
  if (eventmask < 0 || eventmask > 0xFFFF)
    throw std::invalid_argument(std::string("gevent::select::Poll::") + what +
                                ": eventmask must fit in 16 bits, got " +
                                std::to_string(eventmask));
  return static_cast<short>(eventmask);
}

std::string not_registered(const char* what, int fd) {
  return std::string("gevent::select::Poll::") + what + ": fd " + std::to_string(fd) +
         " is not registered";
}

}  // namespace

SelectResult select(FdList rlist, FdList wlist, FdList xlist, MaybeDuration timeout,
                    std::error_code& ec) {
  ec.clear();
  const FdLists lists{rlist.fds(), wlist.fds(), xlist.fds()};
  SelectResult ready;
  wait_until_ready(
      timeout, ec, [&](std::error_code& e) { return check_lists(lists, ready, e); },
      [&](ReadinessWait& wait) { arm_lists(lists, wait); }, lists.size());
  if (ec) return {};
  return ready;
}

SelectResult select(FdList rlist, FdList wlist, FdList xlist, MaybeDuration timeout) {
  std::error_code ec;
  SelectResult ready = select(rlist, wlist, xlist, timeout, ec);
  if (ec) throw std::system_error(ec, "gevent::select::select");
  return ready;
}

void Poll::register_fd(int fd, int eventmask) {
  const short events = to_events(eventmask, "register_fd");
  if (fd < 0) throw std::system_error(bad_fd(), "gevent::select::Poll::register_fd");
  const auto [slot, added] = slot_.try_emplace(fd, fds_.size());
  if (added)
    fds_.push_back({fd, events, 0});
  else
    fds_[slot->second].events = events;
}

void Poll::modify(int fd, int eventmask) {
  const short events = to_events(eventmask, "modify");
  const auto slot = slot_.find(fd);
  if (slot == slot_.end())
    throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                            not_registered("modify", fd));
  fds_[slot->second].events = events;
}

void Poll::unregister(int fd) {
  const auto slot = slot_.find(fd);
  if (slot == slot_.end()) throw std::out_of_range(not_registered("unregister", fd));
  const std::size_t index = slot->second;
  slot_.erase(slot);
  if (index + 1 != fds_.size()) {
    fds_[index] = fds_.back();
    slot_[fds_[index].fd] = index;
  }
  fds_.pop_back();
}

bool Poll::check(std::vector<PollEvent>& ready, std::error_code& ec) {
  if ((ec = poll_now(fds_))) return true;
  for (const pollfd& p : fds_)
    if (p.revents != 0) ready.push_back({p.fd, static_cast<unsigned short>(p.revents)});
  return !ready.empty();
}

std::vector<PollEvent> Poll::poll(MaybeDuration timeout, std::error_code& ec) {
  ec.clear();
  std::vector<PollEvent> ready;
  wait_until_ready(
      timeout, ec, [&](std::error_code& e) { return check(ready, e); },
      [&](ReadinessWait& wait) {
        for (const pollfd& p : fds_) wait.watch(p.fd, p.events);
      },
      fds_.size());
  if (ec) return {};
  return ready;
}

std::vector<PollEvent> Poll::poll(MaybeDuration timeout) {
  std::error_code ec;
  std::vector<PollEvent> ready = poll(timeout, ec);
  if (ec) throw std::system_error(ec, "gevent::select::Poll::poll");
  return ready;
}

}  // namespace gevent::select
