#include "gevent/pool.hpp"

#include <stdexcept>

namespace gevent {

Group::Group() : members_(std::make_unique<std::unordered_map<const void*, Member>>()) {}

Group::~Group() = default;  // each Member unlinks itself from its greenlet

void Group::add(const AnyGreenlet& greenlet) {
  if (contains(greenlet)) return;
  take_slot();
  if (contains(greenlet)) {  // another greenlet added it while this one waited for the slot
    free_slot();
    return;
  }
  auto [it, added] = members_->try_emplace(key(greenlet), *this, greenlet);
  greenlet.linkable().rawlink(it->second);
  if (greenlet.ready()) on_member_died(greenlet);  // dead already: in and out at once
}

bool Group::discard(const AnyGreenlet& greenlet) {
  if (members_->erase(key(greenlet)) == 0) return false;
  free_slot();
  if (members_->empty()) empty_signal_.notify_links();
  return true;
}

bool Group::contains(const AnyGreenlet& greenlet) const {
  return members_->count(key(greenlet)) != 0;
}

// Runs inside the dying greenlet (or the killer), through the member's link: it must not
// block. The argument is a copy: discarding destroys the Member that holds the original.
void Group::on_member_died(AnyGreenlet greenlet) {
  if (!discard(greenlet)) return;
  if (!greenlet.successful() && !first_failure_) {
    first_failure_ = greenlet.exception();
    failed_.set();
  }
}

bool Group::join(MaybeDuration timeout, bool raise_error) {
  if (raise_error) {
    first_failure_ = nullptr;
    failed_.clear();
  }
  std::optional<detail::Clock::time_point> deadline;
  if (timeout) deadline = detail::Clock::now() + timeout.value();
  while (!empty()) {
    if (raise_error && first_failure_) std::rethrow_exception(first_failure_);
    MaybeDuration left;
    if (deadline) left = std::max(Duration::zero(), *deadline - detail::Clock::now());
    detail::Waiter waiter(detail::topic_of("Group.join", *this));
    detail::WaiterLink on_empty(waiter), on_failure(waiter);
    empty_signal_.rawlink(on_empty);
    if (raise_error) failed_.linkable().rawlink(on_failure);
    if (!waiter.wait(left)) return empty();
  }
  if (raise_error && first_failure_) std::rethrow_exception(first_failure_);
  return true;
}

void Group::kill(std::exception_ptr exception, bool block, MaybeDuration timeout) {
  std::vector<AnyGreenlet> targets;
  for (auto& [key, member] : *members_) targets.push_back(member.greenlet);
  // As gevent's Group.kill: a timeout ends the wait quietly (killall would throw).
  detail::kill_all(targets, std::move(exception), block, timeout, false);
}

void Group::killone(const AnyGreenlet& greenlet, std::exception_ptr exception, bool block,
                    MaybeDuration timeout) {
  if (contains(greenlet)) greenlet.kill(std::move(exception), block, timeout);
}

Pool::Pool(std::size_t size) : size_(size), slots_(size) {
  if (size == 0)
    throw std::invalid_argument("gevent: Pool(0) could never run anything; give it a size >= 1");
}

Pool::~Pool() = default;

}  // namespace gevent
