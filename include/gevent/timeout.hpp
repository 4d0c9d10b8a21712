// gevent::Timeout: a time limit on a scope, thrown as an exception in the greenlet that
// started it, at the switch point where it is waiting when the time is up.
//
//   try {
//     gevent::Timeout timeout{200ms};   // RAII: armed now, cancelled at scope exit
//     slow_operation();
//   } catch (const gevent::Timeout& t) { ... }
//
// Started inside a task (gevent/aio.hpp), the limit is the task's: it is thrown where the task
// awaits, or inside the blocking call the task is in.
// A greenlet that never waits cannot be interrupted (there is no switch point to throw at).
// The object thrown is a copy that carries the original's identity: t.is(timeout) tells
// whether the expiry caught is this scope's own or an enclosing one's. Like GreenletExit it
// does not derive from std::exception: `catch (const std::exception&)` does not swallow it.
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/ref.hpp"
#include "gevent/detail/task_unit.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/duration.hpp"

namespace gevent {

class Timeout {
 public:
  // No limit: never fires (gevent's Timeout(None)).
  Timeout() noexcept;
  // A limit of `seconds` (none if empty), started now unless `start` is false.
  explicit Timeout(MaybeDuration seconds, bool start = true);
  // A limit whose expiry throws `exception` instead of this Timeout (gevent's
  // Timeout(seconds, exception)): `gevent::Timeout limit{1s, TooSlow("fetch")};`.
  Timeout(MaybeDuration seconds, std::exception_ptr exception, bool start = true);
  template <class E>
  requires std::is_class_v<E> &&(!std::same_as<E, std::exception_ptr>)&&(!std::same_as<E, Timeout>)
      Timeout(MaybeDuration seconds, E exception, bool start = true)
      : Timeout(seconds, std::make_exception_ptr(std::move(exception)), start) {}
  // The copy carries identity and limit, not the timer: it is what a throw carries.
  Timeout(const Timeout& other) noexcept;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout();

  // (Re)arms the limit for the calling greenlet. No effect without a limit.
  void start();
  void cancel();
  bool pending() const { return node_.armed(); }
  MaybeDuration seconds() const;
  // Whether this (a caught exception) is the expiry of `other`, or `other` itself.
  bool is(const Timeout& other) const noexcept { return id_ == other.id_; }
  const char* what() const noexcept { return what_; }

 private:
  static void expire(detail::TimerNode& node);
  void describe();

  struct Node : detail::TimerNode {
    Timeout* owner;
  } node_;
  Hub* hub_ = nullptr;
  // Whom the expiry is thrown into, kept alive while the limit is armed: a greenlet, or the
  // task (gevent/aio.hpp) that started the limit.
  detail::Ref<detail::GreenletBase> target_;
  detail::Ref<detail::TaskUnit> target_task_;
  std::optional<Duration> seconds_;
  std::exception_ptr exception_;  // thrown at expiry instead of a copy of this, if set
  std::uint64_t id_;
  char what_[64];
};

namespace detail {
// Throws a kill or Timeout that is due in the current greenlet: one that came while it was
// inside a hooked libc call (gevent/monkey.hpp), which cannot throw through C frames.
void throw_pending_in_current();
}  // namespace detail

// Runs f(args...) under a Timeout of `seconds`; its expiry propagates as gevent::Timeout, also
// one that came while f was inside a hooked libc call: as f returns.
template <class F, class... Args>
decltype(auto) with_timeout(MaybeDuration seconds, F&& f, Args&&... args) {
  Timeout timeout(seconds);
  if constexpr (std::is_void_v<std::invoke_result_t<F, Args...>>) {
    std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    detail::throw_pending_in_current();
  } else {
    decltype(auto) result = std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    detail::throw_pending_in_current();
    return result;
  }
}

// Runs f(args...) under a Timeout of `seconds` and swallows that timeout's own expiry
// (gevent's Timeout(seconds, False) and with_timeout's timeout_value): returns the result as
// std::optional (empty on expiry), or for void f whether it completed. An enclosing
// timeout's expiry still propagates.
template <class F, class... Args>
auto try_with_timeout(MaybeDuration seconds, F&& f, Args&&... args) {
  using R = std::invoke_result_t<F, Args...>;
  Timeout timeout(seconds);
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      detail::throw_pending_in_current();
      return true;
    } else {
      std::optional<R> result(std::invoke(std::forward<F>(f), std::forward<Args>(args)...));
      detail::throw_pending_in_current();
      return result;
    }
  } catch (const Timeout& expired) {
    if (!expired.is(timeout)) throw;
    if constexpr (std::is_void_v<R>)
      return false;
    else
      return std::optional<R>();
  }
}

}  // namespace gevent
