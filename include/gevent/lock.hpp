// gevent.lock: Semaphore, BoundedSemaphore, DummySemaphore, Lock, RLock.
//
// Each blocks only the calling greenlet, wakes waiters in FIFO order, and works with
// std::lock_guard / std::unique_lock / std::scoped_lock (lock, try_lock, unlock):
//
//   gevent::Semaphore slots{10};
//   std::lock_guard hold{slots};   // released on scope exit, kill and Timeout included
#pragma once

#include <cstddef>
#include <stdexcept>

#include "gevent/detail/execution_unit.hpp"
#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/link.hpp"
#include "gevent/detail/ref.hpp"
#include "gevent/detail/wait_list.hpp"
#include "gevent/duration.hpp"

namespace gevent {

namespace detail {

// Readiness for wait()/iwait(): a permit that no greenlet in line, or woken for it, comes
// first for.
class PermitLinkable final : public Linkable {
 public:
  PermitLinkable(const std::size_t& counter, const WaitList& waiters)
      : counter_(counter), waiters_(waiters) {}
  bool ready() const override { return waiters_.admits(counter_); }
  using Linkable::notify_links;

 private:
  const std::size_t& counter_;
  const WaitList& waiters_;
};
}  // namespace detail

class Semaphore {
 public:
  explicit Semaphore(std::size_t value = 1) : counter_(value) {
    waiters_.on_unclaimed(&tell_available, this);
  }
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  virtual ~Semaphore() = default;

  // Takes a permit, waiting for one up to `timeout` if `blocking`. Returns whether it got
  // one. Waiters are served first come, first served: a waiter woken by release() owns that
  // permit until it runs, so an acquire meanwhile, blocking or not, waits or fails.
  bool acquire(bool blocking = true, MaybeDuration timeout = {});
  // Returns a permit and wakes the longest waiter.
  virtual void release();

  std::size_t counter() const { return counter_; }
  bool locked() const { return counter_ == 0; }
  // Waits (up to `timeout`) until acquire() would take a permit at once, without taking it;
  // returns counter().
  std::size_t wait(MaybeDuration timeout = {});

  void lock() { acquire(); }
  bool try_lock() { return acquire(false); }
  void unlock() { release(); }

  detail::Linkable& linkable() { return available_; }

 protected:
  void give_back();

  std::size_t counter_;

 private:
  static void tell_available(void* semaphore) {
    static_cast<Semaphore*>(semaphore)->available_.notify_links();
  }

  detail::WaitList waiters_;
  detail::PermitLinkable available_{counter_, waiters_};
};

// A Semaphore that refuses to be released more times than it was acquired.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t value = 1) : Semaphore(value), bound_(value) {}
  // Throws std::logic_error when every permit is already back.
  void release() override;

 private:
  std::size_t bound_;
};

// Never blocks: acquire always succeeds, release does nothing (gevent's DummySemaphore, for
// code that takes a semaphore it may not need).
class DummySemaphore {
 public:
  bool acquire(bool = true, MaybeDuration = {}) { return true; }
  void release() {}
  void lock() {}
  bool try_lock() { return true; }
  void unlock() {}
  bool locked() const { return false; }
};

// A mutual-exclusion lock for greenlets (a bounded semaphore of one). Not owner-checked, as
// in gevent: any greenlet may release it; releasing an unlocked Lock throws.
class Lock : public BoundedSemaphore {
 public:
  Lock() : BoundedSemaphore(1) {}
};

// A reentrant lock: the greenlet that holds it may acquire it again, and must release it as
// many times. Releasing it from another greenlet throws std::logic_error. A task
// (gevent/aio.hpp) holds it as a unit of its own, not as the runner greenlet that resumes it.
class RLock {
 public:
  RLock() = default;
  RLock(const RLock&) = delete;
  RLock& operator=(const RLock&) = delete;

  bool acquire(bool blocking = true, MaybeDuration timeout = {});
  void release();
  bool locked() const { return static_cast<bool>(owner_); }
  // Whether the current greenlet holds it.
  bool is_owned() const;

  void lock() { acquire(); }
  bool try_lock() { return acquire(false); }
  void unlock() { release(); }

 private:
  Semaphore block_{1};
  detail::ExecutionUnit owner_;  // counted: a dead owner's address is not reused
  std::size_t depth_ = 0;
};

}  // namespace gevent
