// gevent.threadpool: run blocking functions on OS threads without blocking the hub.
//
//   gevent::ThreadPool& pool = gevent::get_hub().threadpool();
//   auto digest = pool.spawn(sha256_of_file, path);   // runs on a pool thread
//   ...                                                // other greenlets keep running
//   std::string hex = digest.get();                    // waits only this greenlet
//
//   int lines = pool.apply(count_lines, path);               // spawn(...).get()
//   std::vector<long> sizes = pool.map(file_size, paths);    // results in input order
//
// A ThreadPool belongs to the hub of the thread that created it. Use it (spawn, apply, map,
// destroy it) from that thread only: spawn from another thread throws WrongThreadError.
// Destroy it before its hub; the hub's own pool, Hub::threadpool(), goes with the hub.
//
// Threads start lazily: a job that finds no idle thread starts a new one, up to size().
// A job's result, or the exception it threw, is handed back to the hub and set on its
// AsyncResult there (so waiting on it blocks only the waiting greenlet). Until then the hub
// counts the job as outside work: a greenlet waiting for it does not get LoopExit, and
// Hub::join() waits for it.
//
// A running job cannot be interrupted. A Timeout around get() only ends the waiting: the job
// runs to its end and its result is set later, harmlessly.
//
// Destroying the pool drops the jobs that have not started: their AsyncResults get a
// std::runtime_error saying so. It then waits for the running jobs to finish (blocking the
// hub's thread meanwhile); their results are still delivered if the hub lives on. When the
// hub itself is being destroyed, results that arrive too late are dropped with it.
#pragma once

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <ranges>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "gevent/event.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/hub.hpp"

namespace gevent {

namespace detail {

class HubOwnedThreadPool;

// One job of a thread pool: run() on a worker thread, then deliver() (or, if it never ran,
// abandon()) on the hub's thread.
class ThreadPoolJob {
 public:
  virtual ~ThreadPoolJob() = default;
  virtual void run() noexcept = 0;
  virtual void deliver() = 0;
  virtual void abandon(std::exception_ptr reason) = 0;
};

template <class T, class Call>
class ThreadPoolTask final : public ThreadPoolJob {
 public:
  ThreadPoolTask(Call call, AsyncResult<T> result)
      : call_(std::move(call)), result_(std::move(result)) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<T>)
        call_();
      else
        value_.emplace(call_());
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  void deliver() override {
    if (error_)
      result_.set_exception(error_);
    else if constexpr (std::is_void_v<T>)
      result_.set();
    else
      result_.set(std::move(*value_));
  }

  void abandon(std::exception_ptr reason) override { result_.set_exception(std::move(reason)); }

 private:
  Call call_;
  AsyncResult<T> result_;
  [[no_unique_address]] Result<T> value_;
  std::exception_ptr error_;
};

// Waits for `result` and moves its value out, or rethrows its exception.
template <class T>
T take_result(const AsyncResult<T>& result) {
  if constexpr (std::is_void_v<T>)
    result.get();
  else
    return std::move(result.get());
}

}  // namespace detail

class ThreadPool {
 public:
  // A pool of at most `size` threads for this thread's hub. Size 0: std::invalid_argument.
  explicit ThreadPool(std::size_t size) : ThreadPool(size, Hub::current()) {}
  // Drops the jobs not started yet, then joins the threads (see the top of this file).
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs f(args...) on a pool thread (args are copied or moved, as by std::thread) and
  // returns the AsyncResult that will hold its value or the exception it threw.
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
      AsyncResult<detail::CallResult<F, Args...>> spawn(F&& f, Args&&... args) {
    using R = detail::CallResult<F, Args...>;
    AsyncResult<R> result;
    auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
    submit(std::make_unique<detail::ThreadPoolTask<R, decltype(call)>>(std::move(call), result));
    return result;
  }

  // spawn(f, args...).get(): waits for the result and returns it, or rethrows.
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> detail::CallResult<F, Args...>
  apply(F&& f, Args&&... args) {
    return detail::take_result(spawn(std::forward<F>(f), std::forward<Args>(args)...));
  }

  // Calls f(item) on the pool for every item (each job gets its own copy of f and of the
  // item; all are submitted first, so they run in parallel), then returns the results in the
  // order of `items` (nothing for a void f). The first failure in that order is rethrown;
  // the jobs after it still run to their end.
  template <class F, std::ranges::input_range Range>
  requires std::invocable<std::decay_t<F>, std::decay_t<std::ranges::range_reference_t<Range>>>
  auto map(F&& f, Range&& items) {
    using R = detail::CallResult<F&, std::ranges::range_reference_t<Range>>;
    std::vector<AsyncResult<R>> submitted;
    for (auto&& item : items) submitted.push_back(spawn(f, std::forward<decltype(item)>(item)));
    if constexpr (std::is_void_v<R>) {
      for (const auto& result : submitted) detail::take_result(result);
    } else {
      std::vector<R> results;
      results.reserve(submitted.size());
      for (const auto& result : submitted) results.push_back(detail::take_result(result));
      return results;
    }
  }

  // The most threads this pool runs.
  std::size_t size() const { return size_; }
  // The threads started so far (they start lazily, and stay until the pool is destroyed).
  std::size_t started_threads() const { return workers_.size(); }
  // Jobs queued or running on a thread right now.
  std::size_t pending() const;

 private:
  friend class detail::HubOwnedThreadPool;  // builds the hub's pools, abandons them after fork()
  ThreadPool(std::size_t size, Hub& hub);

  void submit(std::unique_ptr<detail::ThreadPoolJob> job);
  void check_owner_thread() const;
  bool needs_another_worker() const;
  void work(std::stop_token stop);
  std::unique_ptr<detail::ThreadPoolJob> next_job(std::stop_token stop);
  void finished_running();
  void hand_back(std::unique_ptr<detail::ThreadPoolJob> job);
  void abandon_queued_jobs();
  void abandon_after_fork();  // in a forked child, where the threads are gone

  Hub& hub_;
  const std::size_t size_;
  mutable std::mutex mutex_;  // guards jobs_, idle_workers_ and running_
  std::condition_variable_any job_queued_;
  std::deque<std::unique_ptr<detail::ThreadPoolJob>> jobs_;
  std::atomic<std::size_t> queued_{0};  // jobs_.size(), readable without the mutex
  std::size_t idle_workers_ = 0;
  std::size_t running_ = 0;
  std::vector<std::jthread> workers_;  // touched by the hub's thread only
};

namespace detail {

// A pool a hub makes on first use, with `size` threads at most, and abandons in a forked
// child (its threads did not survive the fork); the next use makes a new one.
class HubOwnedThreadPool : public HubService {
 public:
  HubOwnedThreadPool(Hub& hub, std::size_t size) : hub_(hub), size_(size) {}
  ~HubOwnedThreadPool() override;
  ThreadPool& pool();
  void after_fork_in_child() override;

 private:
  Hub& hub_;
  std::size_t size_;
  std::unique_ptr<ThreadPool> pool_;
};

// The hub's own pool (Hub::threadpool()): config().threadpool_size threads.
class HubThreadPool final : public HubOwnedThreadPool {
 public:
  explicit HubThreadPool(Hub& hub);
};

// The pool that runs the C library's blocking name lookups for the hub (the thread
// resolver, and getaddrinfo and getnameinfo under gevent::monkey): config().resolver_threads
// threads, started as lookups wait for them. Separate from the hub's pool, so that slow DNS
// answers neither wait behind the program's jobs nor hold its threads.
class ResolverThreadPool final : public HubOwnedThreadPool {
 public:
  explicit ResolverThreadPool(Hub& hub);
};

inline ThreadPool& resolver_threadpool(Hub& hub) {
  return hub.service<ResolverThreadPool>().pool();
}

}  // namespace detail

template <class Pool>
Pool& Hub::threadpool() {
  return service<detail::HubThreadPool>().pool();
}

}  // namespace gevent
