// A C++20 task (gevent/aio.hpp) as the core sees it: a unit of execution of its own, which
// Timeout and kill target as they target a greenlet. A task runs on one of its hub's runner
// greenlets (src/aio), which points to it meanwhile (GreenletBase::running_task): a Timeout
// started inside a task belongs to the task, not to whichever runner resumes it.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>

namespace gevent::detail {

class TaskUnit {
 public:
  // Throws `exception` in the task at its suspension point: where it awaits, or inside the
  // blocking gevent call it is in. Called on the task's hub.
  virtual void interrupt(std::exception_ptr exception) = 0;
  // Runs `callback` in the hub once the task has ended (at once if it has): gevent::local's
  // clean-up. Returns a token for remove_end_callback.
  virtual std::uint64_t add_end_callback(std::function<void()> callback) = 0;
  virtual bool remove_end_callback(std::uint64_t token) = 0;
  virtual void add_ref() noexcept = 0;
  virtual void release() noexcept = 0;

 protected:
  ~TaskUnit() = default;
};

}  // namespace gevent::detail
