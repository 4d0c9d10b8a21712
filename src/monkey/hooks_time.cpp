// patch_time(): sleep, usleep, nanosleep, clock_nanosleep on a hub timer. glibc's sleep and
// usleep call its internal __nanosleep, so each is hooked on its own. A kill or Timeout due
// ends the sleep early with success: code that sleeps in a loop on EINTR (libstdc++'s
// sleep_for) would otherwise spin on the call.
#include <time.h>
#include <unistd.h>

#include "gevent/detail/waiter.hpp"
#include "gevent/monkey.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Duration;
using gevent::Hub;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

void sleep_cooperatively(Hub& hub, Duration length) {
  SavedErrno saved;
  if (length <= Duration::zero()) {
    hub.yield_nothrow();
    return;
  }
  gevent::detail::Waiter(gevent::detail::WaitTopic{"sleep"}).wait_nothrow(length);
}

bool valid(const timespec* ts) { return ts && valid_timespec(*ts); }

bool sleepable_clock(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME ||
         clock == CLOCK_TAI;
}

}  // namespace

namespace gevent::monkey {
void patch_time() { detail::patch(detail::kTime); }
}  // namespace gevent::monkey

extern "C" {

int nanosleep(const timespec* length, timespec* left) {
  Hub* hub = cooperative_hub(kTime);
  if (!hub || !valid(length)) return sys::nanosleep(length, left);
  sleep_cooperatively(*hub, duration_of(*length));
  return 0;
}

// The hub's timers run on the monotonic clock: an absolute time is turned into a length
// when the call starts (a later change of the realtime clock does not move it).
int clock_nanosleep(clockid_t clock, int flags, const timespec* time, timespec* left) {
  Hub* hub = cooperative_hub(kTime);
  if (!hub || !valid(time) || !sleepable_clock(clock))
    return sys::clock_nanosleep(clock, flags, time, left);
  Duration length = duration_of(*time);
  if (flags & TIMER_ABSTIME) {
    timespec now;
    if (clock_gettime(clock, &now) != 0) return errno;
    length = std::chrono::seconds(time->tv_sec - now.tv_sec) +
             std::chrono::nanoseconds(time->tv_nsec - now.tv_nsec);
  }
  sleep_cooperatively(*hub, length);
  return 0;
}

int usleep(useconds_t length) {
  Hub* hub = cooperative_hub(kTime);
  if (!hub) return sys::usleep(length);
  sleep_cooperatively(*hub, std::chrono::microseconds(length));
  return 0;
}

unsigned int sleep(unsigned int seconds) {
  Hub* hub = cooperative_hub(kTime);
  if (!hub) return sys::sleep(seconds);
  sleep_cooperatively(*hub, std::chrono::seconds(seconds));
  return 0;
}

}  // extern "C"
