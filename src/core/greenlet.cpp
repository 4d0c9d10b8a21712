#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "core/record_pool.hpp"
#include "core/report.hpp"
#include "gevent/config.hpp"
#include "gevent/detail/greenlet_base.hpp"
#include "gevent/detail/pending.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"

namespace gevent::detail {

bool is_greenlet_exit(const std::exception_ptr& exception) {
  return holds<GreenletExit>(exception);
}

namespace {

// A greenlet running a std::function: what link() spawns for each callback.
class FunctionGreenlet final : public GreenletBase {
 public:
  FunctionGreenlet(Hub& hub, std::function<void()> function)
      : GreenletBase(hub, Kind::spawned, 0), function_(std::move(function)) {}

 private:
  void run() override { function_(); }
  void drop_function() noexcept override { function_ = nullptr; }
  std::function<void()> function_;
};

bool wants(GreenletBase::LinkWhen when, const GreenletBase& greenlet) {
  switch (when) {
    case GreenletBase::LinkWhen::on_value:
      return greenlet.successful();
    case GreenletBase::LinkWhen::on_exception:
      return !greenlet.successful();
    case GreenletBase::LinkWhen::always:
      break;
  }
  return true;
}

// gevent runs a link callback in a greenlet of its own (SpawnedLink), a rawlink callback in
// the hub.
void fire_link(GreenletBase& greenlet, const GreenletBase::LinkCallback& callback,
               GreenletBase::LinkWhen when, bool in_hub) {
  if (!wants(when, greenlet)) return;
  Ref<GreenletBase> keep(&greenlet);
  auto call = [keep, callback] { callback(*keep); };
  if (in_hub) {
    greenlet.hub().run_callback(std::move(call));
    return;
  }
  Ref<GreenletBase> spawned(new FunctionGreenlet(greenlet.hub(), std::move(call)));
  spawned->start();
}

struct CallbackLink final : Link {
  CallbackLink(GreenletBase::LinkCallback callback, GreenletBase::LinkWhen when, bool in_hub,
               std::uint64_t token)
      : callback(std::move(callback)), when(when), in_hub(in_hub), token(token) {}
  void notify(Linkable& source) override {
    fire_link(static_cast<GreenletBase&>(source), callback, when, in_hub);
  }
  GreenletBase::LinkCallback callback;
  GreenletBase::LinkWhen when;
  bool in_hub;
  std::uint64_t token;
};

// start_later's timer: schedules the greenlet's start.
struct StartTimer final : TimerNode {
  explicit StartTimer(GreenletBase& greenlet) : greenlet(greenlet) {
    fire = [](TimerNode& node) {
      GreenletBase& g = static_cast<StartTimer&>(node).greenlet;
      g.hub().schedule(g);
    };
  }
  GreenletBase& greenlet;
};

}  // namespace

struct GreenletExtras {
  std::string name;
  bool has_name = false;
  std::vector<std::unique_ptr<CallbackLink>> links;
  std::uint64_t next_token = 1;
  std::unique_ptr<StartTimer> start_timer;
  std::vector<std::exception_ptr> more_pending;  // thrown at the switch points after the next
};

GreenletBase::Observers GreenletBase::observers() const {
  return {refs_, last_link(), extras_ ? extras_->links.size() : 0, extras_ && extras_->has_name};
}

GreenletBase::GreenletBase(Hub& hub, Kind kind, std::size_t stack_size)
    : hub_(&hub),
      kind_(kind),
      stack_size_(static_cast<std::uint32_t>(stack_size ? stack_size : config().stack_size)),
      id_(kind == Kind::spawned ? hub.next_greenlet_id() : 0) {
  if (stack_size > UINT32_MAX) throw std::length_error("gevent: stack size over 4 GiB");
}

GreenletBase::~GreenletBase() = default;

void* GreenletBase::operator new(std::size_t size, std::align_val_t alignment) {
  if (static_cast<std::size_t>(alignment) > 64) return ::operator new(size, alignment);
  return allocate_record(size);
}

void GreenletBase::operator delete(void* p, std::size_t size, std::align_val_t alignment) noexcept {
  if (static_cast<std::size_t>(alignment) > 64) return ::operator delete(p, alignment);
  if (p) free_record(p, size);
}

GreenletExtras& GreenletBase::extras() {
  if (!extras_) extras_ = std::make_unique<GreenletExtras>();
  return *extras_;
}

std::string GreenletBase::name() const {
  if (const char* custom = custom_name()) return custom;
  if (kind_ == Kind::main) return "MainGreenlet";
  if (kind_ == Kind::hub) return "Hub";
  return "Greenlet-" + std::to_string(id_);
}

void GreenletBase::set_name(std::string name) {
  extras().name = std::move(name);
  extras().has_name = true;
}

const char* GreenletBase::custom_name() const {
  return extras_ && extras_->has_name ? extras_->name.c_str() : nullptr;
}

void GreenletBase::check_thread(const char* what) const {
  if (Hub::current_if_exists() != hub_)
    throw WrongThreadError(std::string("gevent: Greenlet::") + what +
                           " called from a thread other than the one whose hub runs the "
                           "greenlet (or after that hub was destroyed)");
}

// Whether the greenlet is started now (not before, not dead, not main or the hub).
bool GreenletBase::mark_started(const char* what) {
  check_thread(what);
  if (started_ || state_ == State::dead || kind_ != Kind::spawned) return false;
  started_ = true;
  state_ = State::scheduled;
  add_ref();  // a started greenlet keeps itself alive until it has run
  hub_->on_greenlet_started(*this);
  return true;
}

void GreenletBase::start() {
  if (mark_started("start")) hub_->schedule(*this);
}

void GreenletBase::start_later(Duration delay) {
  if (!mark_started("start_later")) return;
  extras().start_timer = std::make_unique<StartTimer>(*this);
  hub_->add_timer(*extras().start_timer, delay);
}

void GreenletBase::start_now() {
  if (mark_started("start_now")) hub_->resume_now(*this);
}

bool GreenletBase::join(MaybeDuration timeout) {
  if (ready()) return true;
  check_thread("join");
  if (this == &hub_->current_greenlet())
    throw std::logic_error("gevent: a greenlet cannot join itself");
  return wait_ready(*this, timeout,
                    {"join", WaitTopic::Subject::greenlet, reinterpret_cast<std::uintptr_t>(this)});
}

void GreenletBase::kill(std::exception_ptr exception, bool block, MaybeDuration timeout) {
  if (state_ == State::dead) return;
  check_thread("kill");
  if (kind_ != Kind::spawned)
    throw std::logic_error("gevent: the main greenlet and the hub cannot be killed");
  if (!exception) exception = std::make_exception_ptr(GreenletExit());
  if (state_ != State::running) {
    die_before_start(exception);
    return;
  }
  if (this == &hub_->current_greenlet()) std::rethrow_exception(exception);
  throw_into(exception);
  if (block && !hub_->in_hub()) join(timeout);
}

void GreenletBase::throw_into(std::exception_ptr exception) {
  if (state_ == State::dead) return;
  add_pending(pending_, std::move(exception),
              [this]() -> std::vector<std::exception_ptr>& { return extras().more_pending; });
  hub_->schedule(*this);
}

std::exception_ptr GreenletBase::take_pending_slow() {
  return take_first_pending(pending_, extras_ ? &extras_->more_pending : nullptr);
}

// The frames of a finished greenlet are never unwound (its fiber just stops), so nothing
// owning may live in run_body's frame when it switches away for good.
void GreenletBase::run_body() noexcept {
  finish(run_catching());
  hub_->exit_greenlet(*this);
}

std::exception_ptr GreenletBase::run_catching() noexcept {
  try {
    run();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

void GreenletBase::finish(std::exception_ptr outcome) noexcept {
  drop_function();
  record_outcome(std::move(outcome));
  notify_links();
}

void GreenletBase::die_before_start(std::exception_ptr exception) {
  Ref<GreenletBase> keep(this);  // release() below may drop the last other reference
  const bool held_self = started_;
  cancel_start_timer();
  drop_function();
  record_outcome(exception);
  if (held_self) {
    hub_->on_greenlet_died_unstarted(*this);
    if (queued_)
      queue_holds_ref_ = true;  // the run queue drops it when it comes up
    else
      release();
  }
  notify_links();
}

void GreenletBase::record_outcome(std::exception_ptr exception) {
  state_ = State::dead;
  if (!exception) return;
  exited_ = is_greenlet_exit(exception);
  outcome_ = std::move(exception);
  if (!exited_) report_exception(name(), outcome_);
}

void GreenletBase::cancel_start_timer() {
  if (extras_ && extras_->start_timer) hub_->cancel_timer(*extras_->start_timer);
}

std::uint64_t GreenletBase::add_link(LinkCallback callback, LinkWhen when, bool in_hub) {
  const std::uint64_t token = extras().next_token++;
  if (state_ == State::dead) {
    fire_link(*this, callback, when, in_hub);
    return token;
  }
  auto link = std::make_unique<CallbackLink>(std::move(callback), when, in_hub, token);
  rawlink(*link);
  extras().links.push_back(std::move(link));
  return token;
}

bool GreenletBase::remove_link(std::uint64_t token) {
  if (!extras_) return false;
  auto& links = extras_->links;
  for (auto it = links.begin(); it != links.end(); ++it) {
    if ((*it)->token != token) continue;
    links.erase(it);
    return true;
  }
  return false;
}

}  // namespace gevent::detail
