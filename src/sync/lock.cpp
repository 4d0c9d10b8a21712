#include "gevent/lock.hpp"

#include "gevent/hub.hpp"

namespace gevent {

bool Semaphore::acquire(bool blocking, MaybeDuration timeout) {
  const auto permits = [this] { return counter_; };
  if (!waiters_.take_turn(permits, blocking, timeout, detail::topic_of("Semaphore.acquire", *this)))
    return false;
  --counter_;
  return true;
}

void Semaphore::release() { give_back(); }

void Semaphore::give_back() {
  ++counter_;
  if (!waiters_.wake_one()) available_.notify_links();  // else the permit is the woken one's
}

std::size_t Semaphore::wait(MaybeDuration timeout) {
  if (!available_.ready())
    detail::wait_ready(available_, timeout, detail::topic_of("Semaphore.wait", *this));
  return counter_;
}

void BoundedSemaphore::release() {
  if (counter_ >= bound_)
    throw std::logic_error("gevent: semaphore released more times than it was acquired");
  give_back();
}

bool RLock::is_owned() const {
  return owner_ && owner_.key() == detail::ExecutionUnit::current_key();
}

bool RLock::acquire(bool blocking, MaybeDuration timeout) {
  if (is_owned()) {
    ++depth_;
    return true;
  }
  if (!block_.acquire(blocking, timeout)) return false;
  owner_ = detail::ExecutionUnit::current();
  depth_ = 1;
  return true;
}

void RLock::release() {
  if (!is_owned())
    throw std::logic_error("gevent: RLock released by a greenlet that does not hold it");
  if (--depth_ > 0) return;
  owner_ = {};
  block_.release();
}

}  // namespace gevent
