// async/await beside greenlets: C++20 tasks on the hub, each side waiting on the other.
//
//   gevent::aio::Task<int> answer() {
//     co_await gevent::aio::sleep(10ms);        // suspends this task only
//     co_await ready;                           // a gevent::Event
//     co_return 42;
//   }
//   auto future = gevent::aio::spawn(answer());  // runs on the hub, FIFO with greenlets
//   int v = gevent::aio::wait(answer());         // from a greenlet: blocks only that greenlet
//
// A task is lazy: it runs once spawned or awaited (`co_await child()` runs the child inline,
// as part of the same task). Inside a task, `co_await` works on a gevent::Event, an
// AsyncResult, a Greenlet (its value or its exception), a Future (another task), a Task, and
// aio::sleep; an object that is ready already does not suspend, and no co_await allocates.
//
// A blocking gevent call inside a task (gevent::sleep, a socket read, Future::get) blocks only
// that task: tasks run on runner greenlets of the hub, and a runner whose task blocks is left
// to it while another runs the other tasks. Calls from the hub itself still throw
// BlockingSwitchOutError.
//
// Cancellation is the greenlets' own: GreenletExit means cancel and gevent::Timeout means
// deadline, thrown where the task awaits (or inside its blocking call), never caught by
// `catch (const std::exception&)`. A gevent::Timeout started inside a task is the task's.
// Killing a greenlet that waits in aio::wait(task) cancels the task and waits until its frames
// are gone (they may refer to the greenlet's stack). A cancelled task stops waiting on a
// greenlet it joined without killing it; a greenlet it started with run_in_greenlet is killed
// and waited for. When the hub is destroyed, tasks still alive are cancelled and waited for.
//
// See docs/aio.md.
#pragma once

#include <concepts>
#include <coroutine>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "gevent/detail/aio_task_core.hpp"
#include "gevent/detail/ref.hpp"
#include "gevent/event.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/hub.hpp"
#include "gevent/threadpool.hpp"
#include "gevent/timeout.hpp"

namespace gevent::aio {

template <class T>
class Task;
template <class T>
class Future;

namespace detail {

using gevent::detail::ObjectWait;
using gevent::detail::PromiseBase;
using gevent::detail::TaskCore;
using gevent::detail::TaskPromise;

// Where a task's value waits between co_return and whoever takes it.
template <class T>
struct ValueSlot {
  std::optional<T> value;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() { return std::move(*value); }
};
template <>
struct ValueSlot<void> {
  void return_void() {}
  void take() {}
};

// co_await on something with a result (an AsyncResult, a greenlet, another task's Future):
// waits, then its value (a copy: other handles keep theirs; moved when T cannot be copied) or
// its exception.
template <class Handle, class T>
class ResultWait {
 public:
  ResultWait(Handle handle, ObjectWait::OnCancel on_cancel = ObjectWait::OnCancel::stop_waiting)
      : handle_(std::move(handle)), wait_(handle_.linkable(), on_cancel) {}
  bool await_ready() const { return wait_.await_ready(); }
  template <TaskPromise P>
  bool await_suspend(std::coroutine_handle<P> at) {
    return wait_.await_suspend(at);
  }
  T await_resume() {
    wait_.await_resume();
    if constexpr (std::is_void_v<T>)
      handle_.get();
    else if constexpr (std::is_copy_constructible_v<T>)
      return handle_.get();
    else
      return std::move(handle_).get();
  }

 private:
  Handle handle_;
  ObjectWait wait_;
};

template <class T>
using AsyncResultWait = ResultWait<AsyncResult<T>, T>;
template <class T>
using JoinWait = ResultWait<Greenlet<T>, T>;
template <class T>
using FutureWait = ResultWait<Future<T>, T>;

struct EventWait {
  explicit EventWait(Event& event) : wait(event.linkable()) {}
  bool await_ready() const { return wait.await_ready(); }
  template <TaskPromise P>
  bool await_suspend(std::coroutine_handle<P> at) {
    return wait.await_suspend(at);
  }
  void await_resume() { wait.await_resume(); }
  ObjectWait wait;
};

template <class T>
struct Promise : PromiseBase, ValueSlot<T> {
  Task<T> get_return_object() noexcept;
};

// co_await on a Task: the child runs as part of the awaiting task.
template <class ChildPromise>
struct ChildWait {
  std::coroutine_handle<ChildPromise> child;
  bool await_ready() const noexcept { return false; }
  template <TaskPromise P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
    TaskCore& unit = *parent.promise().unit;
    child.promise().unit = &unit;
    child.promise().continuation = parent;
    return unit.transfer(child);
  }
  decltype(auto) await_resume() {
    if (child.promise().error) std::rethrow_exception(child.promise().error);
    child.promise().unit->throw_pending();  // due while the chain went through the run queue
    return child.promise().take();
  }
};

}  // namespace detail

// A lazy C++20 coroutine returning T. Runs when spawned (aio::spawn, aio::wait) or awaited by
// another task. Move-only; destroying a Task that never ran destroys its frame unrun.
template <class T = void>
class [[nodiscard]] Task {
  static_assert(!std::is_reference_v<T>, "gevent::aio::Task<T&>: return a pointer or a value");

 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Task& operator=(Task other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  ~Task() {
    if (handle_) handle_.destroy();
  }

  // co_await in another task: runs this one inline, as part of the awaiting task; gives its
  // value or rethrows its exception.
  auto operator co_await() && {
    if (!handle_) throw std::logic_error("gevent::aio: awaiting an empty Task");
    return detail::ChildWait<promise_type>{handle_};
  }

  // The coroutine, handed over (to aio::spawn).
  Handle release() noexcept { return std::exchange(handle_, nullptr); }
  explicit operator bool() const { return static_cast<bool>(handle_); }

 private:
  friend promise_type;
  explicit Task(Handle handle) : handle_(handle) {}
  Handle handle_;
};

template <class T>
Task<T> detail::Promise<T>::get_return_object() noexcept {
  return Task<T>(Task<T>::Handle::from_promise(*this));
}

namespace detail {

// A spawned task with its value.
template <class T>
class TaskRecord final : public TaskCore {
 public:
  using TaskCore::TaskCore;
  decltype(auto) value() {
    if constexpr (!std::is_void_v<T>) return (*value_);
  }

 private:
  std::exception_ptr take_result(std::coroutine_handle<> root) override {
    auto& promise = Task<T>::Handle::from_address(root.address()).promise();
    if (promise.error) return promise.error;
    if constexpr (!std::is_void_v<T>) value_.emplace(promise.take());
    return nullptr;
  }
  std::conditional_t<std::is_void_v<T>, std::monostate, std::optional<T>> value_;
};

}  // namespace detail

// A handle to a spawned task (gevent's Greenlet for tasks, asyncio's Task): reference-counted,
// for the thread whose hub runs it. wait(), iwait() and joinall() accept it.
template <class T = void>
class Future {
 public:
  Future() = default;

  bool valid() const { return static_cast<bool>(record_); }
  bool ready() const { return core().ready(); }
  bool dead() const { return core().ready(); }
  // Ended without an exception (ending with GreenletExit counts as success).
  bool successful() const { return core().successful(); }
  // What it failed with; null while running, on success and after GreenletExit.
  std::exception_ptr exception() const { return core().exception(); }
  std::string name() const { return core().name(); }
  std::uint64_t minimal_ident() const { return core().id(); }

  // Waits until it has ended; false if `timeout` passed first. From a greenlet it blocks that
  // greenlet, from a task that task (co_await the Future instead, in a task).
  bool join(MaybeDuration timeout = {}) const { return core().join(timeout); }
  // Waits (up to `timeout`, else throws gevent::Timeout; the task goes on), then returns the
  // value or rethrows what the task died with (GreenletExit if it was cancelled).
  decltype(auto) get(MaybeDuration timeout = {}) const& {
    if (!join(timeout)) throw Timeout(timeout, false);
    core().rethrow_failure();
    if constexpr (!std::is_void_v<T>) return static_cast<T&>(record_->value());
  }
  // On a temporary handle, the value itself, moved out.
  T get(MaybeDuration timeout = {}) && {
    if constexpr (std::is_void_v<T>)
      static_cast<const Future&>(*this).get(timeout);
    else
      return std::move(static_cast<const Future&>(*this).get(timeout));
  }
  // Cancels the task: throws `exception` (GreenletExit by default) where it awaits and, if
  // `block`, waits up to `timeout` for it to end. A task that never ran never will. Killing
  // the current task throws right here. From the hub, `block` is ignored.
  void kill(std::exception_ptr exception = nullptr, bool block = true,
            MaybeDuration timeout = {}) const {
    core().kill(std::move(exception), block, timeout);
  }

  // In a task: waits for it, then its value (or its exception).
  detail::FutureWait<T> operator co_await() const { return detail::FutureWait<T>(*this); }

  gevent::detail::Linkable& linkable() const { return core(); }

 private:
  template <class U>
  friend Future<U> spawn(Task<U> task);
  template <class U>
  friend U wait(Task<U> task);
  explicit Future(detail::TaskRecord<T>* record) : record_(record) {}
  detail::TaskCore& core() const {
    if (!record_) throw std::logic_error("gevent::aio: empty Future");
    return *record_;
  }

  gevent::detail::Ref<detail::TaskRecord<T>> record_;
};

// Starts `task` on this thread's hub; it runs when the current greenlet (or task) next waits,
// in FIFO order with greenlets.
template <class T>
Future<T> spawn(Task<T> task) {
  if (!task) throw std::logic_error("gevent::aio::spawn: an empty Task");
  Future<T> future(new detail::TaskRecord<T>(Hub::current()));
  auto handle = task.release();
  handle.promise().unit = future.record_.get();
  future.record_->start(handle);
  return future;
}

// From a greenlet: runs `task` and waits for it, blocking only the calling greenlet (inside a
// task: only that task). Returns its value or rethrows its exception. If the wait is
// interrupted (the greenlet killed, a Timeout), the task is cancelled and waited for, then
// the interruption propagates.
template <class T>
T wait(Task<T> task) {
  if (Hub::current().in_hub()) Hub::throw_blocking_in_hub("gevent::aio::wait");
  Future<T> future = spawn(std::move(task));
  future.core().join_owned();
  return std::move(future).get();
}

// In a task: suspends it for `duration` (zero or less: yields to everything ready, once).
template <class Rep, class Period>
gevent::detail::SleepWait sleep(std::chrono::duration<Rep, Period> duration) {
  return gevent::detail::SleepWait(to_duration(duration));
}

// In a task: waits for a greenlet; its value, or the exception it died with. The same as
// `co_await greenlet`. A cancelled task stops waiting; the greenlet goes on.
template <class T>
detail::JoinWait<T> join(const Greenlet<T>& greenlet) {
  return detail::JoinWait<T>(greenlet, detail::ObjectWait::OnCancel::stop_waiting);
}

// A blocking function as a task: runs f(args...) in a new greenlet and awaits it. Cancelling
// the task kills the greenlet and waits for it to die.
template <class F, class... Args>
auto run_in_greenlet(F f, Args... args) -> Task<gevent::detail::CallResult<F, Args...>> {
  using R = gevent::detail::CallResult<F, Args...>;
  Greenlet<R> greenlet = gevent::spawn(std::move(f), std::move(args)...);
  co_return co_await detail::JoinWait<R>(std::move(greenlet),
                                         detail::ObjectWait::OnCancel::kill_greenlet);
}

// A blocking function as a task, on the hub's thread pool (asyncio's to_thread). A thread
// cannot be interrupted: a cancelled task still waits for the call to return.
template <class F, class... Args>
auto to_thread(F f, Args... args) -> Task<gevent::detail::CallResult<F, Args...>> {
  auto result = Hub::current().threadpool().spawn(std::move(f), std::move(args)...);
  co_await gevent::detail::ObjectWait(result.linkable(), detail::ObjectWait::OnCancel::wait_for_it);
  co_return std::move(result).get();
}

// A task as a greenlet: the greenlet runs it and waits for it (aio::wait).
template <class T>
Greenlet<T> as_greenlet(Task<T> task) {
  return gevent::spawn([task = std::move(task)]() mutable { return aio::wait(std::move(task)); });
}

namespace detail {
Task<> settle_all(std::vector<TaskCore*> tasks);
Task<std::size_t> first_to_end(std::vector<TaskCore*> tasks);

template <class T>
TaskCore& core_of(const Future<T>& future) {
  return static_cast<TaskCore&>(future.linkable());
}
template <class T>
std::vector<TaskCore*> cores_of(const std::vector<Future<T>>& futures) {
  std::vector<TaskCore*> cores;
  for (const Future<T>& future : futures) cores.push_back(&core_of(future));
  return cores;
}
template <class T>
std::vector<Future<T>> spawn_all(std::vector<Task<T>> tasks) {
  std::vector<Future<T>> futures;
  for (Task<T>& task : tasks) futures.push_back(aio::spawn(std::move(task)));
  return futures;
}
}  // namespace detail

// Runs the tasks concurrently (each a task of its own) and gives their values in order
// (asyncio.gather). The first failure cancels the others, waits for them to end, and is
// rethrown; cancelling the gathering task cancels them all, and waits for them too.
template <class T>
auto gather(std::vector<Task<T>> tasks)
    -> Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> {
  std::vector<Future<T>> futures = detail::spawn_all(std::move(tasks));
  co_await detail::settle_all(detail::cores_of(futures));
  if constexpr (std::is_void_v<T>) {
    for (Future<T>& future : futures) future.get();
  } else {
    std::vector<T> values;
    values.reserve(futures.size());
    for (Future<T>& future : futures) values.push_back(std::move(future).get());
    co_return values;
  }
}

// Runs the tasks concurrently and gives the index and value of the first to end (or rethrows
// what it failed with); the others are cancelled and waited for first.
template <class T>
auto wait_any(std::vector<Task<T>> tasks)
    -> Task<std::conditional_t<std::is_void_v<T>, std::size_t, std::pair<std::size_t, T>>> {
  if (tasks.empty()) throw std::invalid_argument("gevent::aio::wait_any: no task");
  std::vector<Future<T>> futures = detail::spawn_all(std::move(tasks));
  const std::size_t winner = co_await detail::first_to_end(detail::cores_of(futures));
  if constexpr (std::is_void_v<T>) {
    futures[winner].get();
    co_return winner;
  } else {
    co_return std::pair<std::size_t, T>(winner, std::move(futures[winner]).get());
  }
}

// Awaits `task` (inline, as part of this task) under a gevent::Timeout of `seconds`: its expiry
// is thrown where the task awaits then (asyncio.wait_for).
template <class T>
Task<T> timeout(MaybeDuration seconds, Task<T> task) {
  gevent::Timeout limit(seconds);
  co_return co_await std::move(task);
}

// The same, with the expiry swallowed: an empty optional (for void: false) when time ran out.
template <class T>
auto try_timeout(MaybeDuration seconds, Task<T> task)
    -> Task<std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>> {
  gevent::Timeout limit(seconds);
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      co_return true;
    } else {
      co_return std::optional<T>(co_await std::move(task));
    }
  } catch (const gevent::Timeout& expired) {
    if (!expired.is(limit)) throw;
  }
  if constexpr (std::is_void_v<T>)
    co_return false;
  else
    co_return std::optional<T>();
}

// Runs `task` to its end whatever happens to the awaiting task: a kill or Timeout that comes
// meanwhile is thrown as the shield returns (trio's shielded scope; asyncio.shield lets the
// awaiter leave at once, which C++ references into its frame forbid).
template <class T>
Task<T> shield(Task<T> task) {
  Future<T> future = aio::spawn(std::move(task));
  co_await gevent::detail::ObjectWait(detail::core_of(future),
                                      detail::ObjectWait::OnCancel::shielded);
  co_return std::move(future).get();
}

// From any thread: runs `task` on `hub` (which must outlive the call) and gives its outcome
// as a std::future (asyncio.run_coroutine_threadsafe). A hub destroyed before the task ran
// breaks the promise (std::future_error).
template <class T>
std::future<T> run_threadsafe(Hub& hub, Task<T> task) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> result = promise->get_future();
  auto relay = [](Task<T> inner, std::shared_ptr<std::promise<T>> out) -> Task<> {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(inner);
        out->set_value();
      } else {
        out->set_value(co_await std::move(inner));
      }
    } catch (...) {
      out->set_exception(std::current_exception());
    }
  };
  auto job = std::make_shared<Task<>>(relay(std::move(task), std::move(promise)));
  hub.run_callback_threadsafe([job] { aio::spawn(std::move(*job)); });
  return result;
}

}  // namespace gevent::aio

namespace gevent {

// What `co_await x` means in a task for gevent's own objects (found by argument-dependent
// lookup; a coroutine of another library cannot await them, at compile time).
inline aio::detail::EventWait operator co_await(Event& event) {
  return aio::detail::EventWait(event);
}
template <class T>
aio::detail::AsyncResultWait<T> operator co_await(const AsyncResult<T>& result) {
  return aio::detail::AsyncResultWait<T>(result);
}
template <class T>
aio::detail::JoinWait<T> operator co_await(const Greenlet<T>& greenlet) {
  return aio::join(greenlet);
}

}  // namespace gevent
