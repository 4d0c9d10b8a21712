// gevent's monitor thread: finds the greenlet that blocked its hub.
//
//   GEVENT_MONITOR_THREAD_ENABLE=1 ./server      (or gevent::config().monitor_thread = true
//                                                  before the first hub is made)
//
// A greenlet that computes for long, or makes a blocking call the hub cannot see (an
// unpatched sleep(), a C library's read), stops every other greenlet of its hub. One monitor
// thread per process samples the hubs made with config().monitor_thread; a hub that has not
// switched for longer than config().max_blocking_time (GEVENT_MAX_BLOCKING_TIME, 0.1 s) while
// not waiting for events in its loop is reported, once per incident, to the report handler
// (default: stderr), with the blocked thread's backtrace taken at that moment:
//
//   gevent: the hub of thread 4242 is blocked: greenlet 7 "Greenlet-7" has run 0.12 s
//   without switching; its thread is in syscall 230 (clock_nanosleep)
//     #0 0x7f...545 clock_nanosleep+101 (libc.so.6)
//     #1 ...       usleep+69 (libc.so.6)
//     #2 ...       handle_request(...)+39 (server)
//
// How the backtrace is taken leaves the blocked call alone: a thread in a system call shows
// its stack and instruction pointers in /proc/self/task/TID/syscall, from which the stack is
// unwound as it is (libunwind, loaded with dlopen when the monitor first reports; without
// libunwind8 installed, reports carry no backtrace). A thread running user code is sampled
// by a signal (monitor::sample_signal(), SIGRTMIN+7) whose handler copies its registers and
// the top of its stack: it has no call the signal could interrupt. The one window left is a
// thread that enters a system call between the look at /proc and the signal: a sleep or poll
// there may end early with EINTR (calls that restart under SA_RESTART are unaffected).
//
// Function names come from the symbol tables of the binary and its libraries (a static
// function of a stripped binary shows as the nearest exported one); file:line from their DWARF
// line tables where they were built with -g (libdw, loaded with dlopen like libunwind).
// Cost on the hub: two stores per switch. Under ThreadSanitizer, signals wait for the thread's
// next intercepted call, so a spinning thread is reported without its backtrace.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace gevent {

struct BlockingReport {
  int thread_id = 0;              // the blocked hub's thread (gettid)
  std::uint64_t greenlet_id = 0;  // the greenlet running on it; 0: the hub itself
  std::string greenlet_name;
  std::chrono::nanoseconds blocked_for{};
  std::string backtrace;  // one frame per line; empty when it could not be taken
  std::string text;       // the whole report, as printed by default
};

// Who receives the reports (gevent.events' EventLoopBlocked subscribers); called on the
// monitor thread. nullptr: print report.text to stderr (the default).
void set_blocking_report_handler(std::function<void(const BlockingReport&)> handler);

// Reports so far, for tests and dashboards.
std::uint64_t blocking_reports();

// With config().max_memory_usage: the process's resident memory went above it
// (gevent.events.MemoryUsageThresholdExceeded), or back below after that
// (MemoryUsageUnderThreshold). Looked at every config().memory_monitor_period.
struct MemoryReport {
  bool exceeded = false;  // false: back under the threshold
  std::size_t rss = 0;    // bytes
  std::size_t threshold = 0;
  std::string text;
};
// Called on the monitor thread; nullptr: print report.text to stderr (the default).
void set_memory_report_handler(std::function<void(const MemoryReport&)> handler);

namespace monitor {
// The signal that samples a thread running user code (see above).
inline int sample_signal() { return SIGRTMIN + 7; }
}  // namespace monitor

}  // namespace gevent
