#include <utility>
#include <vector>

#include "gevent/aio.hpp"

namespace gevent::aio::detail {
namespace {

std::vector<gevent::detail::Linkable*> unfinished(const std::vector<TaskCore*>& tasks) {
  std::vector<gevent::detail::Linkable*> result;
  for (TaskCore* task : tasks)
    if (!task->ready()) result.push_back(task);
  return result;
}

const TaskCore* first_failed(const std::vector<TaskCore*>& tasks) {
  for (const TaskCore* task : tasks)
    if (task->ready() && !task->successful()) return task;
  return nullptr;
}

// Cancels the tasks still running and waits for every one to end, whatever is thrown into
// the waiting task meanwhile (it stays due for its next suspension).
Task<> cancel_and_wait(const std::vector<TaskCore*>& tasks) {
  for (TaskCore* task : tasks) task->interrupt(std::make_exception_ptr(GreenletExit()));
  for (TaskCore* task : tasks)
    co_await gevent::detail::ObjectWait(*task, gevent::detail::ObjectWait::OnCancel::shielded);
}

}  // namespace

Task<> settle_all(std::vector<TaskCore*> tasks) {
  std::exception_ptr failure;
  try {
    for (;;) {
      if (const TaskCore* failed = first_failed(tasks)) {
        failure = failed->exception();
        break;
      }
      std::vector<gevent::detail::Linkable*> left = unfinished(tasks);
      if (left.empty()) co_return;
      co_await gevent::detail::AnyWait(left);
    }
  } catch (...) {
    failure = std::current_exception();  // the gathering task was cancelled
  }
  co_await cancel_and_wait(tasks);
  std::rethrow_exception(failure);
}

Task<std::size_t> first_to_end(std::vector<TaskCore*> tasks) {
  std::exception_ptr failure;
  std::size_t winner = 0;
  try {
    std::vector<gevent::detail::Linkable*> all(tasks.begin(), tasks.end());
    co_await gevent::detail::AnyWait(all);
    while (!tasks[winner]->ready()) ++winner;
  } catch (...) {
    failure = std::current_exception();
  }
  co_await cancel_and_wait(tasks);
  if (failure) std::rethrow_exception(failure);
  co_return winner;
}

}  // namespace gevent::aio::detail
