#include <poll.h>
#include <sys/epoll.h>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include "fd/fd_table.hpp"
#include "gevent/detail/hub_service.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {

// Events taken per epoll_wait: a hub iteration then wakes up to this many greenlets. Larger
// batches mean fewer epoll_wait calls under load (bench/echo.sh: 1000 connections).
constexpr int kBatch = 1024;

// A service of the hub (Hub::service<FdTable>()): made at the first wait on an fd.
class FdTable final : public HubService, public Hub::DirectPoller {
 public:
  explicit FdTable(Hub& hub);
  ~FdTable() override;

  Hub& hub() const { return hub_; }
  FdTableCounts counts() const;
  // Registers `state` for its fd. Throws std::system_error when the kernel refuses.
  void add(FdState& state);
  void watch_writable(FdState& state);
  void remove(FdState& state);
  // The state registered for fd, else null.
  FdState* find(int fd) const {
    return fd >= 0 && static_cast<std::size_t>(fd) < by_fd_.size() ? by_fd_[fd] : nullptr;
  }
  // The state registered for fd, else a new one of the table's own; null (and `error` set)
  // when the kernel refuses the fd, or when epoll cannot watch it (a regular file).
  FdState* find_or_adopt(int fd, FdState::Side side, std::error_code& error);
  // A state of the table's own goes once nobody waits on it any more.
  void forget_if_unused(FdState& state);
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
  // fds would reach the parent. The child gets a set of its own, with the same fds.
  void after_fork_in_child() override;
  std::error_code control(int op, FdState& state);
  void take_over(FdState& from, FdState& to);

  Hub& hub_;
  int epfd_ = -1;
  std::unique_ptr<loop::IoWatcher> watcher_;
  int waiting_ = 0;
  std::vector<FdState*> by_fd_;
  bool busy_ = false;  // the last epoll_wait found events: the next one likely will too
  epoll_event events_[kBatch];
};

FdTable::FdTable(Hub& hub) : hub_(hub) {
  open();
  hub_.set_direct_poller(this);
}

// The hub's greenlets are gone, so nobody waits; the sockets that outlive the hub forget it.
FdTable::~FdTable() {
  for (FdState* state : by_fd_) {
    if (!state) continue;
    state->table_ = nullptr;
    if (state->table_owned_) delete state;
  }
  if (hub_.direct_poller() == this) hub_.set_direct_poller(nullptr);
  watcher_.reset();  // before its fd goes
  if (epfd_ >= 0) sys::close(epfd_);
}

void FdTable::open() {
  epfd_ = sys::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "gevent: epoll_create1");
  watcher_ = hub_.loop().io(epfd_, loop::READ, [this](int) { dispatch(); });
}

void FdTable::after_fork_in_child() {
  watcher_.reset();
  sys::close(epfd_);
  open();
  for (FdState* state : by_fd_)
    if (state) control(EPOLL_CTL_ADD, *state);
  if (waiting_ > 0) watcher_->start();
}

std::error_code FdTable::control(int op, FdState& state) {
  epoll_event ev{state.interest(), {.ptr = &state}};
  if (sys::epoll_ctl(epfd_, op, state.fd_, &ev) == 0) return {};
  return {errno, std::system_category()};
}

void FdTable::add(FdState& state) {
  FdState* before = find(state.fd_);
  if (before) state.watch_writable_ = state.watch_writable_ || before->watch_writable_;
  // EEXIST: the fd is in the set already, for a state of the table's own (a select's), or
  // under a registration whose fd was closed while dup'ed elsewhere.
  std::error_code error = control(EPOLL_CTL_ADD, state);
  if (error == std::errc::file_exists) error = control(EPOLL_CTL_MOD, state);
  if (error) throw std::system_error(error, "gevent: cannot watch fd " + std::to_string(state.fd_));
  const auto slot = static_cast<std::size_t>(state.fd_);
  if (slot >= by_fd_.size()) by_fd_.resize(std::max(slot + 1, by_fd_.size() * 2), nullptr);
  by_fd_[slot] = &state;
  state.table_ = this;
  if (before) take_over(*before, state);
}

// The waits on `from` move to `to`, which now stands for the same fd.
void FdTable::take_over(FdState& from, FdState& to) {
  for (int side = 0; side < 2; ++side) {
    while (FdWait* wait = from.sides_[side].waits.front()) {
      from.sides_[side].waits.erase(*wait);
      wait->state = &to;
      to.sides_[side].waits.push_front(*wait);
    }
  }
  from.table_ = nullptr;
  if (from.table_owned_) delete &from;
}

// EPOLL_CTL_MOD checks the new mask at once, so an fd already writable is reported.
void FdTable::watch_writable(FdState& state) {
  state.watch_writable_ = true;
  if (const std::error_code error = control(EPOLL_CTL_MOD, state))
    throw std::system_error(error, "gevent: cannot watch fd " + std::to_string(state.fd_));
}

void FdTable::remove(FdState& state) {
  sys::epoll_ctl(epfd_, EPOLL_CTL_DEL, state.fd_, nullptr);
  if (find(state.fd_) == &state) by_fd_[state.fd_] = nullptr;
  state.table_ = nullptr;
}

FdState* FdTable::find_or_adopt(int fd, FdState::Side side, std::error_code& error) {
  if (FdState* state = find(fd)) return state;
  auto adopted = std::make_unique<FdState>();
  adopted->fd_ = fd;
  adopted->table_owned_ = true;
  adopted->watch_writable_ = side == FdState::kWrite;
  try {
    add(*adopted);
  } catch (const std::system_error& e) {
    error = e.code();
    return nullptr;
  }
  return adopted.release();
}

void FdTable::forget_if_unused(FdState& state) {
  if (state.table_owned_ && !state.has_waits()) delete &state;  // leaves the table
}

FdTableCounts FdTable::counts() const {
  FdTableCounts counts;
  counts.waits = static_cast<std::size_t>(waiting_);
  for (const FdState* state : by_fd_) {
    counts.fds += state != nullptr;
    counts.adopted += state && state->table_owned_;
  }
  return counts;
}

FdTableCounts fd_table_counts(Hub& hub) {
  const FdTable* table = hub.find_service<FdTable>();
  return table ? table->counts() : FdTableCounts{};
}

// Only wakes greenlets (no user code runs here), so no state can go away while the batch is
// handed out.
void FdTable::dispatch() {
  constexpr int kAhead = 4;  // states fetched ahead: with many sockets they are cold
  const int n = sys::epoll_wait(epfd_, events_, kBatch, 0);
  for (int i = 0; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(events_[i + kAhead].data.ptr);
    static_cast<FdState*>(events_[i].data.ptr)->on_events(events_[i].events);
  }
  busy_ = n > 0;
}

// Only while busy: an idle set would cost a doomed epoll_wait before the loop's blocking one.
bool FdTable::poll_now() {
  if (!busy_ || waiting_ == 0) return false;
  dispatch();
  return busy_;
}

// --- FdState ---

std::uint32_t FdState::interest() const {
  const std::uint32_t writable = watch_writable_ ? EPOLLOUT : 0u;
  return EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLET | writable;
}

void FdState::join(Hub& hub, Side side) {
  release();
  watch_writable_ = side == kWrite;
  hub.service<FdTable>().add(*this);
}

void FdState::release() {
  if (table_) {
    wake_all(kRead, std::make_error_code(std::errc::bad_file_descriptor), false);
    wake_all(kWrite, std::make_error_code(std::errc::bad_file_descriptor), false);
    for (SideState& side : sides_)
      while (FdWait* wait = side.waits.front()) remove_wait(*wait);
    table_->remove(*this);
  } else if (fd_ >= 0 && !table_owned_) {
    release_adopted();
  }
  hung_up_ = false;
}

// An owner that never waited is not in the table, but other greenlets may wait on its fd
// there (a select's, a wait_read's): they go with it.
void FdState::release_adopted() {
  Hub* hub = Hub::current_if_exists();
  FdTable* table = hub ? hub->find_service<FdTable>() : nullptr;
  FdState* adopted = table ? table->find(fd_) : nullptr;
  if (adopted && adopted->table_owned_) delete adopted;  // its release() wakes the waits
}

void FdState::ready(Side side) {
  sides_[side].maybe_ready = true;
  FdWait* next = sides_[side].waits.front();
  while (FdWait* wait = next) {
    next = sides_[side].waits.next(*wait);
    notify(*wait);
  }
}

// A greenlet's wait stays in the list until the greenlet takes it out; a callback leaves it
// first, since the callback may park the same wait again.
void FdState::notify(FdWait& wait) {
  if (wait.waiter) return wait.waiter->wake();
  remove_wait(wait);
  wait.callback(wait);
}

void FdState::on_events(std::uint32_t events) {
  constexpr std::uint32_t readable = EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  constexpr std::uint32_t writable = EPOLLOUT | EPOLLHUP | EPOLLERR;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hung_up_ = true;
  if (events & readable) ready(kRead);
  if (events & writable) ready(kWrite);
}

void FdState::add_wait(Side side, FdWait& wait) {
  wait.state = this;
  wait.fd = fd_;
  wait.side = static_cast<std::uint8_t>(side);
  wait.reason.clear();
  sides_[side].waits.push_front(wait);
  table_->waiter_added();
}

void FdState::remove_wait(FdWait& wait) {
  sides_[wait.side].waits.erase(wait);
  wait.state = nullptr;
  if (table_) table_->waiter_removed();
}

// A woken wait keeps its reason: a later cancel does not overwrite why it woke. Returns how
// many greenlets it woke (the sides of one FdSetWait share a Waiter: one greenlet).
int FdState::wake_all(Side side, std::error_code reason, bool only_raw) {
  int woken = 0;
  FdWait* next = sides_[side].waits.front();
  while (FdWait* wait = next) {
    next = sides_[side].waits.next(*wait);
    if (only_raw && wait->kind != FdWait::Kind::raw) continue;
    if (wait->waiter && wait->waiter->woken()) continue;
    wait->reason = reason;
    notify(*wait);
    ++woken;
  }
  return woken;
}

std::error_code FdState::wait(Side side, MaybeDuration timeout) {
  Hub& hub = Hub::current();
  if (hub.in_hub()) Hub::throw_blocking_in_hub("waiting on a socket");
  SideState& state = sides_[side];
  if (state.owner_waiting)
    throw ConcurrentObjectUseError("gevent: another greenlet is already " +
                                   std::string(side == kRead ? "reading from" : "writing to") +
                                   " this socket (fd " + std::to_string(fd_) + ")");
  if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  if (!table_ || &table_->hub() != &hub)
    join(hub, side);
  else if (side == kWrite && !watch_writable_)
    table_->watch_writable(*this);
  Waiter waiter(
      {side == kRead ? "read" : "write", WaitTopic::Subject::fd, static_cast<std::uintptr_t>(fd_)});
  FdWait wait;
  wait.waiter = &waiter;
  add_wait(side, wait);
  state.owner_waiting = true;
  state.maybe_ready = false;  // the caller saw EAGAIN: only an edge from now on means ready
  struct Done {
    FdWait& wait;
    bool& owner_waiting;
    ~Done() {
      owner_waiting = false;
      if (wait.state) wait.state->remove_wait(wait);
    }
  } done{wait, state.owner_waiting};
  if (!waiter.wait(timeout)) return std::make_error_code(std::errc::timed_out);
  return wait.reason;
}

void FdState::call_when_ready(Side side, FdWait& wait) {
  Hub& hub = Hub::current();
  if (!table_ || &table_->hub() != &hub)
    join(hub, side);
  else if (side == kWrite && !watch_writable_)
    table_->watch_writable(*this);
  wait.waiter = nullptr;
  add_wait(side, wait);
  sides_[side].maybe_ready = false;
}

bool FdState::cancel(Side side, std::error_code reason) {
  if (!sides_[side].waits.front()) return false;
  wake_all(side, reason, false);
  return true;
}

void yield_if_over_budget() {
  Hub* hub = Hub::current_if_exists();
  if (hub && hub->run_budget_spent() && !hub->in_hub()) hub->yield_to_io();
}

// --- FdSetWait ---

FdSetWait::FdSetWait(Hub& hub, std::size_t sides, FdWait::Kind kind)
    : hub_(hub), kind_(kind), capacity_(std::max(sides, kInline)) {
  if (sides > kInline) heap_ = std::make_unique<FdWait[]>(sides);
}

FdSetWait::~FdSetWait() {
  FdTable* table = hub_.find_service<FdTable>();
  for (std::size_t i = 0; i < used_; ++i) {
    FdWait& wait = nodes()[i];
    FdState* state = wait.state;
    if (!state) continue;
    state->remove_wait(wait);
    if (table) table->forget_if_unused(*state);
  }
}

std::error_code FdSetWait::watch_side(int fd, FdState::Side side) {
  if (used_ == capacity_) throw std::logic_error("gevent: FdSetWait: more sides than room for");
  FdWait& wait = nodes()[used_++];
  wait.waiter = &waiter_;
  wait.kind = kind_;
  wait.fd = fd;
  wait.side = static_cast<std::uint8_t>(side);
  return join(wait);
}

std::error_code FdSetWait::watch_events(int fd, short events) {
  constexpr short kWriteEvents = POLLOUT | POLLWRNORM | POLLWRBAND;
  const bool write = (events & kWriteEvents) != 0;
  const bool read = (events & ~kWriteEvents) != 0 || !write;
  if (write)
    if (std::error_code error = watch_side(fd, FdState::kWrite)) return error;
  return read ? watch_side(fd, FdState::kRead) : std::error_code();
}

// Puts `wait` in its fd's state. Regular files and directories, which epoll refuses, are
// always ready: their wait just never wakes.
std::error_code FdSetWait::join(FdWait& wait) {
  FdTable& table = hub_.service<FdTable>();
  const auto side = static_cast<FdState::Side>(wait.side);
  std::error_code error;
  FdState* state = table.find_or_adopt(wait.fd, side, error);
  if (!state) return error == std::errc::operation_not_permitted ? std::error_code() : error;
  if (side == FdState::kWrite && !state->watch_writable_) table.watch_writable(*state);
  state->add_wait(side, wait);
  return {};
}

// A wait whose state let it go (its owner closed or gave up the fd) joins the fd again: the
// fd may still be open. If it is not, returns true: the wait ends at once and the caller's
// check says why.
bool FdSetWait::rejoin() {
  for (std::size_t i = 0; i < used_; ++i) {
    FdWait& wait = nodes()[i];
    if (wait.state) continue;
    wait.reason.clear();
    if (join(wait)) return true;
  }
  return false;
}

// One fd: "read on fd 7"; several: select/poll's.
void FdSetWait::describe_wait() {
  if (used_ != 1) {
    waiter_.set_topic({"select/poll on several fds"});
    return;
  }
  const FdWait& wait = nodes()[0];
  waiter_.set_topic({wait.side == FdState::kRead ? "read" : "write", WaitTopic::Subject::fd,
                     static_cast<std::uintptr_t>(wait.fd)});
}

bool FdSetWait::wait(MaybeDuration timeout) {
  if (timeout && timeout.value() == Duration::zero()) return false;
  waiter_.reset();
  describe_wait();
  return rejoin() || waiter_.wait(timeout);
}

WaitResult FdSetWait::wait_nothrow(MaybeDuration timeout) {
  if (timeout && timeout.value() == Duration::zero()) return WaitResult::timed_out;
  waiter_.reset();
  describe_wait();
  return rejoin() ? WaitResult::woken : waiter_.wait_nothrow(timeout);
}

std::error_code FdSetWait::cancelled() const {
  for (std::size_t i = 0; i < used_; ++i)
    if (nodes()[i].reason) return nodes()[i].reason;
  return {};
}

int FdState::cancel_waits(std::error_code reason, bool only_raw) {
  return wake_all(kRead, reason, only_raw) + wake_all(kWrite, reason, only_raw);
}

int cancel_waits(Hub& hub, int fd, std::error_code reason, bool only_raw) {
  FdTable* table = hub.find_service<FdTable>();
  FdState* state = table ? table->find(fd) : nullptr;
  return state ? state->cancel_waits(reason, only_raw) : 0;
}

}  // namespace gevent::detail

namespace gevent::detail {

void forget_fd(Hub& hub, int fd) {
  FdTable* table = hub.find_service<FdTable>();
  FdState* state = table ? table->find(fd) : nullptr;
  if (!state) return;
  if (state->table_owned_)
    delete state;  // its release() wakes the waits
  else
    state->cancel_waits(std::make_error_code(std::errc::bad_file_descriptor), false);
}

}  // namespace gevent::detail
