// FIFO waiting for what a sync object hands out (a Semaphore's permits, a Queue's items or
// free slots), on the one wait protocol. The object calls wake_one() when it has one more
// unit to hand out; the greenlet woken owns that unit until it runs, so nobody arriving
// meanwhile, blocking or not, can take it first. A waiter that was woken but leaves without
// taking its turn (killed, timed out, Timeout) passes it on, so no release is ever lost.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>

#include "gevent/detail/link.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/duration.hpp"

namespace gevent::detail {

// What an object has to hand out when every greenlet may go ahead (a queue shut down, a
// joined queue).
inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

class WaitList final : public Linkable {
 public:
  bool ready() const override { return false; }
  // Whether no greenlet waits in line (those woken and not yet run are out of it).
  bool empty() const { return !has_links(); }

  // Wakes the longest-waiting greenlet (it leaves the list, holding a turn); false if
  // nobody was waiting.
  bool wake_one() {
    if (!notify_first()) return false;
    ++turns_held_;
    return true;
  }
  void wake_all() {
    while (wake_one()) {
    }
  }

  // Whether a greenlet not in line may take a unit now: nobody waits, and `available` (the
  // units the object has) exceeds the turns woken greenlets hold. What the object's ready()
  // for wait()/iwait() says.
  bool admits(std::size_t available) const { return empty() && available > turns_held_; }

  // Called (with `context`) when a turn comes back with nobody in line to take it: the
  // object is ready again, so it tells wait()/iwait().
  void on_unclaimed(void (*tell)(void*), void* context) {
    tell_ = tell;
    context_ = context;
  }

  // Takes a turn for the caller: at once if admits(available()); otherwise, if `block`,
  // waits in line, up to `timeout`. False when it got no turn. On true, take the unit
  // before anything can switch.
  // `topic` says what the caller waits for (the object's name and address).
  template <class Available>
  bool take_turn(Available available, bool block, MaybeDuration timeout, WaitTopic topic) {
    if (admits(available())) return true;
    return block && wait_in_line(available, timeout, topic);
  }

 private:
  template <class Available>
  bool wait_in_line(Available& available, MaybeDuration timeout, WaitTopic topic) {
    std::optional<Clock::time_point> deadline;
    if (timeout) deadline = Clock::now() + timeout.value();
    Waiter waiter(topic);
    WaiterLink link(waiter);
    rawlink(link);
    HeldTurn<Available> turn{*this, link, available};
    for (;;) {
      MaybeDuration left;
      if (deadline) left = std::max(Duration::zero(), *deadline - Clock::now());
      if (!waiter.wait(left)) return false;  // a turn woken too late is passed on
      turn.give_back();
      if (available() > turns_held_) {
        turn.taken = true;
        return true;
      }
      waiter.reset();  // nothing left for this turn (a peek passed it on): wait again, first
      rawlink_front(link);
    }
  }

  // The turn a woken waiter holds until it runs: given back when it does, passed on to the
  // next in line when it leaves without taking it.
  template <class Available>
  struct HeldTurn {
    WaitList& list;
    WaiterLink& link;
    Available& available;
    bool taken = false;

    void give_back() {
      if (!link.linked()) --list.turns_held_;  // only wake_one() unlinks
    }
    ~HeldTurn() {
      if (taken || link.linked()) return;  // still in line: it held no turn
      give_back();
      if (available() > list.turns_held_ && !list.wake_one() && list.tell_)
        list.tell_(list.context_);
    }
  };

  std::size_t turns_held_ = 0;
  void (*tell_)(void*) = nullptr;
  void* context_ = nullptr;
};

}  // namespace gevent::detail
