// The untyped core of every greenlet: its fiber, its place in the hub's run queue, its state
// and outcome, and its links. Greenlet<T> (greenlet.hpp) adds the callable and the result.
// The main greenlet (the thread's own stack) and the hub are GreenletBase objects too.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "gevent/detail/fiber.hpp"
#include "gevent/detail/link.hpp"
#include "gevent/detail/ready_queue.hpp"
#include "gevent/duration.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

struct GreenletExtras;
class TaskUnit;
class Waiter;

class alignas(64) GreenletBase : public Linkable, public ReadyNode, public Fiber {
 public:
  enum class State : std::uint8_t {
    unstarted,  // created, start() not called
    scheduled,  // start() called: waiting in the run queue or for start_later's timer
    running,    // has a stack: the current greenlet, or suspended in a wait
    dead,       // finished, failed, or killed (possibly before it ever ran)
  };
  enum class Kind : std::uint8_t { spawned, main, hub };

  using LinkCallback = std::function<void(GreenletBase&)>;
  enum class LinkWhen : std::uint8_t { always, on_value, on_exception };

  GreenletBase(Hub& hub, Kind kind, std::size_t stack_size);  // stack_size 0: the default
  ~GreenletBase() override;

  // The 64-byte alignment would send every greenlet through aligned operator new, that is
  // memalign (~1,700 instructions per greenlet, callgrind). Records come from per-thread
  // slabs of 64-byte-aligned blocks instead (src/core/record_pool.hpp).
  static void* operator new(std::size_t size, std::align_val_t alignment);
  static void operator delete(void* p, std::size_t size, std::align_val_t alignment) noexcept;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

  Hub& hub() const { return *hub_; }
  State state() const { return state_; }
  Kind kind() const { return kind_; }
  bool ready() const override { return state_ == State::dead; }
  bool started() const { return started_; }
  bool successful() const { return state_ == State::dead && (!outcome_ || exited_); }
  // What the greenlet died with; null while alive, after success, and after GreenletExit.
  std::exception_ptr exception() const { return exited_ ? nullptr : outcome_; }
  // The GreenletExit it ended with (killed or raised it), else null.
  std::exception_ptr exit_exception() const { return exited_ ? outcome_ : nullptr; }
  std::string name() const;
  void set_name(std::string name);
  const char* custom_name() const;  // null unless set_name() was called
  std::uint64_t id() const { return id_; }
  std::size_t stack_size() const { return stack_size_; }

  // What others hold of this greenlet: references, links, link callbacks, a name. The same
  // fingerprint before and after some work means nobody kept a handle to it or watched it
  // meanwhile (a server's worker greenlet serves another client only then, src/wsgi).
  struct Observers {
    std::uint32_t refs;
    const Link* last_link;
    std::size_t callbacks;
    bool named;
    bool operator==(const Observers&) const = default;
  };
  Observers observers() const;

  void start();
  void start_later(Duration delay);
  // From the hub, while it runs a run queue entry: starts the greenlet and switches into it at
  // once, in that entry's turn (aio's runners).
  void start_now();
  bool join(MaybeDuration timeout);
  void kill(std::exception_ptr exception, bool block, MaybeDuration timeout);
  // Link callbacks: `link` runs each in a new greenlet (it may block), `rawlink` in the hub
  // (it must not block). A link added after death fires at once. Returns a token for unlink.
  std::uint64_t add_link(LinkCallback callback, LinkWhen when, bool in_hub);
  bool remove_link(std::uint64_t token);

  // --- used by the hub ---
  // Arranges for `exception` to be thrown in this (suspended) greenlet when it resumes. A
  // second one arriving first waits for the next switch point (none is lost), except that
  // GreenletExit (a kill) goes first and makes the others moot. Dead greenlets ignore it.
  void throw_into(std::exception_ptr exception);
  // The exception to throw now, if any; the next waits for the next switch point.
  std::exception_ptr take_pending() {
    if (!pending_) [[likely]]
      return nullptr;
    return take_pending_slow();
  }
  bool has_pending() const { return pending_ != nullptr; }
  // A dead greenlet still in the run queue holds a reference for the queue to drop.
  bool dequeue_drops_ref() { return std::exchange(queue_holds_ref_, false); }
  bool queued() const { return queued_; }
  void set_queued(bool queued) { queued_ = queued; }
  void mark_running() { state_ = State::running; }
  // Ends a greenlet that never ran (killed before it started, or its stack could not be had).
  void die_before_start(std::exception_ptr exception);
  // Runs the body on this greenlet's own stack; never returns.
  [[noreturn]] void run_body() noexcept;
  void check_thread(const char* what) const;

 protected:
  // Runs the user's function and stores its result. Not called for main or the hub.
  virtual void run() = 0;
  // Destroys the callable (and the arguments it holds) once it will never run.
  virtual void drop_function() noexcept = 0;

 private:
  std::exception_ptr take_pending_slow();
  std::exception_ptr run_catching() noexcept;
  void finish(std::exception_ptr outcome) noexcept;
  void record_outcome(std::exception_ptr exception);
  void cancel_start_timer();
  bool mark_started(const char* what);
  GreenletExtras& extras();

  // What a switch to the greenlet reads comes first, with the bases: a server's thousand
  // greenlets each take a cache line or two per request, not three or four.
  Hub* hub_;
  std::exception_ptr pending_;
  State state_ = State::unstarted;
  Kind kind_;
  bool queued_ = false;
  bool queue_holds_ref_ = false;
  bool started_ = false;
  bool exited_ = false;  // outcome_ is a GreenletExit: a normal end
  std::uint32_t refs_ = 0;
  std::uint32_t stack_size_;
  std::exception_ptr outcome_;              // the exception it ended with, if any
  std::unique_ptr<GreenletExtras> extras_;  // rarely used: custom name, callbacks, start timer
  std::uint64_t id_;

 public:
  // Live-list hooks: the hub keeps started, not yet dead greenlets on a list.
  GreenletBase* live_prev = nullptr;
  GreenletBase* live_next = nullptr;
  // For run info (gevent/util.hpp) and tools/gdb/gevent.py: the wait it is suspended in, the
  // greenlet that started it (kStartedByHub: a loop callback), and when (coarse clock, ns).
  static constexpr std::uint64_t kStartedByHub = ~std::uint64_t{0};
  const Waiter* waiting_in = nullptr;
  std::uint64_t started_by = 0;
  std::int64_t started_at = 0;
  // On a runner greenlet of gevent::aio: the task it runs now (also while the task is inside
  // a blocking gevent call), else null. See gevent/detail/task_unit.hpp.
  TaskUnit* running_task = nullptr;
};

}  // namespace gevent::detail
