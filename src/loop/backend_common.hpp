// What the libev and libuv backends share: the watcher base class and its bookkeeping,
// signal ownership across loops, keeping callback exceptions out of the C libraries, and
// argument checks.
#pragma once

#include <csignal>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "gevent/loop.hpp"

namespace gevent::loop::detail {

// Counts a loop's active watchers, so that Loop::alive() and Loop::active_watchers() mean
// the same on both backends: libev does not count unreferenced watchers, and libuv counts
// handles, which are not watchers one to one.
class WatcherCensus {
 public:
  // One watcher's last recorded state; withdrawn when the watcher goes.
  class Entry {
   public:
    explicit Entry(WatcherCensus& census) : census_(census) {}
    ~Entry() { record(false, false); }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    void record(bool active, bool keeps_loop_alive) {
      census_.active_ += int{active} - int{active_};
      census_.keeping_alive_ += int{keeps_loop_alive} - int{keeps_loop_alive_};
      active_ = active;
      keeps_loop_alive_ = keeps_loop_alive;
    }

   private:
    WatcherCensus& census_;
    bool active_ = false;
    bool keeps_loop_alive_ = false;
  };

  int active() const { return active_; }
  bool alive() const { return keeping_alive_ > 0; }

 private:
  int active_ = 0;
  int keeping_alive_ = 0;
};

// The backend-independent half of every watcher: idempotent start(), the reference flag,
// and keeping the loop's census current.
template <class Interface>
class WatcherBase : public Interface {
 public:
  void start() final {
    if (!this->active()) start_now();
    recount();
  }
  void stop() final {
    stop_now();
    recount();
  }
  void set_ref(bool keeps_loop_alive) final {
    if (keeps_loop_alive == referenced_) return;
    referenced_ = keeps_loop_alive;
    apply_ref(keeps_loop_alive);
    recount();
  }
  bool referenced() const { return referenced_; }

 protected:
  explicit WatcherBase(WatcherCensus& census) : census_entry_(census) {}

  // Backends also call this just before a callback, because libev and libuv stop some
  // watchers on their own at that point (a one-shot timer that fired).
  void recount() { census_entry_.record(this->active(), this->active() && referenced_); }

 private:
  virtual void start_now() = 0;  // called only while inactive
  virtual void stop_now() = 0;   // must be harmless while inactive
  virtual void apply_ref(bool keeps_loop_alive) = 0;

  WatcherCensus::Entry census_entry_;
  bool referenced_ = true;
};

// A loop's claim on a signal number, held by each signal watcher (and by libev's default
// loop, which watches SIGCHLD itself). libev allows one loop per signal at a time and
// aborts otherwise, and the two libraries' handlers would replace each other, so a claim by
// a second loop throws std::logic_error instead. A loop may claim a signal many times.
class SignalClaim {
 public:
  SignalClaim(int signum, const Loop* loop) : signum_(signum) {
    if (signum <= 0 || signum >= NSIG) {
      throw std::invalid_argument("gevent: no such signal: " + std::to_string(signum));
    }
    std::lock_guard lock(mutex());
    Holder& holder = holders().try_emplace(signum, Holder{loop, 0}).first->second;
    if (holder.loop != loop) {
      throw std::logic_error("gevent: signal " + std::to_string(signum) +
                             " is already watched by another loop; a signal can be watched by "
                             "one loop at a time");
    }
    ++holder.claims;
  }
  ~SignalClaim() {
    std::lock_guard lock(mutex());
    const auto holder = holders().find(signum_);
    if (--holder->second.claims == 0) holders().erase(holder);
  }
  SignalClaim(const SignalClaim&) = delete;
  SignalClaim& operator=(const SignalClaim&) = delete;

 private:
  struct Holder {
    const Loop* loop;
    int claims;
  };
  static std::mutex& mutex() {
    static std::mutex instance;
    return instance;
  }
  static std::map<int, Holder>& holders() {
    static std::map<int, Holder> instance;
    return instance;
  }

  int signum_;
};

// Exceptions must not unwind through libev's or libuv's C frames. Callbacks run through
// invoke(), which keeps the first exception; Loop::run() rethrows it once the backend has
// returned. Later exceptions of the same iteration are dropped.
class CallbackGuard {
 public:
  template <class Callback, class... Args>
  void invoke(Callback& callback, Args... args) noexcept {
    ++invocations_;
    try {
      callback(args...);
    } catch (...) {
      if (!error_) error_ = std::current_exception();
    }
  }

  void rethrow_pending() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

  // Callbacks run so far.
  unsigned long invocations() const { return invocations_; }

 private:
  std::exception_ptr error_;
  unsigned long invocations_ = 0;
};

inline void check_io_args(int fd, int events) {
  if (fd < 0) throw std::invalid_argument("gevent: invalid fd " + std::to_string(fd));
  if ((events & ~(READ | WRITE)) != 0) {
    throw std::invalid_argument("gevent: io events must be a combination of READ and WRITE");
  }
}

inline void check_child_pid(int pid) {
  if (pid < 0) throw std::invalid_argument("gevent: invalid child pid " + std::to_string(pid));
}

}  // namespace gevent::loop::detail
