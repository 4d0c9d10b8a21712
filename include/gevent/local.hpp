// gevent.local: greenlet-local storage. Each greenlet sees its own T, made on its first
// access and destroyed (in the hub) when the greenlet dies. A task (gevent/aio.hpp) is a unit
// of its own: it sees its own T, whichever runner greenlet resumes it.
//
//   gevent::local<Request> request;
//   void handler() { request->path = "/"; ... }   // every greenlet its own Request
//
// A local belongs to one thread's greenlets, like the greenlets themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>

#include "gevent/detail/execution_unit.hpp"
#include "gevent/greenlet.hpp"  // users of local<T> spawn greenlets; it came with it before

namespace gevent {

template <class T>
class local {
 public:
  // Each greenlet's value starts as T{} ...
  local() : local([] { return T{}; }) {}
  // ... or as what `make` returns.
  explicit local(std::function<T()> make)
      : make_(std::move(make)), values_(std::make_shared<Values>()) {}
  local(const local&) = delete;
  local& operator=(const local&) = delete;
  ~local() {
    for (auto& [key, entry] : *values_) entry.owner.cancel_on_end(entry.token);
  }

  // The current greenlet's (or task's) value, made on first access.
  T& get() {
    auto it = values_->find(detail::ExecutionUnit::current_key());
    if (it == values_->end()) {
      detail::ExecutionUnit current = detail::ExecutionUnit::current();
      it = values_->emplace(current.key(), make_entry(current)).first;
    }
    return it->second.value;
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

  // How many greenlets (and tasks) hold a value now.
  std::size_t size() const { return values_->size(); }

 private:
  struct Entry {
    T value;
    detail::ExecutionUnit owner;  // keeps its address from being reused before cleanup
    std::uint64_t token;
  };
  using Values = std::unordered_map<const void*, Entry>;

  Entry make_entry(const detail::ExecutionUnit& owner) {
    const std::uint64_t token =
        owner.on_end([weak = std::weak_ptr<Values>(values_), key = owner.key()] {
          if (auto values = weak.lock()) values->erase(key);
        });
    return Entry{make_(), owner, token};
  }

  std::function<T()> make_;
  std::shared_ptr<Values> values_;
};

}  // namespace gevent
