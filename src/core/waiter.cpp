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

Waiter::Waiter() : hub_(Hub::current()), owner_(hub_.current_greenlet()) {}

void Waiter::wake() {
  if (woken_) return;
  woken_ = true;
  if (waiting_) hub_.schedule(owner_);
}

bool Waiter::wait(MaybeDuration timeout) {
  if (woken_) return true;
  WakeTimer timer(hub_, owner_);
  if (timeout) {
    timer.start(timeout.value());
    timer_ = &timer;
  }
  waiting_ = true;
  struct Done {
    Waiter& waiter;
    ~Done() {
      waiter.waiting_ = false;
      waiter.timer_ = nullptr;
    }
  } done{*this};
  while (!woken_ && !timer.expired()) hub_.switch_out();
  return woken_;
}

bool wait_ready(Linkable& object, MaybeDuration timeout) {
  if (object.ready()) return true;
  Waiter waiter;
  WaiterLink link(waiter);
  object.rawlink(link);
  waiter.wait(timeout);
  return object.ready();
}

}  // namespace gevent::detail
