// Brief busy-waiting, for hand-offs between threads that usually complete within
// microseconds: cheaper than a futex or eventfd wake-up (10-15 us each on a VM), bounded so an
// idle waiter soon goes to sleep instead.
#pragma once

#include <chrono>

namespace gevent::detail {

inline constexpr std::chrono::microseconds kSpinLimit{50};

// Polls `done()` for up to `limit`; returns whether it became true.
template <class Done>
bool spin_until(Done done, std::chrono::microseconds limit = kSpinLimit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int polls = 0;; ++polls) {
    if (done()) return true;
    __builtin_ia32_pause();
    if (polls % 64 == 63 && std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace gevent::detail
