#include "wsgi/watchdog.hpp"

#include <time.h>

#include <system_error>

#include "gevent/hub.hpp"
#include "io/socket_state.hpp"

namespace gevent::pywsgi::detail {
namespace {

using gevent::detail::Clock;

// When the limit passed while no wait was in progress (the greenlet was about to run), look
// again this soon: its next wait must not go unbounded.
constexpr auto kRecheck = std::chrono::milliseconds(10);

}  // namespace

gevent::detail::Clock::time_point coarse_now() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

Watchdog::Watchdog(gevent::detail::SocketState& socket) : hub_(Hub::current()), socket_(socket) {
  fire = &Watchdog::on_fire;
}

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

void Watchdog::on_fire(gevent::detail::TimerNode& node) {
  auto& self = static_cast<Watchdog&>(node);
  if (self.limit_ == Clock::time_point::max()) return;  // no limit now; limit() re-arms
  const Clock::time_point now = coarse_now();
  if (now < self.limit_) return self.hub_.add_timer(self, self.limit_ - now);
  const auto timed_out = std::make_error_code(std::errc::timed_out);
  const bool reader_woken = self.socket_.read_watch.cancel(timed_out);
  const bool writer_woken = self.socket_.write_watch.cancel(timed_out);
  if (!reader_woken && !writer_woken) self.hub_.add_timer(self, kRecheck);
}

}  // namespace gevent::pywsgi::detail
