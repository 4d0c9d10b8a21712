// The hub's thread pools, services of the hub: its own and its resolver's, each made on first
// use and abandoned in a forked child (Hub::reinit).
#include <exception>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "gevent/config.hpp"
#include "gevent/threadpool.hpp"

namespace gevent {
namespace {

// Pools whose threads died in a fork. They can be neither joined (pthread_join would wait
// for threads that do not exist) nor destroyed (their condition variable still counts the
// dead threads as waiters), so they are kept here: leaked, but reachable (never destroyed,
// so the leak checker still sees them at exit).
std::vector<ThreadPool*>& pools_lost_in_fork() {
  static auto* pools = new std::vector<ThreadPool*>;
  return *pools;
}

}  // namespace

namespace detail {

HubOwnedThreadPool::~HubOwnedThreadPool() = default;  // joins the pool's threads

ThreadPool& HubOwnedThreadPool::pool() {
  if (!pool_) pool_.reset(new ThreadPool(size_, hub_));
  return *pool_;
}

void HubOwnedThreadPool::after_fork_in_child() {
  if (!pool_) return;
  ThreadPool* pool = pool_.release();
  pools_lost_in_fork().push_back(pool);
  pool->abandon_after_fork();
}

HubThreadPool::HubThreadPool(Hub& hub) : HubOwnedThreadPool(hub, config().threadpool_size) {}

ResolverThreadPool::ResolverThreadPool(Hub& hub)
    : HubOwnedThreadPool(hub, config().resolver_threads) {}

}  // namespace detail

// Fails the jobs that never started and stops counting the running ones as the hub's
// outside work (they will never finish here). Jobs that finished before the fork are
// delivered by the hub's thread-safe callbacks as usual. If a thread held the pool's mutex
// at the fork, the queue may be half-changed and is left alone.
void ThreadPool::abandon_after_fork() {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  for (std::size_t i = 0; i < running_; ++i) hub_.remove_external_work();
  running_ = 0;
  std::deque<std::unique_ptr<detail::ThreadPoolJob>> dropped;
  dropped.swap(jobs_);
  lock.unlock();
  const auto reason = std::make_exception_ptr(
      std::runtime_error("gevent: this thread-pool job was still queued when the process "
                         "forked; the pool's threads do not exist in the child"));
  for (auto& job : dropped) {
    hub_.remove_external_work();
    job->abandon(reason);
  }
}

}  // namespace gevent
