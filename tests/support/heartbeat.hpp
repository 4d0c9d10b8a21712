// A greenlet that ticks every few milliseconds and records the longest gap between ticks: a
// call that blocks the hub (instead of only its greenlet) shows up as a gap as long as itself.
#pragma once

#include <gevent/detail/sanitizers.hpp>
#include <gevent/gevent.hpp>

#include <algorithm>
#include <chrono>

namespace gevent::testing {

// The gap a test accepts: a blocked hub would stall it for a whole call (hundreds of ms);
// the sanitizers slow every switch, and the machine is shared.
inline constexpr std::chrono::milliseconds kMaxHeartbeatGap{GEVENT_ASAN || GEVENT_TSAN ? 200 : 50};

// The longest gap to accept when every call that could block the hub lasts `call` or more: a
// blocked hub would stall the heartbeat for a whole call (and never less than the default).
constexpr std::chrono::milliseconds gap_bound(std::chrono::milliseconds call) {
  return std::max(kMaxHeartbeatGap, call * 4 / 5);
}

class Heartbeat {
 public:
  Heartbeat()
      : ticker_(gevent::spawn([this] {
          auto last = Clock::now();
          while (running_) {
            gevent::sleep(std::chrono::milliseconds(5));
            const auto now = Clock::now();
            longest_ = std::max(longest_, std::chrono::duration_cast<Ms>(now - last));
            last = now;
          }
        })) {}
  ~Heartbeat() { stop(); }
  // Stops the ticker; the longest gap seen.
  std::chrono::milliseconds stop() {
    running_ = false;
    ticker_.join();
    return longest_;
  }

 private:
  using Clock = std::chrono::steady_clock;
  using Ms = std::chrono::milliseconds;
  bool running_ = true;
  Ms longest_{0};
  gevent::Greenlet<void> ticker_;
};

}  // namespace gevent::testing
