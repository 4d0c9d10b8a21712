#include "gevent/detail/execution_unit.hpp"

#include <utility>

#include "gevent/hub.hpp"

namespace gevent::detail {

ExecutionUnit ExecutionUnit::current() {
  Hub& hub = Hub::current();
  ExecutionUnit unit;
  if (TaskUnit* task = hub.current_task())
    unit.task_ = Ref<TaskUnit>(task);
  else
    unit.greenlet_ = Ref<GreenletBase>(&hub.current_greenlet());
  return unit;
}

const void* ExecutionUnit::current_key() {
  Hub& hub = Hub::current();
  if (TaskUnit* task = hub.current_task()) return task;
  return &hub.current_greenlet();
}

std::uint64_t ExecutionUnit::on_end(std::function<void()> callback) const {
  if (task_) return task_->add_end_callback(std::move(callback));
  return greenlet_->add_link([callback = std::move(callback)](GreenletBase&) { callback(); },
                             GreenletBase::LinkWhen::always, true);
}

void ExecutionUnit::cancel_on_end(std::uint64_t token) const {
  if (task_)
    task_->remove_end_callback(token);
  else if (greenlet_)
    greenlet_->remove_link(token);
}

}  // namespace gevent::detail
