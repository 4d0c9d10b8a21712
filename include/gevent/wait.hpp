// wait() and iwait() over anything waitable: Greenlet handles and every blocking object
// (Event, AsyncResult, Semaphore, Queue, ...), since all share the one wait protocol.
//
//   for (auto& g : gevent::iwait(greenlets)) use(g);      // in the order they finish
//   auto ready = gevent::wait(greenlets, 1s);             // the ones ready within 1 s
#pragma once

#include <concepts>
#include <cstddef>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <vector>

#include "gevent/detail/link.hpp"
#include "gevent/detail/pull_iterator.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/duration.hpp"

namespace gevent {

// Anything with a wait-protocol core (`linkable()` returning detail::Linkable&), or a pointer
// to one: wait() and iwait() take a vector<Greenlet<T>> as well as a vector<Event*>.
template <class T>
concept Waitable = requires(T& t) {
  { t.linkable() } -> std::convertible_to<detail::Linkable&>;
}
|| (std::is_pointer_v<T> && requires(T t) {
  { t->linkable() } -> std::convertible_to<detail::Linkable&>;
});

namespace detail {
template <class T>
Linkable& linkable_of(T& object) {
  if constexpr (std::is_pointer_v<T>)
    return object->linkable();
  else
    return object.linkable();
}
}  // namespace detail

namespace detail {

// The engine behind iwait: links every object, then hands out indices as they become ready.
class IWaitCore {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  IWaitCore(std::vector<Linkable*> objects, MaybeDuration timeout, std::size_t count);
  ~IWaitCore();
  IWaitCore(const IWaitCore&) = delete;
  IWaitCore& operator=(const IWaitCore&) = delete;

  // Blocks until another object is ready and returns its index; npos once `count` objects
  // were returned, or when the timeout has passed.
  std::size_t next();

 private:
  struct Slot final : Link {
    IWaitCore* core = nullptr;
    std::size_t index = 0;
    void notify(Linkable&) override;
  };
  void on_ready(Slot& slot);

  std::unique_ptr<Slot[]> slots_;
  std::deque<std::size_t> ready_;
  Waiter waiter_;
  std::optional<Clock::time_point> deadline_;
  std::size_t remaining_;
};

}  // namespace detail

template <class T>
class IWait {
 public:
  IWait(std::vector<T*> objects, MaybeDuration timeout, std::optional<std::size_t> count)
      : objects_(std::move(objects)),
        core_(std::make_unique<detail::IWaitCore>(linkables(objects_), timeout,
                                                  count.value_or(objects_.size()))) {}
  // Over objects it keeps itself (copies of handles from a temporary range).
  IWait(std::vector<T> owned, MaybeDuration timeout, std::optional<std::size_t> count)
      : IWait(pointers_to(owned), timeout, count) {
    owned_ = std::move(owned);  // moving a vector keeps its elements where they are
  }

  using iterator = detail::PullIterator<IWait, T>;

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  friend iterator;

  // The next object to become ready, or null at the end.
  T* next() {
    const std::size_t index = core_->next();
    return index == detail::IWaitCore::npos ? nullptr : objects_[index];
  }

  static std::vector<T*> pointers_to(std::vector<T>& objects) {
    std::vector<T*> result;
    for (T& object : objects) result.push_back(&object);
    return result;
  }

  static std::vector<detail::Linkable*> linkables(const std::vector<T*>& objects) {
    std::vector<detail::Linkable*> result;
    result.reserve(objects.size());
    for (T* object : objects) result.push_back(&detail::linkable_of(*object));
    return result;
  }

  std::vector<T> owned_;
  std::vector<T*> objects_;
  std::unique_ptr<detail::IWaitCore> core_;
};

// Yields each object as it becomes ready (those ready already first, in order), until
// `count` objects (default: all) were yielded or `timeout` passes. Given a temporary range
// (`iwait(std::vector{a, b})`) it keeps copies of the elements, so they must be copyable
// handles; pass a range of non-copyable objects (Event, Queue) as an lvalue.
template <std::ranges::range Range>
requires Waitable<std::ranges::range_value_t<Range>>
auto iwait(Range&& objects, MaybeDuration timeout = {}, std::optional<std::size_t> count = {}) {
  using T = std::ranges::range_value_t<Range>;
  if constexpr (std::is_lvalue_reference_v<Range>) {
    std::vector<T*> pointers;
    for (auto& object : objects) pointers.push_back(&object);
    return IWait<T>(std::move(pointers), timeout, count);
  } else {
    return IWait<T>(std::vector<T>(std::ranges::begin(objects), std::ranges::end(objects)), timeout,
                    count);
  }
}

// iwait({a, b}): handles of one type, or pointers to objects of one type
// (`iwait({&event, &other_event})`); greenlets of mixed result types: see greenlet.hpp.
template <Waitable T>
requires std::copyable<T>
auto iwait(std::initializer_list<T> objects, MaybeDuration timeout = {},
           std::optional<std::size_t> count = {}) {
  return IWait<T>(std::vector<T>(objects), timeout, count);
}

namespace detail {

// Gathers what iwait yields, in that order, calling visit(object) on each as it comes:
// pointers into a borrowed (lvalue) range, copies of the elements of a temporary one.
template <class Range, class Visit>
auto collect_ready(Range&& objects, MaybeDuration timeout, std::optional<std::size_t> count,
                   Visit visit) {
  constexpr bool borrowed = std::is_lvalue_reference_v<Range>;
  using T = std::ranges::range_value_t<Range>;
  std::vector<std::conditional_t<borrowed, T*, T>> ready;
  for (auto& object : iwait(std::forward<Range>(objects), timeout, count)) {
    if constexpr (borrowed)
      ready.push_back(&object);
    else
      ready.push_back(object);
    visit(object);
  }
  return ready;
}

}  // namespace detail

// Waits until `count` objects (default: all) are ready or `timeout` passes; returns the ready
// ones in the order they became ready: pointers into `objects`, or, for a temporary range,
// copies of its elements.
template <std::ranges::range Range>
requires Waitable<std::ranges::range_value_t<Range>>
auto wait(Range&& objects, MaybeDuration timeout = {}, std::optional<std::size_t> count = {}) {
  return detail::collect_ready(std::forward<Range>(objects), timeout, count, [](auto&) {});
}

// wait({a, b}), as iwait({a, b}); returns copies of the ready elements.
template <Waitable T>
requires std::copyable<T>
auto wait(std::initializer_list<T> objects, MaybeDuration timeout = {},
          std::optional<std::size_t> count = {}) {
  return wait(std::vector<T>(objects), timeout, count);
}

// With no objects: runs the hub until nothing is left to do (gevent.wait()). True if so,
// false if `timeout` passed first.
bool wait(MaybeDuration timeout = {});

}  // namespace gevent
