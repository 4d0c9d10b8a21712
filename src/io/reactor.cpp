#include "io/reactor.hpp"

#include <pthread.h>
#include <sys/epoll.h>

#include <mutex>
#include <string>
#include <system_error>

#include "gevent/detail/waiter.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {

// Events taken per epoll_wait: a hub iteration then wakes up to this many greenlets. Larger
// batches mean fewer epoll_wait calls under load (bench/echo.sh: 1000 connections).
constexpr int kBatch = 1024;

class Reactor final : public HubBound, public Hub::DirectPoller {
 public:
  // This thread's reactor, for `hub` (this thread's hub), created on first use.
  static Reactor& of(Hub& hub);

  void add(Registration& r);
  void watch_writable(Registration& r);
  void remove(Registration& r);
  void waiter_added() {
    if (waiting_++ == 0) watcher_->start();
  }
  void waiter_removed() {
    if (--waiting_ == 0) watcher_->stop();
  }

 private:
  explicit Reactor(Hub& hub);
  ~Reactor();
  void hub_closing() override { delete this; }
  void open();
  void dispatch();
  bool poll_now() override;
  void rebuild_after_fork();
  static void on_fork_child();

  Hub& hub_;
  int epfd_ = -1;
  std::unique_ptr<loop::IoWatcher> watcher_;
  int waiting_ = 0;
  IntrusiveList<Registration, &Registration::in_reactor_> registrations_;
  bool forked_ = false;
  bool busy_ = false;  // the last epoll_wait found events: the next one likely will too
  epoll_event events_[kBatch];
};

namespace {
thread_local Reactor* this_thread_reactor = nullptr;
std::once_flag fork_handler_installed;
}  // namespace

Reactor& Reactor::of(Hub& hub) {
  Reactor* reactor = this_thread_reactor;
  if (!reactor) {
    std::call_once(fork_handler_installed,
                   [] { ::pthread_atfork(nullptr, nullptr, &Reactor::on_fork_child); });
    reactor = new Reactor(hub);
  } else if (reactor->forked_) {
    reactor->rebuild_after_fork();
  }
  return *reactor;
}

Reactor::Reactor(Hub& hub) : hub_(hub) {
  open();
  hub_.attach(*this);
  hub_.set_direct_poller(this);
  this_thread_reactor = this;
}

Reactor::~Reactor() {
  if (hub_.direct_poller() == this) hub_.set_direct_poller(nullptr);
  watcher_.reset();  // before its fd goes
  if (epfd_ >= 0) sys::close(epfd_);
  if (this_thread_reactor == this) this_thread_reactor = nullptr;
}

void Reactor::open() {
  epfd_ = sys::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "gevent: epoll_create1");
  watcher_ = hub_.loop().io(epfd_, loop::READ, [this](int) { dispatch(); });
}

// In a child after fork() the epoll set is still the parent's: events for the child's
// sockets would reach the parent. Only a flag here (the loop is not yet reinitialized);
// the child's next wait builds a set of its own.
void Reactor::on_fork_child() {
  if (this_thread_reactor) this_thread_reactor->forked_ = true;
}

void Reactor::rebuild_after_fork() {
  forked_ = false;
  watcher_.reset();
  sys::close(epfd_);
  open();
  for (Registration* r = registrations_.front(); r; r = registrations_.next(*r)) {
    epoll_event ev{r->interest(), {.ptr = r}};
    sys::epoll_ctl(epfd_, EPOLL_CTL_ADD, r->fd_, &ev);
  }
  if (waiting_ > 0) watcher_->start();
}

void Reactor::add(Registration& r) {
  epoll_event ev{r.interest(), {.ptr = &r}};
  if (sys::epoll_ctl(epfd_, EPOLL_CTL_ADD, r.fd_, &ev) < 0)
    throw std::system_error(errno, std::system_category(),
                            "gevent: cannot watch fd " + std::to_string(r.fd_));
  registrations_.push_front(r);
}

// EPOLL_CTL_MOD checks the new mask at once, so a socket already writable is reported.
void Reactor::watch_writable(Registration& r) {
  r.watch_writable_ = true;
  epoll_event ev{r.interest(), {.ptr = &r}};
  if (sys::epoll_ctl(epfd_, EPOLL_CTL_MOD, r.fd_, &ev) < 0)
    throw std::system_error(errno, std::system_category(),
                            "gevent: cannot watch fd " + std::to_string(r.fd_));
}

void Reactor::remove(Registration& r) {
  sys::epoll_ctl(epfd_, EPOLL_CTL_DEL, r.fd_, nullptr);
  registrations_.erase(r);
}

// Only wakes greenlets (no user code runs here), so no registration can go away while the
// batch is handed out.
void Reactor::dispatch() {
  constexpr int kAhead = 4;  // registrations fetched ahead: with many sockets they are cold
  const int n = sys::epoll_wait(epfd_, events_, kBatch, 0);
  for (int i = 0; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(events_[i + kAhead].data.ptr);
    static_cast<Registration*>(events_[i].data.ptr)->on_events(events_[i].events);
  }
  busy_ = n > 0;
}

// Only while busy: an idle set would cost a doomed epoll_wait before the loop's blocking one.
bool Reactor::poll_now() {
  if (!busy_ || waiting_ == 0 || forked_) return false;
  dispatch();
  return busy_;
}

std::uint32_t Registration::interest() const {
  const std::uint32_t writable = watch_writable_ ? EPOLLOUT : 0u;
  return EPOLLIN | EPOLLRDHUP | EPOLLET | writable;
}

void Registration::join(Hub& hub, Side side) {
  release();
  watch_writable_ = side == kWrite;
  Reactor& reactor = Reactor::of(hub);
  reactor.add(*this);
  reactor_ = &reactor;
  hub_ = &hub;
  hub.attach(*this);
}

void Registration::release() {
  if (reactor_) reactor_->remove(*this);
  if (hub_) hub_->detach(*this);
  reactor_ = nullptr;
  hub_ = nullptr;
  hung_up_ = false;
}

void Registration::hub_closing() {
  reactor_ = nullptr;  // the reactor closes with the hub, its epoll set with it
  hub_ = nullptr;
}

void Registration::ready(SideState& side) {
  side.maybe_ready = true;
  if (side.waiter) side.waiter->wake();
}

void Registration::on_events(std::uint32_t events) {
  constexpr std::uint32_t readable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  constexpr std::uint32_t writable = EPOLLOUT | EPOLLHUP | EPOLLERR;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hung_up_ = true;
  if (events & readable) ready(sides_[kRead]);
  if (events & writable) ready(sides_[kWrite]);
}

std::error_code Registration::wait(Side side, MaybeDuration timeout) {
  Hub& hub = Hub::current();
  if (hub.in_hub()) Hub::throw_blocking_in_hub("waiting on a socket");
  SideState& state = sides_[side];
  if (state.waiter)
    throw ConcurrentObjectUseError("gevent: another greenlet is already " +
                                   std::string(side == kRead ? "reading from" : "writing to") +
                                   " this socket (fd " + std::to_string(fd_) + ")");
  if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  if (hub_ != &hub || !reactor_)
    join(hub, side);
  else if (side == kWrite && !watch_writable_)
    reactor_->watch_writable(*this);
  Waiter waiter;
  state.waiter = &waiter;
  state.reason.clear();
  state.maybe_ready = false;  // the caller saw EAGAIN: only an edge from now on means ready
  Reactor& reactor = *reactor_;
  reactor.waiter_added();
  struct Done {
    SideState& state;
    Reactor& reactor;
    ~Done() {
      state.waiter = nullptr;
      reactor.waiter_removed();
    }
  } done{state, reactor};
  if (!waiter.wait(timeout)) return std::make_error_code(std::errc::timed_out);
  return state.reason;
}

bool Registration::cancel(Side side, std::error_code reason) {
  SideState& state = sides_[side];
  if (!state.waiter) return false;
  state.reason = reason;
  state.waiter->wake();
  return true;
}

}  // namespace gevent::detail
