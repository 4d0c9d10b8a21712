// gevent.event: Event and AsyncResult.
//
//   gevent::Event ready;
//   gevent::spawn([&] { prepare(); ready.set(); });
//   ready.wait();                               // blocks only this greenlet
//
//   gevent::AsyncResult<int> answer;
//   gevent::spawn([=]() mutable { answer.set(42); });
//   int v = answer.get();                       // 42
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "gevent/detail/callback_links.hpp"
#include "gevent/detail/link.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/duration.hpp"
#include "gevent/timeout.hpp"

namespace gevent {

namespace detail {

// A Linkable whose readiness is a flag the owner sets; set() wakes every waiter.
class FlagLinkable final : public Linkable {
 public:
  bool ready() const override { return flag_; }
  void set() {
    flag_ = true;
    notify_links();
  }
  void clear() { flag_ = false; }

 private:
  bool flag_ = false;
};

// Waits until `object` is ready; true if it was, or became, ready within `timeout`.
inline bool wait_flag(FlagLinkable& object, MaybeDuration timeout, WaitTopic topic) {
  if (object.ready()) return true;
  Waiter waiter(topic);
  WaiterLink link(waiter);
  object.rawlink(link);
  return waiter.wait(timeout);
}

}  // namespace detail

// A flag greenlets can wait for. Not copyable: share it by reference.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Sets the flag and wakes every waiting greenlet.
  void set() { core_.set(); }
  void clear() { core_.clear(); }
  bool is_set() const { return core_.ready(); }
  bool ready() const { return core_.ready(); }

  // Waits until the flag is set, up to `timeout`. Returns true if it was set (even if it has
  // been cleared again since), false on timeout.
  bool wait(MaybeDuration timeout = {}) {
    return detail::wait_flag(core_, timeout, detail::topic_of("Event", *this));
  }

  // Runs `callback` in the hub when the flag is next set (at once if it is set now).
  std::uint64_t rawlink(std::function<void()> callback) {
    return callbacks_.add(core_, std::move(callback));
  }
  bool unlink(std::uint64_t token) { return callbacks_.remove(token); }

  detail::Linkable& linkable() { return core_; }

 private:
  detail::FlagLinkable core_;
  detail::CallbackLinks callbacks_;
};

// A value (or an exception) that arrives later: gevent's AsyncResult, a future. A handle:
// copies refer to the same result, so it can be handed to the greenlet that fills it.
template <class T>
class AsyncResult {
  static_assert(!std::is_reference_v<T>, "gevent::AsyncResult<T&>: use a pointer");

 public:
  AsyncResult() : state_(std::make_shared<State>()) {}

  // Stores the value and wakes every waiter. Setting again replaces it, as in gevent.
  template <class... Args>
  void set(Args&&... args) {
    if constexpr (!std::is_void_v<T>) state_->value.emplace(std::forward<Args>(args)...);
    state_->exception = nullptr;
    state_->core.set();
  }
  void set_exception(std::exception_ptr exception) {
    state_->exception = std::move(exception);
    state_->core.set();
  }
  template <class E>
  requires std::is_class_v<E> &&
      (!std::same_as<std::decay_t<E>, std::exception_ptr>)void set_exception(E exception) {
    set_exception(std::make_exception_ptr(std::move(exception)));
  }

  bool ready() const { return state_->core.ready(); }
  bool successful() const { return ready() && !state_->exception; }
  std::exception_ptr exception() const { return state_->exception; }

  // Waits up to `timeout`; returns ready().
  bool wait(MaybeDuration timeout = {}) const {
    return detail::wait_flag(state_->core, timeout, detail::topic_of("AsyncResult", *state_));
  }

  // Waits for the result (up to `timeout`, else throws gevent::Timeout), then returns the
  // value or rethrows the exception. On a temporary handle it returns the value itself,
  // moved out, rather than a reference that would dangle.
  decltype(auto) get(MaybeDuration timeout = {}) const& {
    if (!wait(timeout)) throw Timeout(timeout, false);
    return get_nowait();
  }
  T get(MaybeDuration timeout = {}) && {
    if constexpr (std::is_void_v<T>)
      static_cast<const AsyncResult&>(*this).get(timeout);
    else
      return std::move(static_cast<const AsyncResult&>(*this).get(timeout));
  }
  // The result if ready; gevent::Timeout if not (as gevent's get_nowait).
  decltype(auto) get_nowait() const {
    if (!ready()) throw Timeout(Duration::zero(), false);
    if (state_->exception) std::rethrow_exception(state_->exception);
    if constexpr (!std::is_void_v<T>) return static_cast<T&>(*state_->value);
  }

  // Runs callback(result) in the hub when the result arrives (at once if it is there). The
  // callback gets the result as its argument: capturing this handle in it would make a
  // reference cycle.
  std::uint64_t rawlink(std::function<void(AsyncResult&)> callback) const {
    return state_->callbacks.add(
        state_->core, [weak = std::weak_ptr<State>(state_), callback = std::move(callback)] {
          if (auto state = weak.lock()) {
            AsyncResult result(std::move(state));
            callback(result);
          }
        });
  }
  bool unlink(std::uint64_t token) const { return state_->callbacks.remove(token); }

  detail::Linkable& linkable() const { return state_->core; }

 private:
  struct State;
  explicit AsyncResult(std::shared_ptr<State> state) : state_(std::move(state)) {}

  struct State {
    detail::FlagLinkable core;
    std::conditional_t<std::is_void_v<T>, std::monostate, std::optional<T>> value;
    std::exception_ptr exception;
    detail::CallbackLinks callbacks;
  };
  std::shared_ptr<State> state_;
};

}  // namespace gevent
