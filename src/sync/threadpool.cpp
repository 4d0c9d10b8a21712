#include "gevent/threadpool.hpp"

#include <stdexcept>
#include <string>

#include "gevent/detail/spin.hpp"
#include "gevent/exceptions.hpp"

namespace gevent {

ThreadPool::ThreadPool(std::size_t size, Hub& hub) : hub_(hub), size_(size) {
  if (size == 0)
    throw std::invalid_argument("gevent: ThreadPool size must be at least 1 thread, got 0");
}

ThreadPool::~ThreadPool() {
  abandon_queued_jobs();
  workers_.clear();  // each jthread: request_stop, then join once its running job is done
}

std::size_t ThreadPool::pending() const {
  std::lock_guard lock(mutex_);
  return jobs_.size() + running_;
}

// --- the hub's side ---

void ThreadPool::submit(std::unique_ptr<detail::ThreadPoolJob> job) {
  check_owner_thread();
  if (needs_another_worker()) workers_.emplace_back([this](std::stop_token stop) { work(stop); });
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    queued_.store(jobs_.size(), std::memory_order_release);
  }
  job_queued_.notify_one();
  hub_.add_external_work();
}

void ThreadPool::check_owner_thread() const {
  if (std::this_thread::get_id() != hub_.thread_id())
    throw WrongThreadError("gevent: a ThreadPool used from a thread other than its hub's");
}

// A new job finds a worker only if more workers are idle than jobs wait already.
bool ThreadPool::needs_another_worker() const {
  if (workers_.size() >= size_) return false;
  std::lock_guard lock(mutex_);
  return jobs_.size() >= idle_workers_;
}

void ThreadPool::abandon_queued_jobs() {
  std::deque<std::unique_ptr<detail::ThreadPoolJob>> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(jobs_);
    queued_.store(0, std::memory_order_release);
  }
  if (dropped.empty()) return;
  const auto reason = std::make_exception_ptr(
      std::runtime_error("gevent: the ThreadPool was destroyed before this job started"));
  for (auto& job : dropped) {
    hub_.remove_external_work();
    job->abandon(reason);
  }
}

// --- a worker thread's side ---

void ThreadPool::work(std::stop_token stop) {
  while (std::unique_ptr<detail::ThreadPoolJob> job = next_job(stop)) {
    job->run();
    finished_running();
    hand_back(std::move(job));
  }
}

// The next queued job, or null once the pool is stopping. An idle worker first spins a
// little (jobs often come back to back), then sleeps on the condition variable.
std::unique_ptr<detail::ThreadPoolJob> ThreadPool::next_job(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  ++idle_workers_;
  if (jobs_.empty()) {
    lock.unlock();
    detail::spin_until(
        [&] { return queued_.load(std::memory_order_acquire) > 0 || stop.stop_requested(); });
    lock.lock();
  }
  const bool has_job = job_queued_.wait(lock, stop, [this] { return !jobs_.empty(); });
  --idle_workers_;
  if (!has_job) return nullptr;
  std::unique_ptr<detail::ThreadPoolJob> job = std::move(jobs_.front());
  jobs_.pop_front();
  queued_.store(jobs_.size(), std::memory_order_release);
  ++running_;
  return job;
}

void ThreadPool::finished_running() {
  std::lock_guard lock(mutex_);
  --running_;
}

// The hub sets the result and destroys the job. The callback holds the only reference to the
// job and nothing of the pool, which may be gone by the time it runs.
void ThreadPool::hand_back(std::unique_ptr<detail::ThreadPoolJob> job) {
  Hub& hub = hub_;
  hub.run_callback_threadsafe([&hub, finished = std::shared_ptr(std::move(job))] {
    hub.remove_external_work();
    finished->deliver();
  });
}

}  // namespace gevent
