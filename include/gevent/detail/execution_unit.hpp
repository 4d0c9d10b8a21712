// The current unit of execution, as gevent::local and RLock see it: a greenlet, or the task
// (gevent/aio.hpp) that a runner greenlet runs, which is a unit of its own.
#pragma once

#include <cstdint>
#include <functional>

#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/ref.hpp"
#include "gevent/detail/task_unit.hpp"

namespace gevent::detail {

class ExecutionUnit {
 public:
  ExecutionUnit() = default;
  // The unit running now on this thread's hub.
  static ExecutionUnit current();
  // Its key() alone, without taking references.
  static const void* current_key();

  // Unique among live units; held, the unit's address is not reused.
  const void* key() const {
    return task_ ? static_cast<const void*>(task_.get())
                 : static_cast<const void*>(greenlet_.get());
  }
  explicit operator bool() const { return greenlet_ || task_; }

  // Runs `callback` in the hub once the unit has ended (at once if it has). Returns a token for
  // cancel_on_end.
  std::uint64_t on_end(std::function<void()> callback) const;
  void cancel_on_end(std::uint64_t token) const;

 private:
  Ref<GreenletBase> greenlet_;
  Ref<TaskUnit> task_;
};

}  // namespace gevent::detail
