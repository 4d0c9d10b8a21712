// FIFO waiting on a condition a sync object owns (a Semaphore's permits, a Queue's items or
// free slots), on the one wait protocol. The object calls wake_one() when its condition may
// now hold for one more waiter. A waiter that was woken but leaves without taking its turn
// (killed, timed out, Timeout) passes the wake-up on, so no release is ever lost.
#pragma once

#include <optional>

#include "gevent/detail/link.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/duration.hpp"

namespace gevent::detail {

class WaitList final : public Linkable {
 public:
  bool ready() const override { return false; }
  bool empty() const { return !has_links(); }

  // Wakes the longest-waiting greenlet (it leaves the list).
  void wake_one() { notify_first(); }
  void wake_all() {
    while (notify_first()) {
    }
  }

  // Suspends until `ready()` holds and it is this greenlet's turn; false if `timeout` passed
  // first. On true, ready() holds now: take the item or permit before anything can switch.
  template <class Ready>
  bool wait_until(Ready ready, MaybeDuration timeout) {
    if (ready() && empty()) return true;
    std::optional<Clock::time_point> deadline;
    if (timeout) deadline = Clock::now() + timeout.value();
    Waiter waiter;
    WaiterLink link(waiter);
    rawlink(link);
    PassOn<Ready> pass_on{*this, waiter, link, ready};
    for (;;) {
      MaybeDuration left;
      if (deadline) left = std::max(Duration::zero(), *deadline - Clock::now());
      if (!waiter.wait(left)) return false;  // timed out, still linked: nothing to pass on
      if (ready()) {
        pass_on.taken = true;
        return true;
      }
      waiter.reset();  // someone else took it meanwhile: wait again, first in line
      rawlink_front(link);
    }
  }

 private:
  template <class Ready>
  struct PassOn {
    WaitList& list;
    Waiter& waiter;
    WaiterLink& link;
    Ready& ready;
    bool taken = false;
    ~PassOn() {
      if (!taken && waiter.woken() && !link.linked() && ready()) list.wake_one();
    }
  };
};

}  // namespace gevent::detail
