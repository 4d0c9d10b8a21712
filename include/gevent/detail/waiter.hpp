// One suspension of the calling greenlet, the building block of every wait.
#pragma once

#include <cstdint>

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

// What a greenlet waits for, as run info (gevent/util.hpp) and tools/gdb/gevent.py show it:
// "Event 0x...", "fd 7 readable", "join greenlet 4". Set by each kind of wait; costs two stores.
struct WaitTopic {
  enum class Subject : std::uint8_t {
    none,      // `what` says it all ("sleep")
    object,    // `which` is the address of the object waited on
    fd,        // `which` is a file descriptor
    greenlet,  // `which` is the address of the GreenletBase joined
    pid,       // `which` is a child process's id
  };
  const char* what = "a wake-up";  // static text
  Subject subject = Subject::none;
  std::uintptr_t which = 0;
};

template <class T>
WaitTopic topic_of(const char* what, const T& object) {
  return {what, WaitTopic::Subject::object, reinterpret_cast<std::uintptr_t>(&object)};
}

class Waiter {
 public:
  // For the current greenlet of this thread's hub.
  explicit Waiter(WaitTopic topic = {});
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
  const WaitTopic& topic() const { return topic_; }
  void set_topic(WaitTopic topic) { topic_ = topic; }

 private:
  template <class Suspend>
  WaitResult wait_with(MaybeDuration timeout, Suspend suspend);

  Hub& hub_;
  GreenletBase& owner_;
  const TimerNode* timer_ = nullptr;
  WaitTopic topic_;
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
  void wait(WaitTopic topic);

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
bool wait_ready(Linkable& object, MaybeDuration timeout, WaitTopic topic);

}  // namespace gevent::detail
