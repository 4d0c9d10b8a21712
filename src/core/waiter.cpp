#include "gevent/detail/waiter.hpp"

#include "gevent/hub.hpp"

namespace gevent::detail {

WakeTimer::WakeTimer(Hub& hub, GreenletBase& greenlet) : hub_(hub), greenlet_(greenlet) {
  fire = [](TimerNode& node) {
    auto& self = static_cast<WakeTimer&>(node);
    self.expired_ = true;
    self.hub_.schedule(self.greenlet_);
  };
}

WakeTimer::~WakeTimer() { hub_.cancel_timer(*this); }

void WakeTimer::start(Duration after) {
  expired_ = false;
  hub_.add_timer(*this, after);
}

Waiter::Waiter(WaitTopic topic)
    : hub_(Hub::current()), owner_(hub_.current_greenlet()), topic_(topic) {}

void Waiter::wake() {
  if (woken_) return;
  woken_ = true;
  if (waiting_) hub_.schedule(owner_);
}

// suspend() switches out once; it returns false when the wait must end as interrupted.
template <class Suspend>
WaitResult Waiter::wait_with(MaybeDuration timeout, Suspend suspend) {
  if (woken_) return WaitResult::woken;
  WakeTimer timer(hub_, owner_);
  if (timeout) {
    timer.start(timeout.value());
    timer_ = &timer;
  }
  waiting_ = true;
  owner_.waiting_in = this;
  struct Done {
    Waiter& waiter;
    ~Done() {
      waiter.waiting_ = false;
      waiter.timer_ = nullptr;
      waiter.owner_.waiting_in = nullptr;
    }
  } done{*this};
  while (!woken_ && !timer.expired())
    if (!suspend()) return WaitResult::interrupted;
  return woken_ ? WaitResult::woken : WaitResult::timed_out;
}

bool Waiter::wait(MaybeDuration timeout) {
  return wait_with(timeout, [this] {
           hub_.switch_out();
           return true;
         }) == WaitResult::woken;
}

WaitResult Waiter::wait_nothrow(MaybeDuration timeout) {
  return wait_with(timeout, [this] { return hub_.switch_out_nothrow(); });
}

bool wait_ready(Linkable& object, MaybeDuration timeout, WaitTopic topic) {
  if (object.ready()) return true;
  Waiter waiter(topic);
  WaiterLink link(waiter);
  object.rawlink(link);
  waiter.wait(timeout);
  return object.ready();
}

void Doorbell::wait(WaitTopic topic) {
  Waiter waiter(topic);
  waiting_ = &waiter;
  struct Done {
    Waiter*& waiting;
    ~Done() { waiting = nullptr; }
  } done{waiting_};
  waiter.wait();
}

}  // namespace gevent::detail
