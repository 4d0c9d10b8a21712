// The loop contract on libuv. Watchers own heap-allocated handles, because libuv keeps
// using a closed handle until its close callback runs in a later iteration.
#include "loop/libuv_loop.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <uv.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "loop/backend_common.hpp"
#include "sys/libc.hpp"

namespace gevent::loop::detail {
namespace {

void check_uv(int status, const char* what) {
  // libuv's error codes are negated errno values on Unix.
  if (status < 0) throw std::system_error(-status, std::generic_category(), what);
}

void set_handle_ref(uv_handle_t* handle, bool keeps_loop_alive) {
  if (keeps_loop_alive) {
    uv_ref(handle);
  } else {
    uv_unref(handle);
  }
}

int to_uv_events(int events) {
  return ((events & READ) != 0 ? UV_READABLE : 0) | ((events & WRITE) != 0 ? UV_WRITABLE : 0);
}

int from_uv_events(int events) {
  return ((events & UV_READABLE) != 0 ? READ : 0) | ((events & UV_WRITABLE) != 0 ? WRITE : 0);
}

uint64_t ceil_ms(Duration duration) {
  constexpr Duration::rep kNanosPerMs = 1'000'000;
  const Duration::rep ns = duration.count();
  if (ns <= 0) return 0;
  return static_cast<uint64_t>(ns / kNanosPerMs + (ns % kNanosPerMs != 0 ? 1 : 0));
}

// libuv measures timers in whole ms from uv_now(), a clock read that is truncated to the ms
// and may come from the coarse monotonic clock, so it lags the real time. Waiting `after`
// from uv_now() alone could fire up to ~2ms early; waiting for the lag too never does.
// (uv_now() and uv_hrtime() count from the same monotonic origin.)
uint64_t first_expiry_ms(uv_loop_t* loop, Duration after) {
  if (after <= Duration::zero()) return 0;
  uv_update_time(loop);
  const uint64_t now_ns = uv_hrtime();
  const uint64_t loop_now_ns = uv_now(loop) * 1'000'000;
  const Duration lag(now_ns > loop_now_ns ? static_cast<Duration::rep>(now_ns - loop_now_ns) : 0);
  return ceil_ms(after < Duration::max() - lag ? after + lag : Duration::max());
}

// A libuv handle on the heap. Destroying this closes the handle, which frees itself in its
// close callback, once libuv no longer uses it.
template <class Handle>
class UvHandle {
 public:
  // `init` is the handle's uv_*_init function; `args` follow the loop and the handle.
  template <class Init, class... Args>
  UvHandle(uv_loop_t* loop, Init init, Args... args) {
    auto handle = std::make_unique<Handle>();
    check_uv(init(loop, handle.get(), args...), "gevent: cannot create a libuv handle");
    handle_ = handle.release();
  }
  ~UvHandle() {
    uv_close(base(), [](uv_handle_t* h) { delete reinterpret_cast<Handle*>(h); });
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  Handle* get() const { return handle_; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }

 private:
  Handle* handle_;
};

class FdPoller;

// uv_loop_fork (libuv 1.44) gives the child a new wake-up fd but keeps each async handle's
// "sent, not yet read" mark. A wake-up the parent's loop had not read yet (the hub takes
// thread-pool results without running the loop when they come quickly) would leave the mark
// set, and every uv_async_send in the child would then do nothing: a lost wake-up. The mark
// is the handle's `pending` field (uv/unix.h, UV_ASYNC_PRIVATE_FIELDS).
void clear_async_sent_mark(uv_handle_t* handle, void*) {
  if (handle->type == UV_ASYNC) reinterpret_cast<uv_async_t*>(handle)->pending = 0;
}

class UvLoop final : public Loop {
 public:
  UvLoop() { check_uv(uv_loop_init(&loop_), "gevent: uv_loop_init"); }
  ~UvLoop() override;

  std::string_view backend() const override { return "libuv"; }
  void run(RunMode mode) override;
  bool alive() const override { return census_.alive(); }
  int active_watchers() const override { return census_.active(); }
  void reinit() override {
    check_uv(uv_loop_fork(&loop_), "gevent: uv_loop_fork");
    uv_walk(&loop_, &clear_async_sent_mark, nullptr);
  }

  std::unique_ptr<IoWatcher> io(int fd, int events, IoCallback cb) override;
  std::unique_ptr<TimerWatcher> timer(Duration after, Duration repeat, Callback cb) override;
  std::unique_ptr<AsyncWatcher> async(Callback cb) override;
  std::unique_ptr<SignalWatcher> signal(int signum, Callback cb) override;
  std::unique_ptr<ChildWatcher> child(int pid, Callback cb) override;
  std::unique_ptr<PrepareWatcher> prepare(Callback cb) override;
  std::unique_ptr<CheckWatcher> check(Callback cb) override;
  std::unique_ptr<IdleWatcher> idle(Callback cb) override;

  uv_loop_t* raw() { return &loop_; }
  WatcherCensus& census() { return census_; }
  CallbackGuard& guard() { return guard_; }
  // The poller every IoWatcher on `fd` shares.
  std::shared_ptr<FdPoller> poller_for(int fd);
  void forget_poller(int fd);

 private:
  void run_once();

  uv_loop_t loop_;
  WatcherCensus census_;
  CallbackGuard guard_;
  std::unordered_map<int, std::weak_ptr<FdPoller>> pollers_;
};

UvLoop::~UvLoop() {
  // Handles still open here belong to watchers that outlived their loop, against the
  // contract; closing them anyway lets the loop close.
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (uv_is_closing(handle) == 0) uv_close(handle, nullptr);
      },
      nullptr);
  // Close callbacks, which free the handles, run only inside an iteration.
  while (uv_loop_close(&loop_) == UV_EBUSY) uv_run(&loop_, UV_RUN_NOWAIT);
}

void UvLoop::run(RunMode mode) {
  if (mode == RunMode::once) {
    run_once();
  } else {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  guard_.rethrow_pending();
}

// A libuv iteration does not block while closed handles wait for their close callbacks, so
// it may handle nothing at all: go on until a callback has run or nothing is left to wait
// for.
void UvLoop::run_once() {
  const unsigned long callbacks_before = guard_.invocations();
  do {
    uv_run(&loop_, UV_RUN_ONCE);
  } while (guard_.invocations() == callbacks_before && census_.alive() &&
           uv_loop_alive(&loop_) != 0);
}

// A watcher on one libuv handle, active exactly when the handle is.
template <class Interface, class Handle>
class UvWatcher : public WatcherBase<Interface> {
 public:
  bool active() const override { return uv_is_active(handle_.base()) != 0; }

 protected:
  template <class Init, class... Args>
  UvWatcher(UvLoop& loop, Init init, Args... args)
      : WatcherBase<Interface>(loop.census()), loop_(loop), handle_(loop.raw(), init, args...) {}

  UvLoop& loop() const { return loop_; }
  Handle* handle() const { return handle_.get(); }
  uv_handle_t* base_handle() const { return handle_.base(); }
  void apply_ref(bool keeps_loop_alive) override {
    set_handle_ref(handle_.base(), keeps_loop_alive);
  }

 private:
  UvLoop& loop_;
  UvHandle<Handle> handle_;
};

// A watcher on a libuv handle whose callback takes only the handle.
template <class Interface, class Handle, auto Init, auto Start, auto Stop>
class UvCallbackWatcher final : public UvWatcher<Interface, Handle> {
 public:
  UvCallbackWatcher(UvLoop& loop, Callback cb)
      : UvWatcher<Interface, Handle>(loop, Init), cb_(std::move(cb)) {
    this->handle()->data = this;
  }

 private:
  void start_now() override { check_uv(Start(this->handle(), &on_event), "gevent: libuv start"); }
  void stop_now() override { Stop(this->handle()); }

  // The callback may destroy the watcher: nothing touches it afterwards.
  static void on_event(Handle* handle) {
    auto* self = static_cast<UvCallbackWatcher*>(handle->data);
    self->loop().guard().invoke(self->cb_);
  }

  Callback cb_;
};

using UvPrepareWatcher = UvCallbackWatcher<PrepareWatcher, uv_prepare_t, uv_prepare_init,
                                           uv_prepare_start, uv_prepare_stop>;
using UvCheckWatcher =
    UvCallbackWatcher<CheckWatcher, uv_check_t, uv_check_init, uv_check_start, uv_check_stop>;
using UvIdleWatcher =
    UvCallbackWatcher<IdleWatcher, uv_idle_t, uv_idle_init, uv_idle_start, uv_idle_stop>;

class UvTimerWatcher final : public UvWatcher<TimerWatcher, uv_timer_t> {
 public:
  UvTimerWatcher(UvLoop& loop, Duration after, Duration repeat, Callback cb)
      : UvWatcher(loop, uv_timer_init), after_(after), repeat_(repeat), cb_(std::move(cb)) {
    handle()->data = this;
  }

  void set(Duration after, Duration repeat) override {
    const bool was_active = active();
    stop();
    after_ = after;
    repeat_ = repeat;
    if (was_active) start();
  }

 private:
  void start_now() override {
    check_uv(uv_timer_start(handle(), &on_expiry, first_expiry_ms(loop().raw(), after_),
                            ceil_ms(repeat_)),
             "gevent: uv_timer_start");
  }
  void stop_now() override { uv_timer_stop(handle()); }

  // uv_run runs due timers *before* it polls, then blocks for as long as the remaining
  // timers allow: with none left it would block forever, though the hub (which runs after
  // uv_run returns) may have work due now. uv_stop makes that poll non-blocking.
  static void on_expiry(uv_timer_t* handle) {
    auto* self = static_cast<UvTimerWatcher*>(handle->data);
    self->recount();  // libuv has just stopped a one-shot timer
    uv_stop(handle->loop);
    self->loop().guard().invoke(self->cb_);
  }

  Duration after_;
  Duration repeat_;
  Callback cb_;
};

// A uv_async_t is active from its creation until it is closed. While this watcher is
// stopped, the handle is unreferenced and wake-ups are ignored.
class UvAsyncWatcher final : public UvWatcher<AsyncWatcher, uv_async_t> {
 public:
  UvAsyncWatcher(UvLoop& loop, Callback cb)
      : UvWatcher(loop, uv_async_init, &on_wakeup), cb_(std::move(cb)) {
    handle()->data = this;
    sync_ref();
  }

  bool active() const override { return started_; }
  void send() override { uv_async_send(handle()); }

 private:
  void start_now() override {
    started_ = true;
    sync_ref();
  }
  void stop_now() override {
    started_ = false;
    sync_ref();
  }
  void apply_ref(bool) override { sync_ref(); }
  void sync_ref() { set_handle_ref(base_handle(), started_ && referenced()); }

  static void on_wakeup(uv_async_t* handle) {
    auto* self = static_cast<UvAsyncWatcher*>(handle->data);
    if (self->started_) self->loop().guard().invoke(self->cb_);
  }

  bool started_ = false;
  Callback cb_;
};

class UvSignalWatcher final : public UvWatcher<SignalWatcher, uv_signal_t> {
 public:
  UvSignalWatcher(UvLoop& loop, int signum, Callback cb)
      : UvWatcher(loop, uv_signal_init),
        claim_(signum, &loop),
        signum_(signum),
        cb_(std::move(cb)) {
    handle()->data = this;
  }
  // Stop before claim_ lets another loop take the signal.
  ~UvSignalWatcher() override { stop(); }

  int signum() const override { return signum_; }

 private:
  void start_now() override {
    check_uv(uv_signal_start(handle(), &on_signal, signum_), "gevent: uv_signal_start");
  }
  void stop_now() override { uv_signal_stop(handle()); }

  static void on_signal(uv_signal_t* handle, int) {
    auto* self = static_cast<UvSignalWatcher*>(handle->data);
    self->loop().guard().invoke(self->cb_);
  }

  SignalClaim claim_;
  int signum_;
  Callback cb_;
};

// libuv cannot watch an arbitrary pid: on SIGCHLD, ask waitpid() about ours without
// blocking. The zombie stays until reaped, so a child that exited before start() is found
// by the check start() schedules.
class UvChildWatcher final : public UvWatcher<ChildWatcher, uv_signal_t> {
 public:
  UvChildWatcher(UvLoop& loop, int pid, Callback cb)
      : UvWatcher(loop, uv_signal_init),
        claim_(SIGCHLD, &loop),
        recheck_(loop.raw(), uv_timer_init),
        pid_(pid),
        cb_(std::move(cb)) {
    handle()->data = this;
    recheck_.get()->data = this;
  }
  // Stop before claim_ lets another loop take SIGCHLD.
  ~UvChildWatcher() override { stop(); }

  int pid() const override { return pid_; }
  int rpid() const override { return rpid_; }
  int rstatus() const override { return rstatus_; }

 private:
  void start_now() override {
    check_uv(uv_signal_start(handle(), &on_sigchld, SIGCHLD), "gevent: uv_signal_start");
    recheck_soon();
  }
  void stop_now() override {
    uv_signal_stop(handle());
    uv_timer_stop(recheck_.get());
  }
  void apply_ref(bool keeps_loop_alive) override {
    UvWatcher::apply_ref(keeps_loop_alive);
    set_handle_ref(recheck_.base(), keeps_loop_alive);
  }

  void recheck_soon() { uv_timer_start(recheck_.get(), &on_recheck, 0, 0); }
  void reap();

  static void on_sigchld(uv_signal_t* handle, int) {
    static_cast<UvChildWatcher*>(handle->data)->reap();
  }
  static void on_recheck(uv_timer_t* handle) { static_cast<UvChildWatcher*>(handle->data)->reap(); }

  SignalClaim claim_;
  UvHandle<uv_timer_t> recheck_;
  int pid_;
  int rpid_ = 0;
  int rstatus_ = 0;
  Callback cb_;
};

void UvChildWatcher::reap() {
  int status = 0;
  const pid_t reaped = sys::waitpid(pid_ == 0 ? -1 : pid_, &status, WNOHANG);
  if (reaped <= 0) return;
  rpid_ = reaped;
  rstatus_ = status;
  // One SIGCHLD may stand for several children; look again for any other.
  if (pid_ == 0) recheck_soon();
  loop().guard().invoke(cb_);
}

class UvIoWatcher;

// libuv allows one poll handle per fd and loop, while the contract allows several
// IoWatchers on one fd (a reader and a writer, typically). They share one FdPoller, which
// polls for what its active watchers want together and hands each its part.
class FdPoller : public std::enable_shared_from_this<FdPoller> {
 public:
  FdPoller(UvLoop& loop, int fd);
  ~FdPoller() { loop_.forget_poller(fd_); }
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;

  int fd() const { return fd_; }
  void attach(UvIoWatcher& watcher);
  void detach(UvIoWatcher& watcher);
  // Polls for what the attached watchers want now.
  void update();

 private:
  static void on_poll(uv_poll_t* handle, int status, int events);
  void dispatch(int revents);
  bool attached(const UvIoWatcher* watcher) const;

  UvLoop& loop_;
  int fd_;
  UvHandle<uv_poll_t> handle_;
  std::vector<UvIoWatcher*> watchers_;
  int polled_events_ = 0;
};

class UvIoWatcher final : public WatcherBase<IoWatcher> {
 public:
  UvIoWatcher(UvLoop& loop, int fd, int events, IoCallback cb)
      : WatcherBase(loop.census()),
        loop_(loop),
        poller_(loop.poller_for(fd)),
        events_(events),
        cb_(std::move(cb)) {
    poller_->attach(*this);
  }
  ~UvIoWatcher() override { poller_->detach(*this); }

  bool active() const override { return started_; }
  int fd() const override { return poller_->fd(); }
  int events() const override { return events_; }
  void set_events(int events) override {
    check_io_args(fd(), events);
    events_ = events;
    poller_->update();
  }

  // The callback may destroy the watcher: nothing touches it afterwards.
  void deliver(int revents) {
    const int mine = revents & events_;
    if (started_ && mine != 0) loop_.guard().invoke(cb_, mine);
  }

 private:
  void start_now() override {
    started_ = true;
    poller_->update();
  }
  void stop_now() override {
    started_ = false;
    poller_->update();
  }
  void apply_ref(bool) override { poller_->update(); }

  UvLoop& loop_;
  std::shared_ptr<FdPoller> poller_;
  int events_;
  bool started_ = false;
  IoCallback cb_;
};

// uv_poll_init() makes the fd non-blocking as a side effect; libev leaves it alone, and
// the contract only watches, so put the flag back.
int init_poll_keeping_fd_flags(uv_loop_t* loop, uv_poll_t* handle, int fd) {
  const int flags = sys::fcntl(fd, F_GETFL);
  const int status = uv_poll_init(loop, handle, fd);
  if (status == 0 && flags != -1 && (flags & O_NONBLOCK) == 0) sys::fcntl(fd, F_SETFL, flags);
  return status;
}

FdPoller::FdPoller(UvLoop& loop, int fd)
    : loop_(loop), fd_(fd), handle_(loop.raw(), init_poll_keeping_fd_flags, fd) {
  handle_.get()->data = this;
}

void FdPoller::attach(UvIoWatcher& watcher) { watchers_.push_back(&watcher); }

void FdPoller::detach(UvIoWatcher& watcher) {
  std::erase(watchers_, &watcher);
  update();
}

bool FdPoller::attached(const UvIoWatcher* watcher) const {
  return std::find(watchers_.begin(), watchers_.end(), watcher) != watchers_.end();
}

void FdPoller::update() {
  int wanted = 0;
  bool referenced = false;
  for (const UvIoWatcher* watcher : watchers_) {
    if (!watcher->active()) continue;
    wanted |= watcher->events();
    referenced = referenced || watcher->referenced();
  }
  if (wanted != polled_events_) {
    if (wanted == 0) {
      uv_poll_stop(handle_.get());
    } else {
      check_uv(uv_poll_start(handle_.get(), to_uv_events(wanted), &on_poll),
               "gevent: uv_poll_start");
    }
    polled_events_ = wanted;
  }
  set_handle_ref(handle_.base(), referenced);
}

void FdPoller::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<FdPoller*>(handle->data);
  // A callback may destroy the last watcher, and with it this poller.
  const std::shared_ptr<FdPoller> keep_alive = self->shared_from_this();
  if (status < 0) {
    // libuv stops polling on an error (POLLERR). Wake both directions so each owner's next
    // call on the fd reports it, and poll again below, as libev would.
    self->polled_events_ = 0;
    events = UV_READABLE | UV_WRITABLE;
  }
  self->dispatch(from_uv_events(events));
  self->update();
}

void FdPoller::dispatch(int revents) {
  if (watchers_.size() == 1) {
    watchers_.front()->deliver(revents);
    return;
  }
  // Callbacks may attach and detach watchers, so walk a copy and skip the detached ones.
  const std::vector<UvIoWatcher*> snapshot = watchers_;
  for (UvIoWatcher* watcher : snapshot) {
    if (attached(watcher)) watcher->deliver(revents);
  }
}

std::shared_ptr<FdPoller> UvLoop::poller_for(int fd) {
  const auto found = pollers_.find(fd);
  if (found != pollers_.end()) {
    if (std::shared_ptr<FdPoller> poller = found->second.lock()) return poller;
  }
  auto poller = std::make_shared<FdPoller>(*this, fd);
  pollers_[fd] = poller;
  return poller;
}

void UvLoop::forget_poller(int fd) {
  // A newer poller for the same fd may have taken the slot already.
  const auto found = pollers_.find(fd);
  if (found != pollers_.end() && found->second.expired()) pollers_.erase(found);
}

std::unique_ptr<IoWatcher> UvLoop::io(int fd, int events, IoCallback cb) {
  check_io_args(fd, events);
  return std::make_unique<UvIoWatcher>(*this, fd, events, std::move(cb));
}

std::unique_ptr<TimerWatcher> UvLoop::timer(Duration after, Duration repeat, Callback cb) {
  return std::make_unique<UvTimerWatcher>(*this, after, repeat, std::move(cb));
}

std::unique_ptr<AsyncWatcher> UvLoop::async(Callback cb) {
  return std::make_unique<UvAsyncWatcher>(*this, std::move(cb));
}

std::unique_ptr<SignalWatcher> UvLoop::signal(int signum, Callback cb) {
  return std::make_unique<UvSignalWatcher>(*this, signum, std::move(cb));
}

std::unique_ptr<ChildWatcher> UvLoop::child(int pid, Callback cb) {
  check_child_pid(pid);
  return std::make_unique<UvChildWatcher>(*this, pid, std::move(cb));
}

std::unique_ptr<PrepareWatcher> UvLoop::prepare(Callback cb) {
  return std::make_unique<UvPrepareWatcher>(*this, std::move(cb));
}

std::unique_ptr<CheckWatcher> UvLoop::check(Callback cb) {
  return std::make_unique<UvCheckWatcher>(*this, std::move(cb));
}

std::unique_ptr<IdleWatcher> UvLoop::idle(Callback cb) {
  return std::make_unique<UvIdleWatcher>(*this, std::move(cb));
}

}  // namespace

std::unique_ptr<Loop> make_libuv_loop() { return std::make_unique<UvLoop>(); }

}  // namespace gevent::loop::detail
