// Run info (gevent.util.format_run_info / print_run_info): every hub of the process, its
// greenlets, and what each one waits on.
//
//   std::cerr << gevent::format_run_info();
//
//   hub of thread 4242 (libev): 5 greenlets alive, 1 ready, 2 timers, 31 switches
//     greenlet 1 "MainGreenlet": running
//     greenlet 3 "reader", started by 1 0.52 s ago: waiting for read on fd 7
//       #0 0x000055d0c0a1b2c3 gevent::Hub::switch_out()+83 (server)
//       ...
//     greenlet 4 "Greenlet-4", started by 1 0.52 s ago: waiting for sleep (0.48 s left)
//
// Each hub is described on its own thread (through run_callback_threadsafe), so nothing is
// read while it changes; a hub that does not answer within `patience` (blocked, or busy for
// that long) is listed as such. The calling thread waits meanwhile: call it from a thread of
// its own, or accept that the calling hub pauses (for at most `patience`). The backtraces of
// suspended greenlets are unwound from their saved contexts with libunwind (loaded with
// dlopen; without libunwind8 they are left out), with function names from symbol tables.
//
// GEVENT_DUMP_SIGNAL=SIGUSR2 (config().dump_signal) prints run info on stderr each time the
// process receives that signal, from a thread of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "gevent/hub.hpp"

namespace gevent {

struct GreenletInfo {
  enum class State {
    running,    // the greenlet that asked (or the one the hub was running)
    ready,      // in the run queue
    waiting,    // suspended in a wait: see waiting_for
    suspended,  // switched out with no wait recorded (a plain switch to the hub)
    scheduled,  // started, has not run yet
  };
  std::uint64_t id = 0;
  std::string name;
  State state = State::running;
  std::string waiting_for;  // "read on fd 7", "Event at 0x...", "sleep (0.48 s left)"
  // The id of the greenlet that started it (the main greenlet's is 0), or kStartedByHub.
  static constexpr std::uint64_t kStartedByHub = ~std::uint64_t{0};
  bool main = false;  // the thread's own greenlet: never started
  std::uint64_t started_by = 0;
  std::chrono::nanoseconds age{};  // since it was started (to the coarse clock's few ms)
  // Its stack's size and how deep it has been used (bytes; 0 for the main greenlet's thread
  // stack), to pick GEVENT_STACK_SIZE by. Counted in whole pages from the top, and a stack
  // reused from the pool counts what earlier greenlets on it used: an upper bound, and the
  // hub's largest is the deepest any greenlet went.
  std::size_t stack_size = 0;
  std::size_t stack_high_water = 0;
  std::string backtrace;  // with greenlet_stacks, for suspended greenlets
};

std::string_view to_string(GreenletInfo::State state);

struct HubInfo {
  int thread_id = 0;  // gettid
  std::string backend;
  bool answered = true;  // false: the hub did not answer within `patience`
  // When it did not answer: what its thread is doing ("running", "in system call 7"), and
  // the thread's backtrace in a system call.
  std::string thread_state;
  std::string thread_backtrace;
  HubCounters counters;
  std::vector<GreenletInfo> greenlets;  // the main greenlet, then the newest first
};

struct RunInfoOptions {
  bool greenlet_stacks = true;  // unwind each suspended greenlet's stack
  int max_frames = 24;
  std::chrono::milliseconds patience{1000};  // per hub of another thread
};

std::vector<HubInfo> run_info(const RunInfoOptions& options = {});
std::string format_run_info(const RunInfoOptions& options = {});
void print_run_info(const RunInfoOptions& options = {});  // on stderr
void print_run_info(std::ostream& out, const RunInfoOptions& options = {});

}  // namespace gevent
