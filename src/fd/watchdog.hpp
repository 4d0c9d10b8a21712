// Time limits on all the waits on one fd (a server's connection), without a hub timer per
// wait.
//
// A timeout passed to each recv/send would arm and cancel a heap timer for every wait, twice
// per keep-alive request: bench/http.sh showed it (clock reads and heap removals were a fifth
// of the server's user time). Here one timer per connection stays armed; moving the limit
// only stores a time read from the coarse clock, and the timer, when it fires early, re-arms
// itself for the rest. When the limit has passed it cancels the socket's waits with
// errc::timed_out. wsgi's connections use it.
#pragma once

#include "gevent/detail/timer_node.hpp"
#include "gevent/duration.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class Watchdog final : private TimerNode {
 public:
  // For the waits on `fd` (-1: none yet) of this thread's hub.
  explicit Watchdog(int fd);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // The waits on another fd from now on (a server's worker serving the next connection).
  void watch(int fd) { fd_ = fd; }
  // From now on, a wait on the fd that lasts past `after` ends with errc::timed_out.
  void limit(MaybeDuration after);
  void clear() { limit_ = Clock::time_point::max(); }

  // Sets a limit for the lifetime of one operation.
  class Scope {
   public:
    Scope(Watchdog& watchdog, MaybeDuration after) : watchdog_(watchdog) { watchdog.limit(after); }
    ~Scope() { watchdog_.clear(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Watchdog& watchdog_;
  };

 private:
  static void on_fire(TimerNode& node);

  Hub& hub_;
  int fd_;
  Clock::time_point limit_ = Clock::time_point::max();
};

}  // namespace gevent::detail
