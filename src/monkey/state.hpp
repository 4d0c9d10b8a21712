// What the hooks share: which parts are patched, the gate every hook passes first, and the
// errno conventions of a cooperative call.
#pragma once

#include <time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string_view>

#include "gevent/duration.hpp"
#include "gevent/hub.hpp"

namespace gevent::monkey::detail {

enum Module : unsigned {
  kSocket = 1u << 0,
  kSelect = 1u << 1,
  kTime = 1u << 2,
  kDns = 1u << 3,
  kOs = 1u << 4,
  kSignal = 1u << 5,
};

extern std::atomic<unsigned> patched_modules;

void patch(Module module);
// Whether any of `modules` (Module bits) is patched. Lock-free, so safe in a signal handler.
inline bool patched(unsigned modules) {
  return (patched_modules.load(std::memory_order_relaxed) & modules) != 0;
}
// Turns parts off again: for tests and benchmarks only (gevent has no unpatch).
void unpatch(unsigned modules);

// How many signal handlers installed through the patched signal()/sigaction() this thread
// is running (src/monkey/hooks_signal.cpp): a hooked call made in one is the original.
constinit inline thread_local int signal_handlers_running = 0;

// The hub a hooked call of `module` may wait on: the calling thread's, when the module is
// patched and the caller is one of its greenlets, outside a signal handler. Null means: call
// the original. Lock- and allocation-free, so safe in a signal handler.
inline Hub* cooperative_hub(Module module) {
  if (!patched(module)) [[likely]]
    return nullptr;
  if (signal_handlers_running != 0) return nullptr;
  Hub* hub = Hub::current_if_exists();
  return hub && !hub->in_hub() ? hub : nullptr;
}

// errno as the blocking call would leave it. ECANCELED for a kill or Timeout due: real
// libraries give up on it and clean up (libpq and libstdc++'s sleep_for retry EINTR forever).
inline constexpr int kInterrupted = ECANCELED;

// A time the sleeps and waits accept; for any other the original call reports EINVAL.
inline bool valid_timespec(const timespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1'000'000'000;
}

inline Duration duration_of(const timespec& ts) {
  return to_duration(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

inline bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

// Keeps errno across the hub's switches and the library's own calls.
struct SavedErrno {
  int value = errno;
  ~SavedErrno() { errno = value; }
};

}  // namespace gevent::monkey::detail
