#include "aio/task_service.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "core/report.hpp"
#include "gevent/detail/greenlet_base.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"

namespace gevent::detail {

// A greenlet that resumes tasks. It lives while tasks do: with no live task left it ends.
class TaskRunner final : public GreenletBase {
 public:
  TaskRunner(Hub& hub, TaskService& service)
      : GreenletBase(hub, Kind::spawned, 0), service_(service) {
    set_name("aio task runner");
  }
  TaskCore* next = nullptr;  // the task handed to it

 private:
  // A runner's turn counts as one entry of the hub's batch (which reads the clock every few
  // dozen entries), so it runs a bounded number of tasks in a row before it goes back.
  static constexpr int kTasksPerTurn = 64;
  void run() override {
    do {
      int ran = 0;
      while (TaskCore* task = std::exchange(next, nullptr)) {
        task->run_on(*this);
        if (++ran < kTasksPerTurn) next = service_.next_task_here();
      }
    } while (service_.park(*this));
  }
  void drop_function() noexcept override {}

  TaskService& service_;
};

TaskService::~TaskService() {
  hub_.drop_ready_of_kind(&run_task_node);
  if (live_count_ > 0)
    std::fprintf(stderr,
                 "gevent: hub destroyed with %zu task(s) that did not end; their frames "
                 "are destroyed unfinished\n",
                 live_count_);
  while (live_head_) live_head_->destroy_unfinished();
}

void TaskService::run_task_node(ReadyNode* node) {
  TaskCore& task = static_cast<TaskCore&>(*node);
  task.service().dispatch(task);
}

// On the hub, in the task's turn: an idle runner, or a new one, takes it now.
void TaskService::dispatch(TaskCore& task) {
  while (!idle_.empty()) {
    TaskRunner* runner = idle_.back();
    idle_.pop_back();
    if (runner->queued()) continue;  // woken to end: it leaves by itself
    runner->next = &task;
    hub_.resume_now(*runner);
    return;
  }
  Ref<TaskRunner> runner(new TaskRunner(hub_, *this));
  runner->next = &task;
  runner->start_now();
  if (runner->state() == GreenletBase::State::dead && runner->next)  // it got no stack
    task.fail_to_start(runner->exception());
}

TaskCore* TaskService::next_task_here() {
  if (hub_.run_budget_spent()) return nullptr;
  ReadyNode* node = hub_.take_ready_if(&run_task_node);
  return node ? static_cast<TaskCore*>(node) : nullptr;
}

// Runners beyond a few idle ones end: a burst of blocking tasks leaves no stacks behind.
bool TaskService::park(TaskRunner& runner) {
  constexpr std::size_t kIdleRunnersKept = 8;
  if (live_count_ == 0 || idle_.size() >= kIdleRunnersKept) return false;
  idle_.push_back(&runner);
  struct Leave {
    std::vector<TaskRunner*>& idle;
    TaskRunner* runner;
    ~Leave() { idle.erase(std::remove(idle.begin(), idle.end(), runner), idle.end()); }
  } leave{idle_, &runner};
  hub_.switch_out();
  return true;
}

void TaskService::on_started(TaskCore& task) {
  task.add_ref();  // a live task keeps itself until it ends
  task.live_next = live_head_;
  if (live_head_) live_head_->live_prev = &task;
  live_head_ = &task;
  ++live_count_;
}

void TaskService::on_done(TaskCore& task) {
  if (task.live_prev)
    task.live_prev->live_next = task.live_next;
  else
    live_head_ = task.live_next;
  if (task.live_next) task.live_next->live_prev = task.live_prev;
  task.live_prev = task.live_next = nullptr;
  if (--live_count_ == 0) {
    for (TaskRunner* runner : idle_) hub_.schedule(*runner);  // to end
    if (drained_) drained_->wake();
  }
  task.release();
}

void TaskService::before_hub_shutdown() {
  if (live_count_ == 0) return;
  Waiter drained({"the tasks to end (hub shutdown)"});
  drained_ = &drained;
  try {
    for (TaskCore* task = live_head_; task;) {
      TaskCore* next = task->live_next;
      task->interrupt(std::make_exception_ptr(GreenletExit()));
      task = next;
    }
    if (live_count_ > 0) drained.wait();
  } catch (const LoopExit&) {
  } catch (...) {
    report_exception("hub shutdown", std::current_exception());
  }
  drained_ = nullptr;
}

}  // namespace gevent::detail
