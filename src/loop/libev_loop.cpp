// The loop contract on libev. Watchers embed their ev_* struct; libev needs no heap
// allocation and stops a watcher synchronously.
#include "loop/libev_loop.hpp"

#include <ev.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <utility>

#include "loop/backend_common.hpp"
#include "loop/reaped_children.hpp"

namespace gevent::loop::detail {
namespace {

int to_ev_events(int events) {
  return ((events & READ) != 0 ? EV_READ : 0) | ((events & WRITE) != 0 ? EV_WRITE : 0);
}

int from_ev_events(int revents) {
  // EV_ERROR (libev found the fd bad) wakes both directions: the owner's next call on the
  // fd reports the error.
  if ((revents & EV_ERROR) != 0) return READ | WRITE;
  return ((revents & EV_READ) != 0 ? READ : 0) | ((revents & EV_WRITE) != 0 ? WRITE : 0);
}

// libev aborts on a negative timer repeat.
ev_tstamp to_ev_seconds(Duration duration) {
  return std::chrono::duration<ev_tstamp>(std::max(duration, Duration::zero())).count();
}

std::atomic<bool> default_loop_exists{false};

// The right to use libev's default loop, a single static object inside libev.
class DefaultLoopLease {
 public:
  DefaultLoopLease() {
    if (default_loop_exists.exchange(true)) {
      throw std::logic_error(
          "gevent: the libev default loop already exists; only one may exist at a time");
    }
  }
  ~DefaultLoopLease() { default_loop_exists = false; }
  DefaultLoopLease(const DefaultLoopLease&) = delete;
  DefaultLoopLease& operator=(const DefaultLoopLease&) = delete;
};

class EvLoop final : public Loop {
 public:
  explicit EvLoop(bool default_loop);
  ~EvLoop() override;

  std::string_view backend() const override { return "libev"; }
  void run(RunMode mode) override;
  bool alive() const override { return census_.alive(); }
  int active_watchers() const override { return census_.active(); }
  void reinit() override { ev_loop_fork(raw_); }

  std::unique_ptr<IoWatcher> io(int fd, int events, IoCallback cb) override;
  std::unique_ptr<TimerWatcher> timer(Duration after, Duration repeat, Callback cb) override;
  std::unique_ptr<AsyncWatcher> async(Callback cb) override;
  std::unique_ptr<SignalWatcher> signal(int signum, Callback cb) override;
  std::unique_ptr<ChildWatcher> child(int pid, Callback cb) override;
  std::unique_ptr<PrepareWatcher> prepare(Callback cb) override;
  std::unique_ptr<CheckWatcher> check(Callback cb) override;
  std::unique_ptr<IdleWatcher> idle(Callback cb) override;

  struct ev_loop* raw() const {
    return raw_;
  }
  WatcherCensus& census() { return census_; }
  CallbackGuard& guard() { return guard_; }

 private:
  static void on_any_child_reaped(struct ev_loop*, ev_child* watcher, int) {
    record_reaped_status(watcher->rpid, watcher->rstatus);
  }

  std::optional<DefaultLoopLease> default_lease_;
  std::optional<SignalClaim> sigchld_claim_;
  struct ev_loop* raw_ = nullptr;
  // In the default loop: sees every child libev reaps, for take_reaped_status(). Internal:
  // not a watcher of the contract, so it is not counted, and it keeps nothing alive.
  ev_child any_child_{};
  WatcherCensus census_;
  CallbackGuard guard_;
};

EvLoop::EvLoop(bool default_loop) {
  if (default_loop) {
    default_lease_.emplace();
    // The default loop watches SIGCHLD itself, to reap children for child watchers.
    sigchld_claim_.emplace(SIGCHLD, this);
    raw_ = ev_default_loop(0);
  } else {
    raw_ = ev_loop_new(EVFLAG_AUTO);
  }
  if (raw_ == nullptr) throw std::runtime_error("gevent: libev could not create a loop");
  if (default_loop) {
    ev_child_init(&any_child_, &on_any_child_reaped, 0, 0);
    ev_child_start(raw_, &any_child_);
    ev_unref(raw_);
  }
}

EvLoop::~EvLoop() {
  if (ev_is_active(&any_child_)) {
    ev_ref(raw_);
    ev_child_stop(raw_, &any_child_);
  }
  ev_loop_destroy(raw_);
}

void EvLoop::run(RunMode mode) {
  ev_run(raw_, mode == RunMode::once ? EVRUN_ONCE : EVRUN_NOWAIT);
  guard_.rethrow_pending();
}

// What every libev watcher shares: starting and stopping its `Ev` struct with libev's
// `Start` and `Stop`, and references. libev counts references per loop (ev_ref/ev_unref),
// not per watcher, so an unreferenced active watcher holds one ev_unref, which it gives
// back when it stops.
template <class Interface, class Ev, auto Start, auto Stop>
class EvWatcher : public WatcherBase<Interface> {
 public:
  ~EvWatcher() override { stop_now(); }
  bool active() const final { return ev_is_active(&ev_); }

 protected:
  explicit EvWatcher(EvLoop& loop) : WatcherBase<Interface>(loop.census()), loop_(loop) {}

  EvLoop& loop() const { return loop_; }

  // libev stops some watchers by itself just before their callback (a one-shot timer, an
  // io watcher on a bad fd); their ev_unref must then be given back.
  void before_callback() {
    if (!active()) release_unref();
    this->recount();
  }

  Ev ev_{};

 private:
  void start_now() final {
    Start(loop_.raw(), &ev_);
    if (!this->referenced()) hold_unref();
  }
  // Stopping also drops a pending event, so no callback reaches a stopped watcher.
  void stop_now() final {
    release_unref();
    Stop(loop_.raw(), &ev_);
  }
  void apply_ref(bool keeps_loop_alive) final {
    if (!active()) return;
    if (keeps_loop_alive) {
      release_unref();
    } else {
      hold_unref();
    }
  }
  void hold_unref() {
    ev_unref(loop_.raw());
    holding_unref_ = true;
  }
  void release_unref() {
    if (std::exchange(holding_unref_, false)) ev_ref(loop_.raw());
  }

  EvLoop& loop_;
  bool holding_unref_ = false;
};

// A libev watcher whose callback takes no arguments.
template <class Interface, class Ev, auto Start, auto Stop>
class EvCallbackWatcher : public EvWatcher<Interface, Ev, Start, Stop> {
 public:
  EvCallbackWatcher(EvLoop& loop, Callback cb)
      : EvWatcher<Interface, Ev, Start, Stop>(loop), cb_(std::move(cb)) {
    ev_init(&this->ev_, &on_event);
    this->ev_.data = this;
  }

 private:
  // The callback may destroy the watcher: nothing touches it afterwards.
  static void on_event(struct ev_loop*, Ev* ev, int) {
    auto* self = static_cast<EvCallbackWatcher*>(ev->data);
    self->before_callback();
    self->loop().guard().invoke(self->cb_);
  }

  Callback cb_;
};

class EvIoWatcher final : public EvWatcher<IoWatcher, ev_io, ev_io_start, ev_io_stop> {
 public:
  EvIoWatcher(EvLoop& loop, int fd, int events, IoCallback cb)
      : EvWatcher(loop), events_(events), cb_(std::move(cb)) {
    ev_io_init(&ev_, &on_event, fd, to_ev_events(events));
    ev_.data = this;
  }

  int fd() const override { return ev_.fd; }
  int events() const override { return events_; }
  void set_events(int events) override {
    check_io_args(fd(), events);
    const bool was_active = active();
    stop();
    events_ = events;
    ev_io_set(&ev_, fd(), to_ev_events(events));
    if (was_active) start();
  }

 private:
  static void on_event(struct ev_loop*, ev_io* io, int revents) {
    auto* self = static_cast<EvIoWatcher*>(io->data);
    self->before_callback();
    self->loop().guard().invoke(self->cb_, from_ev_events(revents));
  }

  int events_;
  IoCallback cb_;
};

// libev measures a new timer from the time it cached when the iteration began, which may
// be long ago: refresh it so the timer cannot fire early.
void start_timer_from_now(struct ev_loop* loop, ev_timer* timer) {
  ev_now_update(loop);
  ev_timer_start(loop, timer);
}

class EvTimerWatcher final
    : public EvCallbackWatcher<TimerWatcher, ev_timer, start_timer_from_now, ev_timer_stop> {
 public:
  EvTimerWatcher(EvLoop& loop, Duration after, Duration repeat, Callback cb)
      : EvCallbackWatcher(loop, std::move(cb)) {
    ev_timer_set(&ev_, to_ev_seconds(after), to_ev_seconds(repeat));
  }

  void set(Duration after, Duration repeat) override {
    const bool was_active = active();
    stop();
    ev_timer_set(&ev_, to_ev_seconds(after), to_ev_seconds(repeat));
    if (was_active) start();
  }
};

class EvAsyncWatcher final
    : public EvCallbackWatcher<AsyncWatcher, ev_async, ev_async_start, ev_async_stop> {
 public:
  using EvCallbackWatcher::EvCallbackWatcher;
  void send() override { ev_async_send(loop().raw(), &ev_); }
};

class EvSignalWatcher final
    : public EvCallbackWatcher<SignalWatcher, ev_signal, ev_signal_start, ev_signal_stop> {
 public:
  EvSignalWatcher(EvLoop& loop, int signum, Callback cb)
      : EvCallbackWatcher(loop, std::move(cb)), claim_(signum, &loop) {
    ev_signal_set(&ev_, signum);
  }
  // Stop before claim_ lets another loop take the signal.
  ~EvSignalWatcher() override { stop(); }

  int signum() const override { return ev_.signum; }

 private:
  SignalClaim claim_;
};

class EvChildWatcher final
    : public EvCallbackWatcher<ChildWatcher, ev_child, ev_child_start, ev_child_stop> {
 public:
  EvChildWatcher(EvLoop& loop, int pid, Callback cb) : EvCallbackWatcher(loop, std::move(cb)) {
    ev_child_set(&ev_, pid, /*trace=*/0);
  }

  int pid() const override { return ev_.pid; }
  int rpid() const override { return ev_.rpid; }
  int rstatus() const override { return ev_.rstatus; }
};

using EvPrepareWatcher =
    EvCallbackWatcher<PrepareWatcher, ev_prepare, ev_prepare_start, ev_prepare_stop>;
using EvCheckWatcher = EvCallbackWatcher<CheckWatcher, ev_check, ev_check_start, ev_check_stop>;
using EvIdleWatcher = EvCallbackWatcher<IdleWatcher, ev_idle, ev_idle_start, ev_idle_stop>;

std::unique_ptr<IoWatcher> EvLoop::io(int fd, int events, IoCallback cb) {
  check_io_args(fd, events);
  return std::make_unique<EvIoWatcher>(*this, fd, events, std::move(cb));
}

std::unique_ptr<TimerWatcher> EvLoop::timer(Duration after, Duration repeat, Callback cb) {
  return std::make_unique<EvTimerWatcher>(*this, after, repeat, std::move(cb));
}

std::unique_ptr<AsyncWatcher> EvLoop::async(Callback cb) {
  return std::make_unique<EvAsyncWatcher>(*this, std::move(cb));
}

std::unique_ptr<SignalWatcher> EvLoop::signal(int signum, Callback cb) {
  return std::make_unique<EvSignalWatcher>(*this, signum, std::move(cb));
}

std::unique_ptr<ChildWatcher> EvLoop::child(int pid, Callback cb) {
  if (!default_lease_) {
    throw std::logic_error(
        "gevent: libev supports child watchers only in the default loop "
        "(make_loop(\"libev\", /*default_loop=*/true))");
  }
  check_child_pid(pid);
  return std::make_unique<EvChildWatcher>(*this, pid, std::move(cb));
}

std::unique_ptr<PrepareWatcher> EvLoop::prepare(Callback cb) {
  return std::make_unique<EvPrepareWatcher>(*this, std::move(cb));
}

std::unique_ptr<CheckWatcher> EvLoop::check(Callback cb) {
  return std::make_unique<EvCheckWatcher>(*this, std::move(cb));
}

std::unique_ptr<IdleWatcher> EvLoop::idle(Callback cb) {
  return std::make_unique<EvIdleWatcher>(*this, std::move(cb));
}

}  // namespace

std::unique_ptr<Loop> make_libev_loop(bool default_loop) {
  return std::make_unique<EvLoop>(default_loop);
}

}  // namespace gevent::loop::detail
