#include "io/reactor.hpp"

#include <sys/epoll.h>

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

// A service of the hub (Hub::service<Reactor>()): made at the first wait on a socket.
class Reactor final : public HubService, public Hub::DirectPoller {
 public:
  explicit Reactor(Hub& hub);
  ~Reactor() override;

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
  void open();
  void dispatch();
  bool poll_now() override;
  // In a child after fork() the epoll set is still the parent's: events for the child's
  // sockets would reach the parent. The child gets a set of its own, with the same sockets.
  void after_fork_in_child() override;

  Hub& hub_;
  int epfd_ = -1;
  std::unique_ptr<loop::IoWatcher> watcher_;
  int waiting_ = 0;
  IntrusiveList<Registration, &Registration::in_reactor_> registrations_;
  bool busy_ = false;  // the last epoll_wait found events: the next one likely will too
  epoll_event events_[kBatch];
};

Reactor::Reactor(Hub& hub) : hub_(hub) {
  open();
  hub_.set_direct_poller(this);
}

// The hub's greenlets are gone, so no registration has a waiter; the sockets that outlive
// the hub forget it.
Reactor::~Reactor() {
  while (Registration* r = registrations_.front()) {
    registrations_.erase(*r);
    r->reactor_ = nullptr;
    r->hub_ = nullptr;
  }
  if (hub_.direct_poller() == this) hub_.set_direct_poller(nullptr);
  watcher_.reset();  // before its fd goes
  if (epfd_ >= 0) sys::close(epfd_);
}

void Reactor::open() {
  epfd_ = sys::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "gevent: epoll_create1");
  watcher_ = hub_.loop().io(epfd_, loop::READ, [this](int) { dispatch(); });
}

void Reactor::after_fork_in_child() {
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
  if (!busy_ || waiting_ == 0) return false;
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
  Reactor& reactor = hub.service<Reactor>();
  reactor.add(*this);
  reactor_ = &reactor;
  hub_ = &hub;
}

void Registration::release() {
  if (reactor_) reactor_->remove(*this);
  reactor_ = nullptr;
  hub_ = nullptr;
  hung_up_ = false;
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
