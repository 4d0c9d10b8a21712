// The hub: one per thread, a greenlet that runs the event loop. A greenlet that must wait
// arms something (a timer, a watcher, a link) and switches to the hub; whatever fires
// schedules it again. Created on first use; gevent::get_hub() returns this thread's hub.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/hub_bound.hpp"
#include "gevent/detail/hub_service.hpp"
#include "gevent/detail/ready_queue.hpp"
#include "gevent/detail/ref.hpp"
#include "gevent/detail/timer_queue.hpp"
#include "gevent/duration.hpp"
#include "gevent/loop.hpp"

namespace gevent {

class ThreadPool;
namespace context {
class StackPool;
}
namespace detail {
class Waiter;
struct HubProbe;
}  // namespace detail

// What a hub has done since it was made, for dashboards and leak hunts (Hub::counters(),
// gevent::hub_counters(); gevent::pywsgi::with_counters serves them in Prometheus' format).
struct HubCounters {
  std::uint64_t switches = 0;            // switches into a greenlet
  std::uint64_t loop_iterations = 0;     // turns of the hub's run loop
  std::uint64_t greenlets_started = 0;   // start()ed (spawned), as gevent's `started`
  std::uint64_t greenlets_finished = 0;  // of those, the ones that ended (or died unrun)
  std::size_t greenlets_alive = 0;       // started and not ended
  std::size_t ready = 0;                 // greenlets and callbacks queued to run now
  std::size_t timers = 0;                // pending timers (sleeps, Timeouts, waits with one)
  // With the monitor thread (monitor.hpp): the incidents it reported, and how long they
  // lasted in all (an incident counts once it has ended).
  std::uint64_t blocked_incidents = 0;
  std::chrono::nanoseconds time_blocked{};
};

class Hub {
 public:
  // This thread's hub, created on first use from gevent::config().
  static Hub& current() {
    Hub* hub = this_thread_;
    return hub ? *hub : create_for_this_thread();
  }
  // This thread's hub if it has one, else null.
  static Hub* current_if_exists() { return this_thread_; }
  // Destroys this thread's hub, if any: greenlets still alive get GreenletExit and run to
  // their end (so their destructors run), then the loop and the stacks are released.
  // Call it from the main greenlet; a thread's hub is also destroyed when the thread exits.
  static void destroy_current();

  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  loop::Loop& loop() { return *loop_; }
  std::string_view backend() const { return loop_->backend(); }

  // Runs f on the hub soon, in FIFO order with wake-ups (gevent's loop.run_callback).
  // f must not block; an exception escaping f is reported on stderr.
  void run_callback(std::function<void()> f);

  // Runs f on this hub's thread soon. Any thread may call it while the hub exists (not after:
  // the caller must know the hub outlives the call); this is how other OS threads hand work
  // to a hub. Callbacks still queued when the hub is destroyed are dropped.
  void run_callback_threadsafe(std::function<void()> f);

  // While external work is pending (a count: a thread-pool job, say), the hub waits for it
  // instead of deciding that nothing can happen. Call both on the hub's thread.
  void add_external_work();
  void remove_external_work();

  // Runs the loop until nothing is left to do (no greenlet ready, no timer, no active
  // watcher), or until `timeout`. Returns true when nothing is left. Call from a greenlet
  // (normally main).
  bool join(MaybeDuration timeout = {});

  // This hub's service of type `Service` (a detail::HubService, made as Service(Hub&)),
  // created on first use; see gevent/detail/hub_service.hpp. From the hub's thread only.
  template <class Service>
  Service& service() {
    const std::size_t key = detail::service_key<Service>();
    if (key < service_slots_.size() && service_slots_[key]) [[likely]]
      return static_cast<Service&>(*service_slots_[key]);
    return static_cast<Service&>(add_service(key, &make_service<Service>));
  }

  // This hub's service of type `Service` if it was made, else null.
  template <class Service>
  Service* find_service() const {
    const std::size_t key = detail::service_key<Service>();
    return key < service_slots_.size() ? static_cast<Service*>(service_slots_[key]) : nullptr;
  }

  // This hub's thread pool (gevent's hub.threadpool), created on first use with
  // config().threadpool_size threads. A service of the sync layer: include
  // gevent/threadpool.hpp, which defines it.
  template <class Pool = ThreadPool>
  Pool& threadpool();

  // After fork(), in the child (gevent.reinit; gevent::fork() calls it): recreates the
  // loop's kernel objects, which the child would otherwise share with the parent, drops
  // cross-thread wake-up state that a thread may have left half-written at the fork, and
  // tells every service (gevent/detail/hub_service.hpp): the thread pool, whose threads did not
  // survive the fork, is abandoned (its queued jobs fail, its running ones never finish, and
  // its memory is leaked, as its threads cannot be joined) and the next threadpool() makes a
  // new one. Call it on the forking thread's hub, in the child only.
  void reinit();

  // Counts for leak checks and monitoring. counters(): from the hub's thread; it walks the
  // run queue, so it costs a little per queued greenlet.
  HubCounters counters() const;
  std::size_t live_greenlets() const { return live_count_; }
  // The first of the started, not yet dead greenlets (the newest first, then
  // GreenletBase::live_next).
  const detail::GreenletBase* first_live() const { return live_head_; }
  // Memory held per client outside greenlets (a server's parked connections) is counted here
  // as greenlets are: once a burst of them has mostly gone, the hub gives memory back.
  void burst_object_added() {
    if (++burst_count_ > burst_peak_) burst_peak_ = burst_count_;
  }
  void burst_object_removed() { --burst_count_; }
  std::size_t pending_timers() const { return timers_.size(); }
  bool has_ready() const { return !ready_.empty() || !after_poll_.empty(); }
  std::size_t stacks_in_use() const;
  std::string_view stack_guard() const;  // "madvise", "mprotect" or "canary"

  // --- used by the core (gevent::detail); not for applications ---
  detail::GreenletBase& current_greenlet() const { return *current_; }
  detail::GreenletBase& main_greenlet() const { return *main_; }
  // The task (gevent/aio.hpp) the current greenlet runs, if it is an aio runner; else null.
  detail::TaskUnit* current_task() const { return current_->running_task; }
  bool in_hub() const { return current_ == hub_.get(); }
  std::thread::id thread_id() const { return thread_; }
  void schedule(detail::GreenletBase& greenlet) { schedule_into(ready_, greenlet); }
  // Suspends the current greenlet until something schedules it, then throws whatever was
  // thrown into it meanwhile (kill, Timeout). From the hub itself: BlockingSwitchOutError.
  void switch_out();
  // The same suspension for callers that must not throw (a hooked libc call inside C code, a
  // coroutine's awaiter). Returns true when resumed with nothing due, false when a kill or
  // Timeout is due: one that arrived meanwhile, or one already due on entry (then it does not
  // switch at all). The exception stays pending, to be thrown at the next throwing switch
  // point. Call it from a greenlet (in_hub() false), never from the hub.
  bool switch_out_nothrow() noexcept;
  // Throws the kill or Timeout due in the current greenlet, if any.
  void throw_pending();
  // Schedules the current greenlet at the back of the run queue and switches out.
  void yield() {
    if (in_hub()) throw_blocking_in_hub("sleep/yield");
    schedule(*current_);
    switch_out();
  }
  // Fairness: whether the running greenlet has run for longer than the hub's budget (1 ms)
  // without switching out. Cheap: the clock is read once every few dozen calls. The fd layer
  // asks before every I/O call (fd/fd_state.hpp, yield_if_over_budget).
  bool run_budget_spent() {
    if (--budget_countdown_ > 0) [[likely]]
      return false;
    return run_budget_spent_slow();
  }
  // Schedules the current greenlet to resume once the hub has polled for I/O (a plain yield
  // resumes it in the same batch when nothing else is ready), and switches out.
  void yield_to_io() {
    if (in_hub()) throw_blocking_in_hub("a yield");
    schedule_into(after_poll_, *current_);
    switch_out();
  }
  // yield() and yield_to_io() for callers that must not throw (the hooks): returns false,
  // without switching, when a kill or Timeout is due, and false when one arrived meanwhile.
  bool yield_nothrow(bool after_io = false) noexcept {
    if (current_->has_pending()) return false;
    schedule_into(after_io ? after_poll_ : ready_, *current_);
    return switch_out_nothrow();
  }
  [[noreturn]] static void throw_blocking_in_hub(const char* what);
  // For run queue entries other than greenlets and callbacks (aio's tasks): queues `node`,
  // whose run_ready the hub calls in its turn.
  void post(detail::ReadyNode& node) { ready_.push(&node); }
  // Takes the next entry of the run queue if it is of the kind run by `run` (its run_ready),
  // for a greenlet that runs several such entries in a row: aio's runner.
  detail::ReadyNode* take_ready_if(void (*run)(detail::ReadyNode*)) {
    const detail::ReadyNode* next = ready_.front();
    return next && next->run_ready == run ? ready_.pop() : nullptr;
  }
  // Removes every entry of that kind from the run queue: their owner is going away.
  void drop_ready_of_kind(void (*run)(detail::ReadyNode*));
  // From the hub, while running a run queue entry: switches into `greenlet` (suspended in
  // switch_out, not queued) now, as its own turn would.
  void resume_now(detail::GreenletBase& greenlet) { switch_into(greenlet); }
  void add_timer(detail::TimerNode& node, Duration after);
  void cancel_timer(detail::TimerNode& node) { timers_.cancel(node); }
  void on_greenlet_started(detail::GreenletBase& greenlet);
  void on_greenlet_died_unstarted(detail::GreenletBase& greenlet);
  [[noreturn]] void exit_greenlet(detail::GreenletBase& greenlet);
  void idle();
  std::uint64_t next_greenlet_id() { return next_id_++; }
  // A source of readiness the hub may poll without the loop: the io layer's epoll set of
  // sockets, which the loop otherwise watches as one fd. While it keeps having events, the hub
  // takes them directly and runs the loop only every few iterations: one epoll_wait per
  // iteration instead of two (bench/http.sh, docs/benchmarks.md).
  class DirectPoller {
   public:
    // Dispatches what is ready now, without blocking; whether anything was.
    virtual bool poll_now() = 0;

   protected:
    ~DirectPoller() = default;
  };
  void set_direct_poller(DirectPoller* poller) { direct_poller_ = poller; }
  DirectPoller* direct_poller() const { return direct_poller_; }
  // Objects that keep watchers of this hub's loop (see detail/hub_bound.hpp).
  void attach(detail::HubBound& node) { bound_.attach(node); }
  void detach(detail::HubBound& node) { bound_.detach(node); }

 private:
  Hub();
  static Hub& create_for_this_thread();
  static constinit thread_local Hub* this_thread_;
  static void hub_entry(detail::Fiber* fiber);
  static void resume_ready(detail::ReadyNode* node);
  void schedule_into(detail::ReadyQueue& queue, detail::GreenletBase& greenlet) {
    if (greenlet.queued()) return;
    greenlet.set_queued(true);
    greenlet.run_ready = &Hub::resume_ready;
    queue.push(&greenlet);
  }
  bool run_budget_spent_slow();
  [[noreturn]] void run_forever();
  void run_ready_batch();
  void prefetch_next_ready() const;
  void fire_expired_timers();
  bool nothing_can_happen();
  void on_loop_exhausted();
  void poll_loop();
  void trim_memory_after_burst();
  bool poll_directly();
  void arm_wakeup_timer();
  void switch_into(detail::GreenletBase& greenlet);
  bool start_fiber(detail::GreenletBase& greenlet);
  void reap(detail::GreenletBase& greenlet);
  void link_live(detail::GreenletBase& greenlet);
  void unlink_live(detail::GreenletBase& greenlet);
  void kill_live_greenlets();
  void discard_ready_queue();
  void run_threadsafe_callbacks();
  void reset_threadsafe_state_after_fork();
  template <class Service>
  static std::unique_ptr<detail::HubService> make_service(Hub& hub) {
    return std::unique_ptr<detail::HubService>(new Service(hub));
  }
  detail::HubService& add_service(std::size_t key,
                                  std::unique_ptr<detail::HubService> (*make)(Hub&));
  void shut_down_services();
  void destroy_services();
  bool await_threadsafe_callbacks_briefly();

  std::thread::id thread_;
  std::unique_ptr<loop::Loop> loop_;
  std::unique_ptr<context::StackPool> stacks_;
  std::unique_ptr<detail::HubProbe> probe_;  // with config().monitor_thread: the monitor's view
  std::unique_ptr<loop::TimerWatcher> wakeup_timer_;
  std::unique_ptr<loop::AsyncWatcher> threadsafe_wakeup_;
  std::mutex threadsafe_mutex_;
  std::vector<std::function<void()>> threadsafe_callbacks_;
  std::atomic<bool> threadsafe_pending_{false};  // callbacks wait: readable without the mutex
  std::size_t external_work_ = 0;
  detail::Clock::time_point external_work_added_{};
  detail::Ref<detail::GreenletBase> main_;
  detail::Ref<detail::GreenletBase> hub_;
  detail::GreenletBase* current_;
  detail::ReadyQueue ready_;
  detail::ReadyQueue after_poll_;  // yield_to_io(): joins ready_ after the next poll
  int budget_countdown_ = 1;       // run_budget_spent() calls until the next clock read
  std::uint64_t switches_ = 0;     // switches into a greenlet so far
  std::uint64_t iterations_ = 0;   // turns of run_forever
  std::uint64_t started_ = 0;      // greenlets started so far
  std::uint64_t budget_switch_ = ~std::uint64_t{0};  // the switch the budget is measured from
  detail::Clock::time_point budget_started_{};
  detail::TimerQueue timers_;
  class IdleSignal;
  std::unique_ptr<IdleSignal> idle_signal_;
  detail::GreenletBase* live_head_ = nullptr;
  std::size_t live_count_ = 0;
  // Live greenlets and other burst objects, and the most at once since the last trim.
  std::size_t burst_count_ = 0;
  std::size_t burst_peak_ = 0;
  std::uint64_t next_id_ = 1;
  detail::Clock::time_point wakeup_armed_for_{};
  std::vector<detail::Waiter*> joiners_;  // join() waits: an exhausted loop wakes it, no LoopExit
  detail::Waiter* drained_ = nullptr;     // woken when the last live greenlet is gone
  detail::HubBoundList bound_;
  DirectPoller* direct_poller_ = nullptr;
  int direct_polls_ = 0;  // in a row, without running the loop
  // Last, so that even when ~Hub() returns early (exit from a greenlet) the services (a thread
  // pool's threads) go while the loop and threadsafe_wakeup_ still exist.
  std::vector<detail::HubService*> service_slots_;  // by service_key<T>(); null: none yet
  std::vector<std::unique_ptr<detail::HubService>> services_;  // in creation order
  bool services_closed_ = false;
};

// This thread's hub (gevent.get_hub()).
inline Hub& get_hub() { return Hub::current(); }
// This thread's hub's counters.
inline HubCounters hub_counters() { return Hub::current().counters(); }

}  // namespace gevent

namespace gevent {

namespace detail {
void sleep(Duration duration);
}

// Suspends the current greenlet for `duration` (gevent.sleep). Zero or negative: yields to
// the other ready greenlets once and resumes. NaN throws std::invalid_argument. From the hub
// (a callback): BlockingSwitchOutError.
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> duration) {
  detail::sleep(to_duration(duration));
}
inline void sleep() { Hub::current().yield(); }

// Waits until the event loop has nothing else to do right now (gevent.idle).
inline void idle() { Hub::current().idle(); }

}  // namespace gevent
