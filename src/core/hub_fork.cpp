// Hub::reinit: making this thread's hub usable in a forked child.
#include <new>

#include "gevent/config.hpp"
#include "gevent/hub.hpp"
#include "monitor/dump_signal.hpp"

namespace gevent {

void Hub::reinit() {
  loop_->reinit();
  reset_threadsafe_state_after_fork();
  for (const auto& service : services_) service->after_fork_in_child();
  if (config().dump_signal) detail::arm_dump_signal(config().dump_signal);  // a new thread
}

// Only the forking thread lives on in the child. Another thread that held the mutex at the
// fork never releases it there, and may have left the callback list half-changed: start
// both afresh (leaking the old list) rather than risk either.
void Hub::reset_threadsafe_state_after_fork() {
  if (threadsafe_mutex_.try_lock()) {
    threadsafe_mutex_.unlock();
  } else {
    new (&threadsafe_mutex_) std::mutex;
    new (&threadsafe_callbacks_) std::vector<std::function<void()>>;
  }
  // Wake-ups sent before the fork went to the parent's loop; send again for what is queued.
  std::lock_guard lock(threadsafe_mutex_);
  if (threadsafe_callbacks_.empty()) return;
  threadsafe_pending_.store(true, std::memory_order_release);
  threadsafe_wakeup_->send();
}

}  // namespace gevent
