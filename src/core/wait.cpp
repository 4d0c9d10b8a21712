#include "gevent/wait.hpp"

#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"

namespace gevent {
namespace detail {

void sleep(Duration duration) {
  Hub& hub = Hub::current();
  if (duration == Duration::zero()) {
    hub.yield();
    return;
  }
  if (hub.in_hub()) throw BlockingSwitchOutError("gevent: sleep called from the hub");
  Waiter(WaitTopic{"sleep"}).wait(duration);
}

IWaitCore::IWaitCore(std::vector<Linkable*> objects, MaybeDuration timeout, std::size_t count)
    : slots_(std::make_unique<Slot[]>(objects.size())),
      remaining_(std::min(count, objects.size())) {
  if (timeout) deadline_ = Clock::now() + timeout.value();
  for (std::size_t i = 0; i < objects.size(); ++i) {
    slots_[i].core = this;
    slots_[i].index = i;
    if (objects[i]->ready())
      ready_.push_back(i);
    else
      objects[i]->rawlink(slots_[i]);
  }
}

IWaitCore::~IWaitCore() = default;  // each Slot unlinks itself

void IWaitCore::Slot::notify(Linkable&) { core->on_ready(*this); }

void IWaitCore::on_ready(Slot& slot) {
  slot.unlink();
  ready_.push_back(slot.index);
  waiter_.wake();
}

std::size_t IWaitCore::next() {
  if (remaining_ == 0) return npos;
  while (ready_.empty()) {
    MaybeDuration left;
    if (deadline_) left = std::max(Duration::zero(), *deadline_ - Clock::now());
    waiter_.reset();
    waiter_.set_topic({"wait/iwait on several objects"});
    if (!waiter_.wait(left) && ready_.empty()) return npos;
  }
  --remaining_;
  const std::size_t index = ready_.front();
  ready_.pop_front();
  return index;
}

}  // namespace detail

bool wait(MaybeDuration timeout) { return Hub::current().join(timeout); }

}  // namespace gevent
