// The untyped core of a spawned task (gevent/aio.hpp): its place in the hub's run queue, where
// it is suspended and on what, what is due to be thrown into it, its outcome and its waiters.
// The typed part (TaskRecord<T>) keeps the value. Implemented in src/aio.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "gevent/detail/callback_links.hpp"
#include "gevent/detail/link.hpp"
#include "gevent/detail/ready_queue.hpp"
#include "gevent/detail/task_unit.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/duration.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class GreenletBase;
class TaskService;

// What a task awaits, as its awaiter (which lives in the coroutine frame) sees a cancellation.
class Suspension {
 public:
  // The task is interrupted (killed, timed out) while it waits here: stop waiting. Returns
  // true when the task may resume at once, false when the awaiter still waits for something
  // to end first (a greenlet the task spawned, a thread-pool job) and wakes the task then.
  virtual bool abandon() noexcept = 0;

 protected:
  ~Suspension() = default;
};

class TaskCore : public Linkable, public ReadyNode, public TaskUnit {
 public:
  enum class State : std::uint8_t {
    queued,     // in the hub's run queue: to start, or to resume
    running,    // on a runner greenlet (also while inside a blocking gevent call there)
    suspended,  // at a co_await
    done,
  };

  explicit TaskCore(Hub& hub);
  TaskCore(const TaskCore&) = delete;
  TaskCore& operator=(const TaskCore&) = delete;

  std::uint64_t add_end_callback(std::function<void()> callback) override {
    return end_callbacks_.add(*this, std::move(callback));
  }
  bool remove_end_callback(std::uint64_t token) override { return end_callbacks_.remove(token); }
  void add_ref() noexcept override { ++refs_; }
  void release() noexcept override {
    if (--refs_ == 0) delete this;
  }
  Hub& hub() const { return hub_; }
  TaskService& service() const { return service_; }
  State state() const { return state_; }
  bool ready() const override { return state_ == State::done; }
  bool successful() const { return state_ == State::done && (!outcome_ || exited_); }
  // What it ended with: a failure (null on success and after GreenletExit), or the GreenletExit.
  std::exception_ptr exception() const {
    observed_ = true;
    return exited_ ? nullptr : outcome_;
  }
  std::exception_ptr exit_exception() const { return exited_ ? outcome_ : nullptr; }
  std::uint64_t id() const { return id_; }
  std::string name() const { return "Task-" + std::to_string(id_); }

  // Queues the task to run its coroutine `root` (suspended at its start) on the hub.
  void start(std::coroutine_handle<> root);
  // Throws `exception` at the task's suspension point (TaskUnit); see Future::kill.
  void interrupt(std::exception_ptr exception) override;
  void kill(std::exception_ptr exception, bool block, MaybeDuration timeout);
  // Waits (the calling greenlet, or the task it runs) until the task is done.
  bool join(MaybeDuration timeout);
  // For the greenlet whose task this is (aio::wait): waits until done; if the wait is
  // interrupted, cancels the task, waits until its frames are gone, and rethrows.
  void join_owned();
  // Rethrows what the task failed with, or its GreenletExit.
  void rethrow_failure() const;

  // --- for awaiters, in the task's own frames ---
  // Suspends at `at` on `suspension`. False when an interruption is due and the wait is
  // `interruptible`: then the awaiter must not suspend, and its await_resume throws it.
  bool suspend(std::coroutine_handle<> at, Suspension& suspension,
               bool interruptible = true) noexcept;
  bool has_pending() const { return pending_ != nullptr; }
  // What the task awaits has happened: queues it to resume. Idempotent; from the hub too.
  void wake() noexcept;
  // At every await_resume: throws the interruption due, if any.
  void throw_pending() {
    if (pending_) [[unlikely]]
      throw_pending_slow();
  }
  // Symmetric transfer to `to` (a child task starting, a parent resuming): at most a budget of
  // them in a row, then through the run queue, so that chains of awaits that complete at once
  // do not grow the stack (a transfer is not a tail call at -O0 or under ASan).
  std::coroutine_handle<> transfer(std::coroutine_handle<> to) noexcept;
  // The root coroutine reached its end (its final awaiter): the runner finishes the task.
  void root_finished() noexcept { root_finished_ = true; }

  // --- for the scheduler (src/aio) ---
  // Runs the task on `runner` until it suspends or ends.
  void run_on(GreenletBase& runner);
  // The hub is going and the task did not end when cancelled: its frames are destroyed.
  void destroy_unfinished() noexcept;
  // No runner could be had for its first run (no stack): it ends with that error.
  void fail_to_start(std::exception_ptr why) noexcept;

  // The service's list of live tasks.
  TaskCore* live_prev = nullptr;
  TaskCore* live_next = nullptr;

 protected:
  virtual ~TaskCore();
  // Takes the root coroutine's outcome from its promise: the value is kept, the exception
  // returned.
  virtual std::exception_ptr take_result(std::coroutine_handle<> root) = 0;

 private:
  // Symmetric transfers left before the next goes through the run queue: 64 keeps a chain of
  // awaits that complete at once to a few dozen frames at -O0. Per task: another runner may
  // run meanwhile, while this one's runner blocks mid-chain.
  static constexpr int kTransferBudget = 64;

  void queue() noexcept;
  void finish(std::exception_ptr outcome) noexcept;
  std::exception_ptr root_outcome() noexcept;
  void suspended_elsewhere() noexcept;
  void wait_for_frames();
  void adopt_runner_pending(GreenletBase& runner);
  [[noreturn]] void throw_pending_slow();

  Hub& hub_;
  TaskService& service_;
  std::coroutine_handle<> root_;
  std::coroutine_handle<> resume_at_;
  Suspension* suspension_ = nullptr;
  GreenletBase* runner_ = nullptr;
  std::exception_ptr pending_;
  std::vector<std::exception_ptr> more_pending_;
  std::exception_ptr outcome_;
  CallbackLinks end_callbacks_;
  std::uint64_t id_;
  std::uint32_t refs_ = 0;
  int transfers_left_ = kTransferBudget;
  State state_ = State::queued;
  bool started_ = false;
  bool root_finished_ = false;
  bool exited_ = false;
  mutable bool observed_ = false;  // exception() or a rethrow saw the failure
};

// The base of every Task<T>'s promise: the task it belongs to, and the frame to resume when it
// ends (null for a spawned task's root).
struct PromiseBase {
  TaskCore* unit = nullptr;
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  // A task started (or resumed) through the run queue may have an interruption due by then.
  struct InitialAwaiter {
    PromiseBase& promise;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept {}
    void await_resume() {
      if (promise.unit) promise.unit->throw_pending();
    }
  };
  InitialAwaiter initial_suspend() noexcept { return {*this}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) noexcept {
      PromiseBase& promise = self.promise();
      if (promise.continuation) return promise.unit->transfer(promise.continuation);
      promise.unit->root_finished();
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class P>
concept TaskPromise = std::derived_from<P, PromiseBase>;

// The await_suspend of the awaiters below: only in a task (a coroutine whose promise is a
// PromiseBase); it calls Awaiter::begin(at, task).
template <class Awaiter>
struct SuspendsInTask {
  template <TaskPromise P>
  bool await_suspend(std::coroutine_handle<P> at) {
    return static_cast<Awaiter&>(*this).begin(at, *at.promise().unit);
  }
};

// Waits, in a task, until a Linkable (a greenlet, an Event, another task...) is ready.
class ObjectWait final : public Link, public Suspension, public SuspendsInTask<ObjectWait> {
 public:
  enum class OnCancel : std::uint8_t {
    stop_waiting,   // a cancelled task stops waiting (a joined greenlet keeps running)
    wait_for_it,    // it must end first (a thread-pool job), then the cancellation is thrown
    kill_greenlet,  // `object` is a greenlet the task spawned: kill it, wait, then throw
    shielded,       // waits on; the cancellation is thrown at the task's next suspension
  };
  explicit ObjectWait(Linkable& object, OnCancel on_cancel = OnCancel::stop_waiting)
      : object_(object), on_cancel_(on_cancel) {}

  bool await_ready() const { return object_.ready(); }
  void await_resume() { end(); }

  void notify(Linkable&) override;
  bool abandon() noexcept override;

 private:
  friend SuspendsInTask;
  bool begin(std::coroutine_handle<> at, TaskCore& task);
  void end();

  Linkable& object_;
  TaskCore* task_ = nullptr;
  OnCancel on_cancel_;
};

// Waits, in a task, until any of several Linkables is ready (gather, wait_any). Links one slot
// per object: allocates, unlike the single-object awaits.
class AnyWait final : public Suspension, public SuspendsInTask<AnyWait> {
 public:
  explicit AnyWait(const std::vector<Linkable*>& objects);
  ~AnyWait();
  AnyWait(const AnyWait&) = delete;
  AnyWait& operator=(const AnyWait&) = delete;

  bool await_ready() const;
  void await_resume();

  bool abandon() noexcept override;

 private:
  struct Slot final : Link {
    AnyWait* owner = nullptr;
    Linkable* object = nullptr;
    void notify(Linkable&) override;
  };
  friend SuspendsInTask;
  bool begin(std::coroutine_handle<> at, TaskCore& task);
  void unlink_all() noexcept;

  std::unique_ptr<Slot[]> slots_;
  std::size_t count_;
  TaskCore* task_ = nullptr;
};

// aio::sleep's awaiter: a hub timer that resumes the task. Zero or less: a yield.
class SleepWait final : public TimerNode, public Suspension, public SuspendsInTask<SleepWait> {
 public:
  explicit SleepWait(Duration duration) : duration_(duration) {}
  ~SleepWait();
  SleepWait(const SleepWait&) = delete;
  SleepWait& operator=(const SleepWait&) = delete;

  bool await_ready() const { return false; }
  void await_resume();

  bool abandon() noexcept override;

 private:
  friend SuspendsInTask;
  bool begin(std::coroutine_handle<> at, TaskCore& task);

  Duration duration_;
  TaskCore* task_ = nullptr;
};

}  // namespace gevent::detail
