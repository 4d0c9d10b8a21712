// The event-loop backend contract: what the hub needs from libev or libuv, declared once.
//
// A Loop is owned by one hub and used only from that hub's thread, except
// AsyncWatcher::send(), which any thread may call. Watchers are created by the loop,
// start inactive unless said otherwise, and stop themselves when destroyed; a watcher
// must be destroyed before its loop. Callbacks run inside Loop::run(), on the hub.
//
// Every watcher keeps the loop alive while active (Loop::alive()), unless unref()'d,
// like ev_unref / uv_unref.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "gevent/duration.hpp"

namespace gevent::loop {

// Event bits for IoWatcher.
inline constexpr int READ = 1;
inline constexpr int WRITE = 2;

class Watcher {
 public:
  virtual ~Watcher() = default;
  Watcher() = default;
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  virtual void start() = 0;  // no effect if already active
  virtual void stop() = 0;   // no effect if not active
  virtual bool active() const = 0;
  // Whether this watcher, while active, keeps Loop::alive() true. Default: true.
  virtual void set_ref(bool keeps_loop_alive) = 0;
};

// Readiness of a file descriptor. The callback receives the READ/WRITE bits that fired.
class IoWatcher : public Watcher {
 public:
  virtual int fd() const = 0;
  virtual int events() const = 0;
  // Changes the watched events; keeps the watcher active if it was.
  virtual void set_events(int events) = 0;
};

// Fires once after `after`, then every `repeat` if repeat > 0 (until stopped).
class TimerWatcher : public Watcher {
 public:
  // Changes the schedule; takes effect at the next start(). Re-arms if active.
  virtual void set(Duration after, Duration repeat) = 0;
};

// Wakes the loop from any thread; the callback runs on the loop's thread. Several sends
// before the callback runs may be coalesced into one callback.
class AsyncWatcher : public Watcher {
 public:
  virtual void send() = 0;  // thread-safe, async-signal-safe
};

class SignalWatcher : public Watcher {
 public:
  virtual int signum() const = 0;
};

// Reports the exit of child process pid (0 = any child). After the callback, rpid() and
// rstatus() say which child and its waitpid() status.
class ChildWatcher : public Watcher {
 public:
  virtual int pid() const = 0;
  virtual int rpid() const = 0;
  virtual int rstatus() const = 0;
};

// Run before the loop blocks for I/O, after it wakes, and when it has nothing else to do.
class PrepareWatcher : public Watcher {};
class CheckWatcher : public Watcher {};
class IdleWatcher : public Watcher {};

using Callback = std::function<void()>;
using IoCallback = std::function<void(int revents)>;

class Loop {
 public:
  enum class RunMode {
    once,    // wait for at least one event (if any watcher is active), handle what is ready
    nowait,  // handle what is ready now, never block
  };

  virtual ~Loop() = default;
  Loop() = default;
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // "libev" or "libuv".
  virtual std::string_view backend() const = 0;

  // One iteration. Returns without blocking when nothing is active.
  virtual void run(RunMode mode) = 0;

  // True while an active, referenced watcher exists: something may still happen.
  virtual bool alive() const = 0;

  // Active watchers, referenced or not. For leak checks.
  virtual int active_watchers() const = 0;

  // After fork(), in the child: recreates what the loop polls with (libev's ev_loop_fork,
  // libuv's uv_loop_fork), which the child would otherwise share with the parent. Watchers
  // keep their state. Call in the child only, before the loop runs again there.
  virtual void reinit() = 0;

  // Watcher factories. Each returns an inactive watcher.
  virtual std::unique_ptr<IoWatcher> io(int fd, int events, IoCallback cb) = 0;
  virtual std::unique_ptr<TimerWatcher> timer(Duration after, Duration repeat, Callback cb) = 0;
  virtual std::unique_ptr<AsyncWatcher> async(Callback cb) = 0;
  // Signals can be watched by only one loop at a time per signal number; a second loop
  // watching the same signal throws std::logic_error.
  virtual std::unique_ptr<SignalWatcher> signal(int signum, Callback cb) = 0;
  // libev supports child watchers only in the default loop (the first hub's, normally the
  // main thread's); elsewhere this throws std::logic_error.
  virtual std::unique_ptr<ChildWatcher> child(int pid, Callback cb) = 0;
  virtual std::unique_ptr<PrepareWatcher> prepare(Callback cb) = 0;
  virtual std::unique_ptr<CheckWatcher> check(Callback cb) = 0;
  virtual std::unique_ptr<IdleWatcher> idle(Callback cb) = 0;
};

// Makes a loop of the named backend ("libev" or "libuv"); anything else throws
// std::invalid_argument naming the accepted values. `default_loop` asks libev for its
// default loop (the only one that can watch children); at most one may exist at a time.
std::unique_ptr<Loop> make_loop(std::string_view backend, bool default_loop);

// libev's default loop reaps every child of the process that exits (waitpid(-1) on
// SIGCHLD), whether a watcher asked for it or not. It records the exit status of each child
// it reaps, so that a wait that finds its child already gone (ECHILD) still learns how it
// ended. Returns that status and forgets it. Process-wide and thread-safe; when statuses
// nobody takes pile up, the oldest are dropped.
std::optional<int> take_reaped_status(int pid);

// Runs `spawn`, which creates a child process and returns its pid (0 in the child, for a
// fork), so that a status recorded for an earlier process with the same pid is never taken
// for the new one's. Holds a lock around `spawn` that the recording also takes: keep it
// short. In a forked child, every recorded status is forgotten (they were the parent's).
int spawn_child(const std::function<int()>& spawn);

}  // namespace gevent::loop
