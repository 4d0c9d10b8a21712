// gevent::select::select and Poll: a non-blocking poll(2) first; only when nothing is ready,
// a wait on the fds in the hub's fd table until something is (see select.hpp for the
// contract).
#include "gevent/select.hpp"

#include <cerrno>
#include <stdexcept>
#include <string>

#include "fd/fd_table.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/hub.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"

namespace gevent::select {
namespace {

// What select(2) on Linux counts as readable and writable (POLLIN_SET, POLLOUT_SET), plus
// POLLHUP for writable: a hung-up fd does not block a write.
constexpr short kReadable = POLLIN | POLLHUP | POLLERR;
constexpr short kWritable = POLLOUT | POLLERR | POLLHUP;

std::error_code bad_fd() { return std::make_error_code(std::errc::bad_file_descriptor); }

// poll(2) with a zero timeout: fills in every revents, never blocks.
std::error_code poll_now(std::span<pollfd> fds) {
  for (;;) {
    if (sys::poll(fds.data(), fds.size(), 0) >= 0) return {};
    if (errno != EINTR) return detail::last_os_error();
  }
}

// What select and poll share. check(ec) checks readiness without blocking and collects what
// is ready; it returns true when it found something or failed (ec set). arm(wait) watches the
// fds, returning the first error. Every call yields once first, as gevent's does, so that it
// is a switch point.
template <class Check, class Arm>
void wait_until_ready(MaybeDuration timeout, std::error_code& ec, Check check, Arm arm,
                      std::size_t sides) {
  Hub& hub = Hub::current();
  if (!hub.in_hub()) hub.yield();
  if (check(ec) || (timeout && timeout.value() == Duration::zero())) return;
  if (hub.in_hub()) Hub::throw_blocking_in_hub("gevent::select");
  detail::FdSetWait wait(hub, sides, detail::FdWait::Kind::set);
  if ((ec = arm(wait))) return;
  if (wait.wait_until(timeout, [&] { return check(ec); }) == detail::WaitResult::interrupted)
    hub.throw_pending();
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

std::error_code arm_lists(const FdLists& lists, detail::FdSetWait& wait) {
  std::error_code error;
  for (int fd : lists.r)
    if ((error = wait.watch_events(fd, POLLIN))) return error;
  for (int fd : lists.w)
    if ((error = wait.watch_events(fd, POLLOUT))) return error;
  for (int fd : lists.x)
    if ((error = wait.watch_events(fd, POLLPRI))) return error;
  return error;
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
      [&](detail::FdSetWait& wait) { return arm_lists(lists, wait); }, lists.size());
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
      [&](detail::FdSetWait& wait) {
        std::error_code error;
        for (const pollfd& p : fds_)
          if ((error = wait.watch_events(p.fd, p.events))) break;
        return error;
      },
      2 * fds_.size());
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
