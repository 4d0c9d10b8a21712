#include <utility>

#include "aio/task_service.hpp"
#include "core/report.hpp"
#include "gevent/detail/aio_task_core.hpp"
#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/pending.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"

namespace gevent::detail {
namespace {

// While a task's frames are destroyed outside its runs (cancelled before it ran, or with the
// hub), the current greenlet acts as the task: its frames' destructors (an RLock's release, a
// local's clean-up) see the task, as its body did.
class ActingAs {
 public:
  ActingAs(GreenletBase& greenlet, TaskUnit* task)
      : greenlet_(greenlet), was_(std::exchange(greenlet.running_task, task)) {}
  ~ActingAs() { greenlet_.running_task = was_; }
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;

 private:
  GreenletBase& greenlet_;
  TaskUnit* was_;
};

}  // namespace

// The service is kept, not looked up: its hub slot is cleared before it is destroyed, and its
// destructor still ends tasks.
TaskCore::TaskCore(Hub& hub)
    : hub_(hub), service_(hub.service<TaskService>()), id_(hub.next_greenlet_id()) {
  run_ready = &TaskService::run_task_node;
}

TaskCore::~TaskCore() {
  if (outcome_ && !exited_ && !observed_)
    report_exception(name() + " (its exception was never retrieved)", outcome_);
}

void TaskCore::start(std::coroutine_handle<> root) {
  root_ = resume_at_ = root;
  service_.on_started(*this);
  queue();
}

void TaskCore::queue() noexcept {
  state_ = State::queued;
  if (!service_.closed()) hub_.post(*this);  // closed: the hub is going, nothing runs any more
}

void TaskCore::run_on(GreenletBase& runner) {
  Ref<TaskCore> keep(this);                          // finish() drops the scheduler's reference
  if (!std::exchange(started_, true) && pending_) {  // cancelled before it ever ran
    finish(take_first_pending(pending_, &more_pending_));
    return;
  }
  state_ = State::running;
  runner_ = &runner;
  runner.running_task = this;
  transfers_left_ = kTransferBudget;
  resume_at_.resume();
  runner.running_task = nullptr;
  runner_ = nullptr;
  if (root_finished_) {
    finish(root_outcome());
  } else if (state_ == State::running) {
    suspended_elsewhere();
  }
  adopt_runner_pending(runner);
}

std::exception_ptr TaskCore::root_outcome() noexcept {
  try {
    return take_result(root_);
  } catch (...) {
    return std::current_exception();  // the value's move threw
  }
}

// The task awaited something that is not gevent's (another library's awaiter): it resumes when
// that resumes it, wherever that is. Kills and Timeouts wait for its next gevent await.
void TaskCore::suspended_elsewhere() noexcept {
  report_exception(name() +
                       " awaited an awaitable that is not gevent::aio's; kills and "
                       "Timeouts reach it only at its next gevent await",
                   std::make_exception_ptr(std::logic_error("foreign awaitable in a task")));
  resume_at_ = nullptr;
  suspension_ = nullptr;
  state_ = State::suspended;
}

// Kills and Timeouts thrown into the runner while the task was in a blocking call there, and
// not thrown yet (a second one behind the first), are the task's: thrown where it awaits now.
void TaskCore::adopt_runner_pending(GreenletBase& runner) {
  while (std::exception_ptr left = runner.take_pending())
    if (state_ != State::done) interrupt(std::move(left));
}

void TaskCore::fail_to_start(std::exception_ptr why) noexcept {
  started_ = true;
  finish(std::move(why));
}

void TaskCore::finish(std::exception_ptr outcome) noexcept {
  Ref<TaskCore> keep(this);
  if (root_) {
    ActingAs acting(hub_.current_greenlet(), this);
    std::exchange(root_, nullptr).destroy();
  }
  resume_at_ = nullptr;
  suspension_ = nullptr;
  state_ = State::done;
  pending_ = nullptr;
  more_pending_.clear();
  if (outcome) {
    exited_ = is_greenlet_exit(outcome);
    outcome_ = std::move(outcome);
  }
  notify_links();
  service_.on_done(*this);
}

void TaskCore::destroy_unfinished() noexcept { finish(std::make_exception_ptr(GreenletExit())); }

bool TaskCore::suspend(std::coroutine_handle<> at, Suspension& suspension,
                       bool interruptible) noexcept {
  if (pending_ && interruptible) return false;
  resume_at_ = at;
  suspension_ = &suspension;
  state_ = State::suspended;
  return true;
}

void TaskCore::wake() noexcept {
  if (state_ != State::suspended) return;
  suspension_ = nullptr;
  queue();
}

std::coroutine_handle<> TaskCore::transfer(std::coroutine_handle<> to) noexcept {
  if (--transfers_left_ > 0) return to;
  resume_at_ = to;
  queue();
  return std::noop_coroutine();
}

void TaskCore::throw_pending_slow() {
  observed_ = true;
  std::rethrow_exception(take_first_pending(pending_, &more_pending_));
}

void TaskCore::interrupt(std::exception_ptr exception) {
  auto more = [this]() -> std::vector<std::exception_ptr>& { return more_pending_; };
  switch (state_) {
    case State::done:
      return;
    case State::running:
      if (hub_.current_task() == this) std::rethrow_exception(exception);  // it kills itself
      runner_->throw_into(std::move(exception));  // it is inside a blocking call
      return;
    case State::queued:
      add_pending(pending_, std::move(exception), more);
      return;
    case State::suspended:
      add_pending(pending_, std::move(exception), more);
      if (Suspension* suspension = std::exchange(suspension_, nullptr))
        if (suspension->abandon()) queue();
      return;
  }
}

void TaskCore::kill(std::exception_ptr exception, bool block, MaybeDuration timeout) {
  if (state_ == State::done) return;
  if (Hub::current_if_exists() != &hub_)
    throw WrongThreadError(
        "gevent::aio: Future::kill called from a thread other than the one "
        "whose hub runs the task");
  if (!exception) exception = std::make_exception_ptr(GreenletExit());
  interrupt(std::move(exception));
  if (block && !hub_.in_hub()) join(timeout);
}

bool TaskCore::join(MaybeDuration timeout) {
  if (ready()) return true;
  if (Hub::current_if_exists() != &hub_)
    throw WrongThreadError(
        "gevent::aio: a task waited for from a thread other than the one "
        "whose hub runs it");
  if (hub_.current_task() == this) throw std::logic_error("gevent::aio: a task cannot join itself");
  return wait_ready(*this, timeout, topic_of("a task", *this));
}

void TaskCore::join_owned() {
  try {
    join({});
  } catch (...) {
    std::exception_ptr why = std::current_exception();
    interrupt(std::make_exception_ptr(GreenletExit()));
    wait_for_frames();
    std::rethrow_exception(why);
  }
}

// After a cancellation: the task's frames may refer to the waiter's stack, so they are waited
// out, and what else is thrown at the waiter meanwhile is deferred to its next switch point.
// When nothing can ever wake the task (LoopExit), its frames are destroyed here instead.
void TaskCore::wait_for_frames() {
  GreenletBase& self = hub_.current_greenlet();
  std::vector<std::exception_ptr> deferred;
  Waiter waiter(topic_of("a cancelled task to end", *this));
  WaiterLink link(waiter);
  rawlink(link);
  while (!ready()) {
    if (waiter.wait_nothrow() != WaitResult::interrupted) continue;
    bool stuck = false;
    while (std::exception_ptr more = self.take_pending()) {
      stuck = stuck || holds<LoopExit>(more);
      deferred.push_back(std::move(more));
    }
    if (stuck) {
      if (state_ == State::suspended) destroy_unfinished();
      break;
    }
  }
  for (auto& more : deferred)
    if (!holds<LoopExit>(more)) self.throw_into(std::move(more));
}

void TaskCore::rethrow_failure() const {
  observed_ = true;
  if (outcome_) std::rethrow_exception(outcome_);
}

// --- awaiters ---

bool ObjectWait::begin(std::coroutine_handle<> at, TaskCore& task) {
  task_ = &task;
  const bool interruptible = on_cancel_ == OnCancel::stop_waiting;
  if (!task.suspend(at, *this, interruptible)) return false;
  object_.rawlink(*this);
  if (!interruptible && task.has_pending()) abandon();  // cancelled already: kill its greenlet
  return true;
}

void ObjectWait::end() {
  unlink();
  if (task_ && on_cancel_ != OnCancel::shielded) task_->throw_pending();
}

void ObjectWait::notify(Linkable&) {
  unlink();
  task_->wake();
}

bool ObjectWait::abandon() noexcept {
  switch (on_cancel_) {
    case OnCancel::stop_waiting:
      unlink();
      return true;
    case OnCancel::wait_for_it:
    case OnCancel::shielded:
      return false;
    case OnCancel::kill_greenlet:
      try {
        static_cast<GreenletBase&>(object_).kill(std::make_exception_ptr(GreenletExit()), false,
                                                 {});
      } catch (...) {
        report_exception("cancelling a task's greenlet", std::current_exception());
      }
      return false;
  }
  return true;
}

AnyWait::AnyWait(const std::vector<Linkable*>& objects)
    : slots_(std::make_unique<Slot[]>(objects.size())), count_(objects.size()) {
  for (std::size_t i = 0; i < count_; ++i) {
    slots_[i].owner = this;
    slots_[i].object = objects[i];
  }
}

AnyWait::~AnyWait() = default;  // each slot unlinks itself

bool AnyWait::await_ready() const {
  for (std::size_t i = 0; i < count_; ++i)
    if (slots_[i].object->ready()) return true;
  return count_ == 0;
}

bool AnyWait::begin(std::coroutine_handle<> at, TaskCore& task) {
  task_ = &task;
  if (!task.suspend(at, *this)) return false;
  for (std::size_t i = 0; i < count_; ++i) slots_[i].object->rawlink(slots_[i]);
  return true;
}

void AnyWait::await_resume() {
  unlink_all();
  if (task_) task_->throw_pending();
}

// The other slots unlink when the task resumes: one of them may be linked to this same
// object, whose notification is in progress.
void AnyWait::Slot::notify(Linkable&) {
  unlink();
  owner->task_->wake();
}

bool AnyWait::abandon() noexcept {
  unlink_all();
  return true;
}

void AnyWait::unlink_all() noexcept {
  for (std::size_t i = 0; i < count_; ++i) slots_[i].unlink();
}

SleepWait::~SleepWait() {
  if (task_ && armed()) task_->hub().cancel_timer(*this);
}

bool SleepWait::begin(std::coroutine_handle<> at, TaskCore& task) {
  task_ = &task;
  if (!task.suspend(at, *this)) return false;
  if (duration_ <= Duration::zero()) {
    task.wake();  // to the back of the run queue
    return true;
  }
  fire = [](TimerNode& node) { static_cast<SleepWait&>(node).task_->wake(); };
  task.hub().add_timer(*this, duration_);
  return true;
}

void SleepWait::await_resume() {
  if (task_) task_->throw_pending();
}

bool SleepWait::abandon() noexcept {
  if (armed()) task_->hub().cancel_timer(*this);
  return true;
}

}  // namespace gevent::detail
