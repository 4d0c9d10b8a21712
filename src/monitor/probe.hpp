// What the monitor thread reads of a hub it watches: written by the hub's own thread, read by
// the monitor (src/monitor/monitor.cpp).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>

namespace gevent::detail {

class GreenletBase;

struct HubProbe {
  HubProbe();  // registers with the monitor thread, starting it if needed
  ~HubProbe();
  HubProbe(const HubProbe&) = delete;
  HubProbe& operator=(const HubProbe&) = delete;

  // The hub switched into `greenlet` (or turned its loop: greenlet null); `beats` counts both.
  void beat(std::uint64_t beats_so_far, const GreenletBase* greenlet) {
    beats.store(beats_so_far, std::memory_order_relaxed);
    running.store(greenlet, std::memory_order_release);
  }

  std::atomic<std::uint64_t> beats{0};
  std::atomic<bool> sleeping{false};  // waiting in the loop for events: idle, not blocked
  std::atomic<const GreenletBase*> running{nullptr};
  // Written by the monitor: the incidents reported, and the time of those that ended.
  std::atomic<std::uint64_t> incidents{0};
  std::atomic<std::uint64_t> blocked_ns{0};
  const pid_t tid;
  const pthread_t thread;
};

}  // namespace gevent::detail
