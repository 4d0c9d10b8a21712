// An entry in the hub's timer queue. Lives wherever its owner does (often a greenlet's stack);
// the owner must cancel it before it goes away (TimerGuard does).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace gevent::detail {

using Clock = std::chrono::steady_clock;

// The monotonic clock at its tick's resolution (a few ms): no TSC read, cheap enough to call
// at every operation. The same clock as steady_clock, coarser.
Clock::time_point coarse_now();

struct TimerNode {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  Clock::time_point deadline{};
  std::uint64_t sequence = 0;  // ties fire in the order they were added
  std::size_t heap_index = npos;
  void (*fire)(TimerNode&) = nullptr;  // runs on the hub when the deadline passes

  bool armed() const { return heap_index != npos; }
};

}  // namespace gevent::detail
