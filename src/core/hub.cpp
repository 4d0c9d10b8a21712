#include "gevent/hub.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "context/fiber.hpp"
#include "context/stack.hpp"
#include "core/hub_registry.hpp"
#include "core/overflow.hpp"
#include "core/report.hpp"
#include "gevent/config.hpp"
#include "gevent/detail/spin.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/exceptions.hpp"
#include "monitor/dump_signal.hpp"
#include "monitor/probe.hpp"

namespace gevent {

using detail::Clock;
using detail::GreenletBase;
using State = GreenletBase::State;

// Where the stacks go when the process exits from inside a greenlet. A plain pointer with
// external linkage, visible to the leak checker: an object with a destructor would be
// destroyed later in exit().
context::StackPool* stacks_kept_while_exiting = nullptr;

namespace {

// Owns this thread's hub; Hub::this_thread_ is the fast, trivially initialized view of it.
thread_local std::unique_ptr<Hub> this_thread_hub;

constexpr std::size_t kHubStackSize = 256 * 1024;
constexpr int kBatchClockEvery = 64;
constexpr auto kBatchTimeBudget = std::chrono::milliseconds(1);

bool on_main_thread() { return ::getpid() == ::gettid(); }

// The main greenlet and the hub: greenlets without a function of their own.
class RootGreenlet final : public GreenletBase {
 public:
  using GreenletBase::GreenletBase;

 private:
  void run() override {}
  void drop_function() noexcept override {}
};

struct FunctionCallback final : detail::ReadyNode {
  std::function<void()> function;
};

void run_function_callback(detail::ReadyNode* node) {
  std::unique_ptr<FunctionCallback> callback(static_cast<FunctionCallback*>(node));
  try {
    callback->function();
  } catch (...) {
    detail::report_exception("a hub callback", std::current_exception());
  }
}

void greenlet_entry(detail::Fiber* fiber) { static_cast<GreenletBase*>(fiber)->run_body(); }

}  // namespace

// Greenlets waiting in idle() link here; the hub notifies them when the loop is idle.
class Hub::IdleSignal final : public detail::Linkable {
 public:
  bool ready() const override { return false; }
  void fire() { notify_links(); }
};

constinit thread_local Hub* Hub::this_thread_ = nullptr;

Hub& Hub::create_for_this_thread() {
  this_thread_hub.reset(new Hub());
  this_thread_ = this_thread_hub.get();
  return *this_thread_;
}

void Hub::destroy_current() {
  if (!this_thread_hub) return;
  if (this_thread_hub->current_ != this_thread_hub->main_.get())
    throw std::logic_error("gevent: Hub::destroy_current() must be called from the main greenlet");
  this_thread_hub.reset();
  this_thread_ = nullptr;
}

Hub::Hub()
    : thread_(std::this_thread::get_id()),
      loop_(loop::make_loop(config().loop, on_main_thread())),
      stacks_(
          std::make_unique<context::StackPool>(context::guard_kind_named(config().stack_guard))),
      main_(new RootGreenlet(*this, GreenletBase::Kind::main, 0)),
      hub_(new RootGreenlet(*this, GreenletBase::Kind::hub, kHubStackSize)),
      current_(main_.get()),
      idle_signal_(std::make_unique<IdleSignal>()) {
  context::adopt_thread(*main_);
  main_->mark_running();
  hub_->mark_running();
  context::prepare(*hub_, stacks_->acquire(kHubStackSize), &Hub::hub_entry);
  wakeup_timer_ = loop_->timer(Duration::zero(), Duration::zero(), [] {});
  threadsafe_wakeup_ = loop_->async([this] { run_threadsafe_callbacks(); });
  threadsafe_wakeup_->set_ref(false);  // only pending external work keeps the loop alive
  threadsafe_wakeup_->start();
  detail::install_overflow_handler();
  if (config().monitor_thread) {
    probe_ = std::make_unique<detail::HubProbe>();
    probe_->beat(0, main_.get());
  }
  if (config().dump_signal) detail::arm_dump_signal(config().dump_signal);
  detail::register_hub(*this);  // last: a constructor that throws leaves no dangling entry
}

Hub::~Hub() {
  detail::unregister_hub(*this);
  if (current_ != main_.get()) {
    // The process is exiting from inside a greenlet or the hub (std::exit runs thread-local
    // destructors on the caller's stack): that stack must stay mapped, so the pool is kept.
    stacks_kept_while_exiting = stacks_.release();
    if (this_thread_ == this) this_thread_ = nullptr;
    return;
  }
  shut_down_services();
  kill_live_greenlets();
  destroy_services();  // a pool joins its threads and may queue wake-ups: before the queue goes
  discard_ready_queue();
  bound_.close_all();
  idle_signal_.reset();
  wakeup_timer_.reset();
  threadsafe_wakeup_.reset();
  context::forget(*hub_);
  stacks_->release(hub_->stack);
  detail::uninstall_overflow_stack();
  if (this_thread_ == this) this_thread_ = nullptr;
}

std::size_t detail::next_service_key() {
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

detail::HubService& Hub::add_service(std::size_t key,
                                     std::unique_ptr<detail::HubService> (*make)(Hub&)) {
  if (services_closed_)
    throw std::logic_error("gevent: a hub service was asked for while the hub is being destroyed");
  std::unique_ptr<detail::HubService> made = make(*this);  // may make the services it needs
  if (key >= service_slots_.size()) service_slots_.resize(key + 1, nullptr);
  service_slots_[key] = made.get();
  services_.push_back(std::move(made));
  return *services_.back();
}

// A service made meanwhile (by another's shutdown) is told too: the loop runs to its end.
void Hub::shut_down_services() {
  for (std::size_t i = 0; i < services_.size(); ++i) {
    try {
      services_[i]->before_hub_shutdown();
    } catch (...) {
      detail::report_exception("hub shutdown", std::current_exception());
    }
  }
}

// Newest first: a service made while another was being made (that one needed it) goes later.
void Hub::destroy_services() {
  services_closed_ = true;
  while (!services_.empty()) {
    std::unique_ptr<detail::HubService> last = std::move(services_.back());
    services_.pop_back();
    std::replace(service_slots_.begin(), service_slots_.end(), last.get(),
                 static_cast<detail::HubService*>(nullptr));
    last.reset();
  }
}

// Whatever is still queued when the hub goes: callbacks that will never run, and greenlets
// killed before they started, whose queue entry holds their last self-reference.
void Hub::discard_ready_queue() {
  ready_.append(after_poll_);
  while (detail::ReadyNode* node = ready_.pop()) {
    if (node->run_ready == &run_function_callback) {
      delete static_cast<FunctionCallback*>(node);
      continue;
    }
    auto& greenlet = static_cast<GreenletBase&>(*node);
    greenlet.set_queued(false);
    if (greenlet.dequeue_drops_ref()) greenlet.release();
  }
}

void Hub::drop_ready_of_kind(void (*run)(detail::ReadyNode*)) {
  for (detail::ReadyQueue* queue : {&ready_, &after_poll_}) {
    detail::ReadyQueue kept;
    while (detail::ReadyNode* node = queue->pop())
      if (node->run_ready != run) kept.push(node);
    queue->append(kept);
  }
}

std::size_t Hub::stacks_in_use() const { return stacks_->stacks_in_use() - 1; }  // not the hub's

std::string_view Hub::stack_guard() const { return context::to_string(stacks_->guard_kind()); }

void Hub::run_callback(std::function<void()> f) {
  auto callback = std::make_unique<FunctionCallback>();
  callback->run_ready = &run_function_callback;
  callback->function = std::move(f);
  ready_.push(callback.release());
}

void Hub::run_callback_threadsafe(std::function<void()> f) {
  {
    std::lock_guard lock(threadsafe_mutex_);
    threadsafe_callbacks_.push_back(std::move(f));
    threadsafe_pending_.store(true, std::memory_order_release);
  }
  threadsafe_wakeup_->send();
}

void Hub::run_threadsafe_callbacks() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(threadsafe_mutex_);
    callbacks.swap(threadsafe_callbacks_);
    threadsafe_pending_.store(false, std::memory_order_relaxed);
  }
  for (auto& callback : callbacks) run_callback(std::move(callback));
}

void Hub::add_external_work() {
  external_work_added_ = Clock::now();
  if (external_work_++ == 0) threadsafe_wakeup_->set_ref(true);
}

void Hub::remove_external_work() {
  if (external_work_ == 0)
    throw std::logic_error("gevent: Hub::remove_external_work() without add_external_work()");
  if (--external_work_ == 0) threadsafe_wakeup_->set_ref(false);
}

// --- the hub's own fiber ---

void Hub::hub_entry(detail::Fiber* fiber) {
  static_cast<GreenletBase*>(fiber)->hub().run_forever();
}

// One iteration: run what is ready, fire due timers, then wait for I/O (or just poll it
// when work is already queued). Reads like libuv's uv_run.
void Hub::run_forever() {
  for (;;) {
    ++iterations_;
    run_ready_batch();
    fire_expired_timers();
    if (nothing_can_happen()) {
      on_loop_exhausted();
      continue;
    }
    arm_wakeup_timer();
    if (!poll_directly()) poll_loop();
    ready_.append(after_poll_);
  }
}

// The loop still runs at least every kLoopEvery iterations, for its other watchers (signals,
// children, threadsafe callbacks, raw fd waits) and the idle signal.
bool Hub::poll_directly() {
  constexpr int kLoopEvery = 8;
  if (!direct_poller_ || ++direct_polls_ >= kLoopEvery) {
    direct_polls_ = 0;
    return false;
  }
  return direct_poller_->poll_now();
}

// Runs queued greenlets and callbacks, including ones queued meanwhile, for at most about
// kBatchTimeBudget, so a ping-pong of greenlets cannot starve timers and I/O.
void Hub::run_ready_batch() {
  int ran = 0;
  Clock::time_point started;
  while (detail::ReadyNode* node = ready_.pop()) {
    prefetch_next_ready();
    node->run_ready(node);
    if (++ran % kBatchClockEvery != 0) continue;
    const Clock::time_point now = Clock::now();
    if (ran == kBatchClockEvery)
      started = now;
    else if (now - started > kBatchTimeBudget)
      break;
  }
}

// With many connections, a greenlet's node and saved stack have left the caches by the time
// its turn comes. While one greenlet runs, this fetches the node after next and the saved
// stack of the next (whose node the previous call fetched).
void Hub::prefetch_next_ready() const {
  const detail::ReadyNode* next = ready_.front();
  if (!next) return;
  if (next->next_ready) __builtin_prefetch(next->next_ready);
  if (next->run_ready == &Hub::resume_ready)
    __builtin_prefetch(static_cast<const GreenletBase*>(next)->context);
}

void Hub::fire_expired_timers() {
  if (timers_.empty()) return;
  const Clock::time_point now = Clock::now();
  while (detail::TimerNode* node = timers_.pop_expired(now)) node->fire(*node);
}

// The backend's one timer ends its wait when the earliest hub timer is due.
void Hub::arm_wakeup_timer() {
  if (timers_.empty()) {
    wakeup_timer_->stop();
    return;
  }
  const Clock::time_point earliest = timers_.earliest();
  if (wakeup_timer_->active() && earliest == wakeup_armed_for_) return;
  const auto delay = std::max(Duration::zero(), earliest - Clock::now());
  wakeup_timer_->set(std::chrono::duration_cast<Duration>(delay), Duration::zero());
  wakeup_timer_->start();
  wakeup_armed_for_ = earliest;
}

// True when no greenlet is ready, no timer is armed (but join()s' own time limits), no
// greenlet is idling and no referenced watcher is active: nothing could ever wake anybody.
bool Hub::nothing_can_happen() {
  std::size_t join_timers = 0;
  for (const detail::Waiter* joiner : joiners_)
    join_timers += joiner->timer() && joiner->timer()->armed();
  const std::size_t timers_that_matter = timers_.size() - join_timers;
  if (has_ready() || timers_that_matter > 0 || idle_signal_->has_links() || external_work_)
    return false;
  wakeup_timer_->stop();  // armed for nothing that matters; it must not count as alive
  return !loop_->alive();
}

void Hub::on_loop_exhausted() {
  if (!joiners_.empty()) {
    for (detail::Waiter* joiner : joiners_) joiner->wake();
    return;
  }
  main_->throw_into(std::make_exception_ptr(
      LoopExit("gevent: the main greenlet is waiting, but nothing can ever wake it (no "
               "greenlet is ready, no timer or watcher is active)")));
}

// Right after a thread-pool job went out, the hub spins briefly for its result before it
// sleeps in the loop: a thread's eventfd wake-up of the loop costs 10-15 us on a VM. Jobs
// out for longer are presumably slow, and the hub just sleeps.
bool Hub::await_threadsafe_callbacks_briefly() {
  constexpr auto kFreshWork = 2 * detail::kSpinLimit;
  if (external_work_ == 0 || Clock::now() - external_work_added_ > kFreshWork) return false;
  if (!detail::spin_until([this] { return threadsafe_pending_.load(std::memory_order_acquire); }))
    return false;
  run_threadsafe_callbacks();
  return true;
}

void Hub::poll_loop() {
  bool can_block = !has_ready() && !idle_signal_->has_links();
  if (can_block && await_threadsafe_callbacks_briefly()) can_block = false;
  if (can_block) trim_memory_after_burst();
  if (probe_) [[unlikely]]
    probe_->sleeping.store(can_block, std::memory_order_relaxed);
  loop_->run(can_block ? loop::Loop::RunMode::once : loop::Loop::RunMode::nowait);
  if (probe_) [[unlikely]] {
    probe_->sleeping.store(false, std::memory_order_relaxed);
    probe_->beat(switches_ + iterations_, nullptr);
  }
  if (ready_.empty() && idle_signal_->has_links()) idle_signal_->fire();
}

// Once a burst of greenlets or parked connections has mostly gone, and only when the hub
// is about to sleep: idle stacks past a few give their memory back to the kernel, and so does
// malloc (the connections' buffers), so that a burst does not leave its memory behind. Each
// trim starts a new peak.
void Hub::trim_memory_after_burst() {
  constexpr std::size_t kBurst = 1024;
  constexpr std::size_t kWarmStacksKept = 64;
  if (burst_peak_ < kBurst || burst_count_ > burst_peak_ / 8) return;
  stacks_->trim(kWarmStacksKept);
  ::malloc_trim(0);
  burst_peak_ = burst_count_;
}

// --- switching ---

void Hub::resume_ready(detail::ReadyNode* node) {
  GreenletBase& greenlet = static_cast<GreenletBase&>(*node);
  greenlet.hub().switch_into(greenlet);
}

void Hub::switch_into(GreenletBase& greenlet) {
  greenlet.set_queued(false);
  if (greenlet.state() == State::dead) {  // killed after it was queued to start
    if (greenlet.dequeue_drops_ref()) greenlet.release();
    return;
  }
  if (greenlet.state() == State::scheduled && !start_fiber(greenlet)) return;
  current_ = &greenlet;
  ++switches_;
  if (probe_) [[unlikely]]
    probe_->beat(switches_ + iterations_, &greenlet);
  context::switch_to(*hub_, greenlet);
  if (probe_) [[unlikely]]
    probe_->beat(switches_ + iterations_, nullptr);
  if (greenlet.state() == State::dead) reap(greenlet);
}

// Gives a greenlet its stack. When none can be had, the greenlet dies with the error instead
// (and may be gone on return false).
bool Hub::start_fiber(GreenletBase& greenlet) {
  try {
    context::prepare(greenlet, stacks_->acquire(greenlet.stack_size()), &greenlet_entry);
  } catch (...) {
    greenlet.die_before_start(std::current_exception());
    return false;
  }
  greenlet.mark_running();
  return true;
}

void Hub::switch_out() {
  GreenletBase& self = *current_;
  if (&self == hub_.get()) throw_blocking_in_hub("a blocking call");
  // An exception still due (a second kill or Timeout that arrived together with the last
  // one) is thrown at this switch point instead of waiting.
  if (std::exception_ptr pending = self.take_pending()) std::rethrow_exception(pending);
  detail::check_canary(self);
  current_ = hub_.get();
  context::switch_to(self, *hub_);
  if (std::exception_ptr pending = self.take_pending()) std::rethrow_exception(pending);
}

bool Hub::switch_out_nothrow() noexcept {
  GreenletBase& self = *current_;
  if (self.has_pending()) return false;
  detail::check_canary(self);
  current_ = hub_.get();
  context::switch_to(self, *hub_);
  return !self.has_pending();
}

void Hub::throw_pending() {
  if (std::exception_ptr pending = current_->take_pending()) std::rethrow_exception(pending);
}

// The budget is measured from the first check after the greenlet was switched in.
bool Hub::run_budget_spent_slow() {
  constexpr int kChecksPerClockRead = 32;
  budget_countdown_ = kChecksPerClockRead;
  const Clock::time_point now = Clock::now();
  if (budget_switch_ != switches_) {
    budget_switch_ = switches_;
    budget_started_ = now;
    return false;
  }
  return now - budget_started_ > kBatchTimeBudget;
}

void Hub::throw_blocking_in_hub(const char* what) {
  throw BlockingSwitchOutError(std::string("gevent: ") + what +
                               " called from the hub (a loop callback, timer or rawlink "
                               "callback), which cannot wait; spawn a greenlet for it");
}

void Hub::exit_greenlet(GreenletBase& greenlet) {
  detail::check_canary(greenlet);
  current_ = hub_.get();
  context::exit_to(greenlet, *hub_);
}

void Hub::reap(GreenletBase& greenlet) {
  context::forget(greenlet);
  stacks_->release(greenlet.stack);
  greenlet.stack = {};
  unlink_live(greenlet);
  greenlet.release();  // the reference a started greenlet holds on itself
}

void Hub::add_timer(detail::TimerNode& node, Duration after) {
  const Clock::time_point now = Clock::now();
  const Clock::time_point deadline =
      after >= Clock::time_point::max() - now ? Clock::time_point::max() : now + after;
  timers_.add(node, deadline);
}

// --- live greenlets ---

void Hub::on_greenlet_started(GreenletBase& greenlet) {
  ++started_;
  greenlet.started_by = in_hub() ? GreenletBase::kStartedByHub : current_->id();
  greenlet.started_at = detail::coarse_now().time_since_epoch().count();
  link_live(greenlet);
}

HubCounters Hub::counters() const {
  HubCounters counters;
  counters.switches = switches_;
  counters.loop_iterations = iterations_;
  counters.greenlets_started = started_;
  counters.greenlets_alive = live_count_;
  counters.greenlets_finished = started_ - live_count_;
  for (const detail::ReadyQueue* queue : {&ready_, &after_poll_})
    for (const detail::ReadyNode* node = queue->front(); node; node = node->next_ready)
      ++counters.ready;
  counters.timers = timers_.size();
  if (probe_) {
    counters.blocked_incidents = probe_->incidents.load(std::memory_order_relaxed);
    counters.time_blocked =
        std::chrono::nanoseconds(probe_->blocked_ns.load(std::memory_order_relaxed));
  }
  return counters;
}

void Hub::on_greenlet_died_unstarted(GreenletBase& greenlet) { unlink_live(greenlet); }

void Hub::link_live(GreenletBase& greenlet) {
  greenlet.live_prev = nullptr;
  greenlet.live_next = live_head_;
  if (live_head_) live_head_->live_prev = &greenlet;
  live_head_ = &greenlet;
  ++live_count_;
  burst_object_added();
}

void Hub::unlink_live(GreenletBase& greenlet) {
  if (greenlet.live_prev)
    greenlet.live_prev->live_next = greenlet.live_next;
  else
    live_head_ = greenlet.live_next;
  if (greenlet.live_next) greenlet.live_next->live_prev = greenlet.live_prev;
  greenlet.live_prev = greenlet.live_next = nullptr;
  --live_count_;
  burst_object_removed();
  if (live_count_ == 0 && drained_) drained_->wake();
}

// Throws GreenletExit into every greenlet still alive and runs them until they are gone, so
// their destructors run. Greenlets that refuse to die are abandoned with a warning.
void Hub::kill_live_greenlets() {
  if (live_count_ == 0) return;
  detail::Waiter drained({"the other greenlets to exit (hub shutdown)"});
  drained_ = &drained;
  try {
    for (GreenletBase* g = live_head_; g;) {
      GreenletBase* next = g->live_next;
      g->kill(std::make_exception_ptr(GreenletExit()), false, {});
      g = next;
    }
    if (live_count_ > 0) drained.wait();
  } catch (const LoopExit&) {
  } catch (...) {
    detail::report_exception("hub shutdown", std::current_exception());
  }
  drained_ = nullptr;
  if (live_count_ > 0)
    std::fprintf(stderr, "gevent: hub destroyed with %zu greenlet(s) that did not exit\n",
                 live_count_);
}

// --- join and idle ---

bool Hub::join(MaybeDuration timeout) {
  if (in_hub()) throw BlockingSwitchOutError("gevent: Hub::join() called from the hub");
  detail::Waiter waiter({"the hub to run out of work (gevent::wait)"});
  joiners_.push_back(&waiter);
  struct Leave {
    Hub& hub;
    detail::Waiter* waiter;
    ~Leave() { std::erase(hub.joiners_, waiter); }
  } leave{*this, &waiter};
  return waiter.wait(timeout);
}

void Hub::idle() {
  if (in_hub()) throw BlockingSwitchOutError("gevent: idle() called from the hub");
  detail::Waiter waiter({"idle"});
  detail::WaiterLink link(waiter);
  idle_signal_->rawlink(link);
  waiter.wait();
}

}  // namespace gevent
