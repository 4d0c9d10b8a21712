// The hub's task scheduler (gevent/aio.hpp): runner greenlets that resume tasks, the list of
// live tasks, and their cancellation when the hub goes.
//
// A task in the hub's run queue is a ReadyNode run by run_task_node: on the hub, it hands the
// task to an idle runner and switches into it. The runner resumes the task and, as long as the
// next entries of the run queue are tasks too, runs them itself without a switch (two tasks
// awaiting each other never switch greenlets). A task that calls a blocking gevent function
// blocks its runner; the runner stays with it, and the next task goes to another runner.
#pragma once

#include <cstddef>
#include <vector>

#include "gevent/detail/aio_task_core.hpp"
#include "gevent/detail/hub_service.hpp"
#include "gevent/detail/waiter.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

class TaskRunner;

class TaskService final : public HubService {
 public:
  explicit TaskService(Hub& hub) : hub_(hub) {}
  ~TaskService() override;

  // The run queue's entry point for tasks (their ReadyNode::run_ready).
  static void run_task_node(ReadyNode* node);

  void on_started(TaskCore& task);
  void on_done(TaskCore& task);
  std::size_t live_tasks() const { return live_count_; }
  // The hub is being destroyed: tasks are not queued to run any more.
  bool closed() const { return closed_; }

  // Cancels the live tasks and waits for them, while the hub can still run them.
  void before_hub_shutdown() override;

  // --- for runners ---
  // The next task to run on this runner without going back to the hub, if the run queue's
  // next entry is a task and the runner has not used up the hub's time budget.
  TaskCore* next_task_here();
  // Waits for the next task handed to `runner`; false when the runner is not needed (it ends).
  bool park(TaskRunner& runner);
  void unpark(TaskRunner& runner);

 private:
  void dispatch(TaskCore& task);

  Hub& hub_;
  std::vector<TaskRunner*> idle_;
  TaskCore* live_head_ = nullptr;
  std::size_t live_count_ = 0;
  Waiter* drained_ = nullptr;  // woken when the last live task ends
  bool closed_ = false;
};

}  // namespace gevent::detail
