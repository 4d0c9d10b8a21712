#include "fd/watchdog.hpp"

#include <system_error>

#include "fd/fd_table.hpp"
#include "gevent/hub.hpp"

namespace gevent::detail {
namespace {

// When the limit passed while no wait was in progress (the greenlet was about to run), look
// again this soon: its next wait must not go unbounded.
constexpr auto kRecheck = std::chrono::milliseconds(10);

}  // namespace

Watchdog::Watchdog(int fd) : hub_(Hub::current()), fd_(fd) { fire = &Watchdog::on_fire; }

Watchdog::~Watchdog() {
  if (armed()) hub_.cancel_timer(*this);
}

void Watchdog::limit(MaybeDuration after) {
  if (!after) return clear();
  limit_ = coarse_now() + after.value();
  if (armed() && deadline <= limit_) return;  // it fires first, then re-arms for the rest
  if (armed()) hub_.cancel_timer(*this);
  hub_.add_timer(*this, after.value());
}

void Watchdog::on_fire(TimerNode& node) {
  auto& self = static_cast<Watchdog&>(node);
  if (self.limit_ == Clock::time_point::max()) return;  // no limit now; limit() re-arms
  const Clock::time_point now = coarse_now();
  if (now < self.limit_) return self.hub_.add_timer(self, self.limit_ - now);
  const auto timed_out = std::make_error_code(std::errc::timed_out);
  if (!cancel_waits(self.hub_, self.fd_, timed_out)) self.hub_.add_timer(self, kRecheck);
}

}  // namespace gevent::detail
