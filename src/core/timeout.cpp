#include "gevent/timeout.hpp"

#include <atomic>
#include <cstdio>

#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"

namespace gevent {
namespace {

std::uint64_t next_timeout_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Timeout::Timeout() noexcept : id_(next_timeout_id()) {
  node_.owner = this;
  describe();
}

Timeout::Timeout(MaybeDuration seconds, bool start) : id_(next_timeout_id()) {
  node_.owner = this;
  if (seconds) seconds_ = seconds.value();
  describe();
  if (start) this->start();
}

Timeout::Timeout(MaybeDuration seconds, std::exception_ptr exception, bool start)
    : Timeout(seconds, false) {
  exception_ = std::move(exception);
  if (start) this->start();
}

Timeout::Timeout(const Timeout& other) noexcept
    : seconds_(other.seconds_), exception_(other.exception_), id_(other.id_) {
  node_.owner = this;
  describe();
}

Timeout::~Timeout() { cancel(); }

void Timeout::start() {
  if (!seconds_) return;
  Hub& hub = Hub::current();
  if (hub.in_hub()) throw BlockingSwitchOutError("gevent: a Timeout cannot be started in the hub");
  cancel();
  hub_ = &hub;
  target_task_ = detail::Ref<detail::TaskUnit>(hub.current_task());
  target_ = detail::Ref<detail::GreenletBase>(target_task_ ? nullptr : &hub.current_greenlet());
  node_.fire = &Timeout::expire;
  hub.add_timer(node_, *seconds_);
}

void Timeout::cancel() {
  if (hub_ && node_.armed()) hub_->cancel_timer(node_);
}

MaybeDuration Timeout::seconds() const {
  if (!seconds_) return {};
  return *seconds_;
}

void Timeout::expire(detail::TimerNode& node) {
  Timeout& self = *static_cast<Node&>(node).owner;
  std::exception_ptr expiry =
      self.exception_ ? self.exception_ : std::make_exception_ptr(Timeout(self));
  if (self.target_task_)
    self.target_task_->interrupt(std::move(expiry));
  else
    self.target_->throw_into(std::move(expiry));
}

void Timeout::describe() {
  if (seconds_)
    std::snprintf(what_, sizeof what_, "gevent::Timeout: %.6g seconds",
                  std::chrono::duration<double>(*seconds_).count());
  else
    std::snprintf(what_, sizeof what_, "gevent::Timeout: no limit");
}

}  // namespace gevent

namespace gevent::detail {

void throw_pending_in_current() {
  if (Hub* hub = Hub::current_if_exists()) hub->throw_pending();
}

}  // namespace gevent::detail
