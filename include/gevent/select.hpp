// gevent::select: select() and poll() over many file descriptors (gevent.select). Both wait
// cooperatively: only the calling greenlet is suspended, other greenlets keep running, and
// an enclosing gevent::Timeout or a kill interrupts the wait (as an exception).
//
//   auto [readable, writable, exceptional] = gevent::select::select({a, b}, {c}, {}, 1s);
//
//   auto p = gevent::select::poll();
//   p.register_fd(fd, POLLIN);
//   for (auto [fd, revents] : p.poll(100ms)) ...
//
// How a call waits, as in gevent: it first yields once to the other greenlets (every call is
// a switch point, so a loop of zero-timeout selects cannot starve them), then checks
// readiness without blocking (poll(2) with a zero timeout). If something is ready, or the
// timeout is zero, it returns that. Otherwise it waits on every descriptor in the hub's fd
// table (the same edge-triggered set that sockets wait in; no watcher, fd or allocation per
// descriptor for up to 8 of them), until one reports an edge or the timeout passes, checks
// all of them again and returns what is ready; a wake-up that finds nothing ready (another
// greenlet read the data first) waits again for what is left of the timeout. The wait leaves
// the table before the call returns, by any path. Timeout none waits forever; a call with
// nothing to watch sleeps for the timeout, like Python's.
//
// Exceptional conditions (xlist; POLLPRI, e.g. TCP urgent data) end a wait too, which
// gevent's select does not do (it reports xlist only from its first check); so do a Poll
// mask's POLLRDHUP and, for an fd watched for nothing else, its hang-ups and errors. As in
// select(2) on Linux, xlist means POLLPRI only: hang-ups and errors show in rlist and wlist,
// never in xlist.
//
// Unlike select(2), there is no FD_SETSIZE limit: any fd number works. An fd closed while a
// greenlet waits on it here is reported as EBADF if it was a gevent::socket's or file
// object's (closing it wakes the wait); closing a raw fd under a wait is not allowed (as with
// poll(2) in another thread): finish or interrupt the wait first. Regular files and
// directories are always ready, as in poll(2). From the hub itself a call that would have to
// wait throws gevent::BlockingSwitchOutError.
#pragma once

#include <poll.h>

#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <ranges>
#include <span>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "gevent/duration.hpp"

namespace gevent::select {

// A contiguous range of ints: std::vector<int>, std::array<int, N>, std::span<const int>.
template <class Range>
concept ContiguousFds = std::ranges::contiguous_range<Range> &&
    (std::is_same_v<std::ranges::range_value_t<Range>, int>);

// The fds of one list of a select() call: a view of a braced list ({a, b}) or of any
// ContiguousFds. Like std::span it does not own the fds; it is meant for passing arguments.
class FdList {
 public:
  FdList() = default;
  FdList(std::initializer_list<int> fds)  // NOLINT(google-explicit-constructor)
      : fds_(fds.begin(), fds.size()) {}
  template <ContiguousFds Range>
  FdList(const Range& fds)  // NOLINT(google-explicit-constructor)
      : fds_(std::ranges::data(fds), std::ranges::size(fds)) {}

  std::span<const int> fds() const { return fds_; }

 private:
  std::span<const int> fds_;
};

// The fds found ready, each list in the order given (an fd listed twice is reported twice,
// as in Python). Binds as `auto [r, w, x] = select(...)`.
struct SelectResult {
  std::vector<int> rlist;
  std::vector<int> wlist;
  std::vector<int> xlist;
};

// Waits until some fd of rlist is readable, of wlist writable, or of xlist has an
// exceptional condition (POLLPRI), or until `timeout` passes (none: forever; zero: check
// once without waiting); returns the ready ones, all empty on timeout.
// Readable means POLLIN, POLLHUP or POLLERR (a read will not block: it returns data, end of
// file or the error); writable means POLLOUT, POLLERR or POLLHUP (a write will not block).
// A negative or closed fd in any list is std::errc::bad_file_descriptor (Python raises
// OSError EBADF), reported at once, never a hang.
// Errors: the first form throws std::system_error; the second sets ec and returns empty
// lists. Kill and gevent::Timeout propagate as exceptions from both.
SelectResult select(FdList rlist, FdList wlist, FdList xlist, MaybeDuration timeout = {});
SelectResult select(FdList rlist, FdList wlist, FdList xlist, MaybeDuration timeout,
                    std::error_code& ec);

// One fd poll() found ready and its poll(2) revents: what was asked for plus POLLERR,
// POLLHUP and POLLNVAL (the fd is not open), as Python's poll reports them.
struct PollEvent {
  int fd;
  int revents;
  bool operator==(const PollEvent&) const = default;
};

// A set of fds to poll (Python's select.poll object; make one with gevent::select::poll()).
// Registrations are plain data: the object holds no watcher or fd of its own, and may be
// used by several greenlets at once. Changes made while a greenlet waits in poll() take
// effect at its next wake-up. Do not destroy or move the object during such a wait.
class Poll {
 public:
  // Python's default eventmask.
  static constexpr int default_events = POLLIN | POLLPRI | POLLOUT;

  // Python's register() (a C++ keyword): watches fd for eventmask (POLLIN, POLLPRI,
  // POLLOUT, POLLRDHUP, ...); registering a watched fd again replaces its mask. A negative
  // fd is std::errc::bad_file_descriptor, a mask beyond 16 bits std::invalid_argument
  // (both thrown). A closed fd may be registered; poll() reports it as POLLNVAL.
  void register_fd(int fd, int eventmask = default_events);
  // Changes the mask of a registered fd; an fd that is not registered throws
  // std::system_error with std::errc::no_such_file_or_directory (Python: OSError ENOENT).
  void modify(int fd, int eventmask);
  // Stops watching fd; an fd that is not registered throws std::out_of_range (Python:
  // KeyError).
  void unregister(int fd);

  // Waits until a registered fd is ready or `timeout` passes (none: forever; zero: check
  // once without waiting) and returns the ready ones, empty on timeout. Errors (rare: the
  // kernel's poll failing) throw std::system_error or set ec; kill and gevent::Timeout
  // propagate as exceptions from both forms.
  std::vector<PollEvent> poll(MaybeDuration timeout = {});
  std::vector<PollEvent> poll(MaybeDuration timeout, std::error_code& ec);

  std::size_t size() const { return fds_.size(); }

 private:
  bool check(std::vector<PollEvent>& ready, std::error_code& ec);

  std::vector<pollfd> fds_;                    // passed to poll(2) as is
  std::unordered_map<int, std::size_t> slot_;  // fd -> index in fds_
};

// Python's select.poll().
inline Poll poll() { return Poll{}; }

}  // namespace gevent::select
