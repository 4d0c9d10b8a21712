// What the DNS hooks share (hooks_dns.cpp, hooks_hostent.cpp): whether a lookup goes to the
// hub's resolver pool, and running it there while the greenlet waits.
#pragma once

#include <cerrno>
#include <exception>
#include <memory>
#include <new>

#include "gevent/config.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/threadpool.hpp"
#include "monkey/state.hpp"

namespace gevent::monkey::detail {

// The hub to resolve on, or null for the original call (not cooperative here, or
// GEVENT_RESOLVER=block).
inline Hub* resolving_hub() {
  Hub* hub = cooperative_hub(kDns);
  return hub && gevent::config().resolver != "block" ? hub : nullptr;
}

// Runs `job` (shared with the pool thread, which may outlive the wait) on the hub's resolver
// pool. False, with errno set, when the greenlet was interrupted or the pool failed: the job
// then finishes on its own and frees what it made.
template <class Job>
bool run_on_pool(Hub& hub, const std::shared_ptr<Job>& job) {
  try {
    gevent::AsyncResult<void> done =
        gevent::detail::resolver_threadpool(hub).spawn([job] { job->run(); });
    gevent::detail::Waiter waiter({"a DNS lookup on the resolver's threads"});
    const auto token = done.rawlink([&waiter](gevent::AsyncResult<void>&) { waiter.wake(); });
    if (waiter.wait_nothrow() == gevent::detail::WaitResult::woken) return true;
    done.unlink(token);
    errno = kInterrupted;
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  } catch (const std::exception&) {
    errno = EAGAIN;  // no thread for the pool
  }
  return false;
}

// Defined with the gethostbyname hooks; patch_dns() calls it, so that a program linking the
// archive without --whole-archive still gets them.
void link_hostent_hooks();

}  // namespace gevent::monkey::detail
