// One suspension of the calling greenlet, the building block of every wait.
#pragma once

#include "gevent/detail/link.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/duration.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class GreenletBase;

// A hub timer that schedules a greenlet when due. Cancelled when destroyed.
class WakeTimer : public TimerNode {
 public:
  WakeTimer(Hub& hub, GreenletBase& greenlet);
  ~WakeTimer();
  WakeTimer(const WakeTimer&) = delete;
  WakeTimer& operator=(const WakeTimer&) = delete;

  void start(Duration after);
  bool expired() const { return expired_; }

 private:
  Hub& hub_;
  GreenletBase& greenlet_;
  bool expired_ = false;
};

// How a wait that does not throw ended.
enum class WaitResult {
  woken,
  timed_out,
  interrupted,  // a kill or Timeout is due: still pending, thrown at the next switch point
};

class Waiter {
 public:
  Waiter();  // for the current greenlet of this thread's hub
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Marks the waiter woken and, if its greenlet is suspended in wait(), schedules it.
  // Idempotent; callable from any greenlet or the hub of the same thread.
  void wake();
  bool woken() const { return woken_; }
  void reset() { woken_ = false; }

  // Suspends until wake() (returns true) or until `timeout` passes (returns false).
  // Exceptions thrown into the greenlet meanwhile (kill, Timeout) propagate.
  bool wait(MaybeDuration timeout = {});
  // The same wait, for callers that must not throw (Hub::switch_out_nothrow): a kill or
  // Timeout that is due ends it, and stays pending. Throws nothing but std::bad_alloc.
  WaitResult wait_nothrow(MaybeDuration timeout = {});

  Hub& hub() const { return hub_; }
  // The timer of a wait() in progress with a timeout, else null.
  const TimerNode* timer() const { return timer_; }

 private:
  template <class Suspend>
  WaitResult wait_with(MaybeDuration timeout, Suspend suspend);

  Hub& hub_;
  GreenletBase& owner_;
  const TimerNode* timer_ = nullptr;
  bool woken_ = false;
  bool waiting_ = false;
};

// Where one greenlet sleeps until something has work for it (a server's dispatcher): ring()
// wakes it if it is waiting, and does nothing otherwise, so the greenlet looks for work before
// each wait(). Callable from the hub.
class Doorbell {
 public:
  void ring() {
    if (waiting_) waiting_->wake();
  }
  void wait();

 private:
  Waiter* waiting_ = nullptr;
};

// A Link that wakes a Waiter.
class WaiterLink final : public Link {
 public:
  explicit WaiterLink(Waiter& waiter) : waiter_(waiter) {}
  void notify(Linkable&) override { waiter_.wake(); }

 private:
  Waiter& waiter_;
};

// Waits until `object` is ready or `timeout` passes; returns object.ready().
bool wait_ready(Linkable& object, MaybeDuration timeout);

}  // namespace gevent::detail
