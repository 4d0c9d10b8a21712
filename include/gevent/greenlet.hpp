// Greenlets: gevent.Greenlet, spawn, joinall, killall, getcurrent.
//
//   auto g = gevent::spawn([] { gevent::sleep(50ms); return 42; });
//   int v = g.get();  // 42; rethrows what the greenlet died with
//
// A Greenlet<T> is a reference-counted handle: copies refer to the same greenlet, which lives
// until it has finished and the last handle is gone. Handles belong to the thread whose hub
// runs the greenlet; using one from another thread throws WrongThreadError.
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/ref.hpp"
#include "gevent/duration.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"
#include "gevent/timeout.hpp"
#include "gevent/wait.hpp"

namespace gevent {

struct SpawnOptions {
  std::size_t stack_size = 0;  // bytes; 0 = config().stack_size (GEVENT_STACK_SIZE)
  std::string name;            // empty = "Greenlet-N"
};

// A handle to any greenlet, whatever its result type: what getcurrent() returns.
class AnyGreenlet {
 public:
  AnyGreenlet() = default;
  // As gevent's Greenlet is truthy: started (the main greenlet and the hub are) and not dead;
  // false for an empty handle. Whether the handle refers to a greenlet at all: valid().
  explicit operator bool() const {
    using State = detail::GreenletBase::State;
    return core_ && core_->state() != State::unstarted && core_->state() != State::dead;
  }
  bool valid() const { return static_cast<bool>(core_); }
  friend bool operator==(const AnyGreenlet& a, const AnyGreenlet& b) { return a.core_ == b.core_; }

  // Schedules the greenlet to run (no effect if started, finished or killed).
  void start() const { core().start(); }
  template <class Rep, class Period>
  void start_later(std::chrono::duration<Rep, Period> delay) const {
    core().start_later(to_duration(delay));
  }

  // Waits until the greenlet has finished; false if `timeout` passed first.
  bool join(MaybeDuration timeout = {}) const { return core().join(timeout); }

  // Throws `exception` (GreenletExit by default) into the greenlet at its switch point and,
  // if `block`, waits up to `timeout` for it to die. Never throws on the target's account:
  // a dead greenlet is left alone, an unstarted one never runs. Killing the current greenlet
  // throws the exception right here. From the hub, `block` is ignored.
  void kill(std::exception_ptr exception = nullptr, bool block = true,
            MaybeDuration timeout = {}) const {
    core().kill(std::move(exception), block, timeout);
  }
  template <class E>
  requires std::is_class_v<E> &&(!std::same_as<std::decay_t<E>, std::exception_ptr>)void kill(
      E exception, bool block = true, MaybeDuration timeout = {}) const {
    kill(std::make_exception_ptr(std::move(exception)), block, timeout);
  }

  bool ready() const { return core().ready(); }
  bool dead() const { return core().ready(); }
  // start() was called (it stays true after the greenlet finishes).
  bool started() const { return core().started(); }
  // Finished without an exception (ending with GreenletExit counts as success).
  bool successful() const { return core().successful(); }
  // What it died with; null while alive, on success and after GreenletExit.
  std::exception_ptr exception() const { return core().exception(); }
  std::string name() const { return core().name(); }
  void set_name(std::string name) const { core().set_name(std::move(name)); }
  // The number run info (gevent/util.hpp), the monitor and tools/gdb/gevent.py show for it:
  // unique on its hub, counted up from 1 (gevent's minimal_ident).
  std::uint64_t minimal_ident() const { return core().id(); }

  // Callbacks on death. link* runs the callback in a new greenlet (it may block); rawlink
  // runs it in the hub (it must not block). A link added after death fires at once.
  // Each returns a token for unlink().
  std::uint64_t link(std::function<void(AnyGreenlet&)> callback) const {
    return add(std::move(callback), detail::GreenletBase::LinkWhen::always, false);
  }
  std::uint64_t link_value(std::function<void(AnyGreenlet&)> callback) const {
    return add(std::move(callback), detail::GreenletBase::LinkWhen::on_value, false);
  }
  std::uint64_t link_exception(std::function<void(AnyGreenlet&)> callback) const {
    return add(std::move(callback), detail::GreenletBase::LinkWhen::on_exception, false);
  }
  std::uint64_t rawlink(std::function<void(AnyGreenlet&)> callback) const {
    return add(std::move(callback), detail::GreenletBase::LinkWhen::always, true);
  }
  bool unlink(std::uint64_t token) const { return core().remove_link(token); }

  // The wait-protocol core, for wait()/iwait().
  detail::Linkable& linkable() const { return core(); }

  static AnyGreenlet from(detail::GreenletBase& core) { return AnyGreenlet(&core); }

 protected:
  explicit AnyGreenlet(detail::GreenletBase* core) : core_(core) {}
  detail::GreenletBase& core() const {
    if (!core_) throw std::logic_error("gevent: empty Greenlet handle");
    return *core_;
  }

 private:
  std::uint64_t add(std::function<void(AnyGreenlet&)> callback, detail::GreenletBase::LinkWhen when,
                    bool in_hub) const {
    return core().add_link(
        [callback = std::move(callback)](detail::GreenletBase& g) {
          AnyGreenlet handle(&g);
          callback(handle);
        },
        when, in_hub);
  }

  detail::Ref<detail::GreenletBase> core_;
};

namespace detail {

template <class T>
using Result = std::conditional_t<std::is_void_v<T>, std::monostate, std::optional<T>>;

template <class T>
class GreenletState : public GreenletBase {
 public:
  using GreenletBase::GreenletBase;
  [[no_unique_address]] Result<T> result;
};

template <class T, class F>
class GreenletTask final : public GreenletState<T> {
 public:
  GreenletTask(Hub& hub, std::size_t stack_size, F function)
      : GreenletState<T>(hub, GreenletBase::Kind::spawned, stack_size),
        function_(std::move(function)) {}

 private:
  void run() override {
    if constexpr (std::is_void_v<T>)
      (*function_)();
    else
      this->result.emplace((*function_)());
  }
  void drop_function() noexcept override { function_.reset(); }

  std::optional<F> function_;
};

// Binds f and decayed copies of args into one callable, as std::thread does.
template <class F, class... Args>
auto bind_call(F&& f, Args&&... args) {
  return [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> decltype(auto) {
    return std::invoke(std::move(f), std::move(args)...);
  };
}

template <class F, class... Args>
using CallResult = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

}  // namespace detail

template <class T>
class Greenlet : public AnyGreenlet {
  static_assert(!std::is_reference_v<T>, "gevent::Greenlet<T&>: return a pointer or a value");

 public:
  Greenlet() = default;

  // An unstarted greenlet that will call f(args...): start() or start_later() runs it.
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> &&
      std::same_as<detail::CallResult<F, Args...>, T>
  explicit Greenlet(F&& f, Args&&... args)
      : Greenlet(SpawnOptions{}, std::forward<F>(f), std::forward<Args>(args)...) {}

  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> &&
      std::same_as<detail::CallResult<F, Args...>, T>
      Greenlet(SpawnOptions options, F&& f, Args&&... args)
      : AnyGreenlet(make(options, std::forward<F>(f), std::forward<Args>(args)...)) {}

  // Waits for the greenlet (up to `timeout`, else throws gevent::Timeout), then returns its
  // value, or rethrows the exception it died with (GreenletExit if it was killed). The value
  // lives as long as a handle does: on a temporary handle (`spawn(f).get()`) get() returns
  // the value itself, moved out, rather than a reference that would dangle.
  decltype(auto) get(MaybeDuration timeout = {}) const& {
    if (!join(timeout)) throw Timeout(timeout, false);
    rethrow_failure();
    if constexpr (!std::is_void_v<T>) return static_cast<T&>(*state().result);
  }
  T get(MaybeDuration timeout = {}) && {
    if constexpr (std::is_void_v<T>)
      static_cast<const Greenlet&>(*this).get(timeout);
    else
      return std::move(static_cast<const Greenlet&>(*this).get(timeout));
  }

  std::uint64_t link(std::function<void(Greenlet&)> callback) const {
    return AnyGreenlet::link(typed(std::move(callback)));
  }
  std::uint64_t link_value(std::function<void(Greenlet&)> callback) const {
    return AnyGreenlet::link_value(typed(std::move(callback)));
  }
  std::uint64_t link_exception(std::function<void(Greenlet&)> callback) const {
    return AnyGreenlet::link_exception(typed(std::move(callback)));
  }
  std::uint64_t rawlink(std::function<void(Greenlet&)> callback) const {
    return AnyGreenlet::rawlink(typed(std::move(callback)));
  }

 private:
  template <class F, class... Args>
  static detail::GreenletBase* make(const SpawnOptions& options, F&& f, Args&&... args) {
    auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
    auto* task = new detail::GreenletTask<T, decltype(call)>(Hub::current(), options.stack_size,
                                                             std::move(call));
    if (!options.name.empty()) task->set_name(options.name);
    return task;
  }

  explicit Greenlet(detail::GreenletBase* core) : AnyGreenlet(core) {}

  detail::GreenletState<T>& state() const { return static_cast<detail::GreenletState<T>&>(core()); }

  void rethrow_failure() const {
    if (std::exception_ptr failure = core().exception()) std::rethrow_exception(failure);
    if (std::exception_ptr exit = core().exit_exception()) std::rethrow_exception(exit);
  }

  static std::function<void(AnyGreenlet&)> typed(std::function<void(Greenlet&)> callback) {
    return [callback = std::move(callback)](AnyGreenlet& any) {
      Greenlet typed_handle(any);
      callback(typed_handle);
    };
  }
  explicit Greenlet(const AnyGreenlet& any) : AnyGreenlet(any) {}
};

template <class F, class... Args>
Greenlet(F&&, Args&&...) -> Greenlet<detail::CallResult<F, Args...>>;
template <class F, class... Args>
Greenlet(SpawnOptions, F&&, Args&&...) -> Greenlet<detail::CallResult<F, Args...>>;

// Creates and starts a greenlet calling f(args...) (args are copied or moved, as by
// std::thread). It runs when the current greenlet next waits.
template <class F, class... Args>
requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(F&& f, Args&&... args) {
  Greenlet<detail::CallResult<F, Args...>> g(std::forward<F>(f), std::forward<Args>(args)...);
  g.start();
  return g;
}

template <class F, class... Args>
requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(SpawnOptions options, F&& f, Args&&... args) {
  Greenlet<detail::CallResult<F, Args...>> g(std::move(options), std::forward<F>(f),
                                             std::forward<Args>(args)...);
  g.start();
  return g;
}

// Like spawn, started after `delay`.
template <class Rep, class Period, class F, class... Args>
requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn_later(std::chrono::duration<Rep, Period> delay, F&& f, Args&&... args) {
  Greenlet<detail::CallResult<F, Args...>> g(std::forward<F>(f), std::forward<Args>(args)...);
  g.start_later(delay);
  return g;
}

// Starts f(args...) in a greenlet without a handle: nothing to join, the cheapest spawn
// (gevent.spawn_raw). An exception escaping it is reported on stderr.
template <class F, class... Args>
requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
void spawn_raw(F&& f, Args&&... args) { spawn(std::forward<F>(f), std::forward<Args>(args)...); }

// The running greenlet: a spawned one, the main greenlet, or the hub.
inline AnyGreenlet getcurrent() { return AnyGreenlet::from(Hub::current().current_greenlet()); }

// Waits for the greenlets (all, or the first `count`) to finish, up to `timeout`; returns
// the finished ones in the order they finished (pointers into `greenlets`, or handles when
// given a temporary range). With raise_error, the first failure's exception is rethrown as
// soon as it is seen.
template <std::ranges::range Range>
auto joinall(Range&& greenlets, MaybeDuration timeout = {}, bool raise_error = false,
             std::optional<std::size_t> count = {}) {
  return detail::collect_ready(std::forward<Range>(greenlets), timeout, count, [&](auto& g) {
    if (raise_error && !g.successful()) std::rethrow_exception(g.exception());
  });
}

// wait({a, b}) and iwait({a, b}) over greenlets of mixed result types (one type: wait.hpp).
inline auto wait(std::initializer_list<AnyGreenlet> greenlets, MaybeDuration timeout = {},
                 std::optional<std::size_t> count = {}) {
  return wait(std::vector<AnyGreenlet>(greenlets), timeout, count);
}
inline auto iwait(std::initializer_list<AnyGreenlet> greenlets, MaybeDuration timeout = {},
                  std::optional<std::size_t> count = {}) {
  return IWait<AnyGreenlet>(std::vector<AnyGreenlet>(greenlets), timeout, count);
}

// joinall({a, b}), gevent's joinall([a, b]): greenlets of any result types; returns handles.
inline auto joinall(std::initializer_list<AnyGreenlet> greenlets, MaybeDuration timeout = {},
                    bool raise_error = false, std::optional<std::size_t> count = {}) {
  return joinall(std::vector<AnyGreenlet>(greenlets), timeout, raise_error, count);
}

namespace detail {

// killall, and Group::kill, which returns quietly at the timeout (`timeout_throws` false).
template <std::ranges::range Range>
void kill_all(Range&& greenlets, std::exception_ptr exception, bool block, MaybeDuration timeout,
              bool timeout_throws) {
  const AnyGreenlet current = getcurrent();
  std::vector<AnyGreenlet> others;
  bool caller_included = false;
  for (const AnyGreenlet& g : greenlets) {
    if (g == current)
      caller_included = true;
    else
      others.push_back(g);
  }
  for (auto& g : others) g.kill(exception, false);
  if (block && joinall(others, timeout).size() < others.size() && timeout_throws)
    throw Timeout(timeout, false);
  if (caller_included) current.kill(exception);
}

}  // namespace detail

// Kills every greenlet (see AnyGreenlet::kill); with `block`, waits up to `timeout` for all
// of them to die, and throws gevent::Timeout if some are still alive then (as gevent raises).
// If the caller is among them, it is killed last, after the others.
template <std::ranges::range Range>
void killall(Range&& greenlets, std::exception_ptr exception = nullptr, bool block = true,
             MaybeDuration timeout = {}) {
  detail::kill_all(std::forward<Range>(greenlets), std::move(exception), block, timeout, true);
}
inline void killall(std::initializer_list<AnyGreenlet> greenlets,
                    std::exception_ptr exception = nullptr, bool block = true,
                    MaybeDuration timeout = {}) {
  killall(std::vector<AnyGreenlet>(greenlets), std::move(exception), block, timeout);
}

}  // namespace gevent
