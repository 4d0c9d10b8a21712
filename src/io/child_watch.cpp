#include "io/child_watch.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "gevent/exceptions.hpp"
#include "gevent/hub.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

constexpr Duration kFirstPollInterval = std::chrono::milliseconds(1);
constexpr Duration kLongestPollInterval = std::chrono::milliseconds(50);
// Beside a child watcher, in case its SIGCHLD never arrives: a handler installed by other
// code may take it, and under TSan a signal that TSan's own thread takes is never delivered
// (docs/pitfalls.md). The wait then ends within this, instead of never.
constexpr Duration kBackupPollInterval = std::chrono::seconds(1);
// libev's default loop, on another thread, may have reaped the child an instant before it
// records the status: a child found gone is looked for this long before it counts as lost.
constexpr Duration kGoneGrace = std::chrono::milliseconds(250);

}  // namespace

int returncode_of(int status) {
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

ChildWatch::~ChildWatch() { hub_closing(); }

void ChildWatch::hub_closing() {
  child_watcher_.reset();
  poll_timer_.reset();
  if (hub_) hub_->detach(*this);
  hub_ = nullptr;
}

ChildWatch::Check ChildWatch::check_now() {
  int status = 0;
  pid_t reaped;
  do {
    reaped = sys::waitpid(pid_, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == pid_) {
    finish(status);
    return Check::exited;
  }
  if (reaped == 0) return Check::running;
  if (errno != ECHILD)
    throw std::system_error(errno, std::system_category(),
                            "gevent: waitpid(" + std::to_string(pid_) + ")");
  if (const auto recorded = loop::take_reaped_status(pid_)) {
    finish(*recorded);
    return Check::exited;
  }
  return Check::lost;
}

std::optional<int> ChildWatch::poll() {
  if (status_) return status_;
  if (lost_ || check_now() == Check::lost) throw_lost();
  return status_;
}

std::optional<int> ChildWatch::wait(MaybeDuration timeout) {
  if (wait_nothrow(timeout) == WaitResult::interrupted) Hub::current().throw_pending();
  if (lost_) throw_lost();
  return status_;
}

WaitResult ChildWatch::wait_nothrow(MaybeDuration timeout) {
  if (status_ || lost_) return WaitResult::woken;
  const Check first = check_now();
  if (first == Check::exited) return WaitResult::woken;
  bind_to_current_hub();
  ++waiters_;
  struct Leave {
    ChildWatch& watch;
    ~Leave() {
      if (--watch.waiters_ == 0) watch.disarm();
    }
  } leave{*this};
  if (first == Check::lost)
    arm_polling(kFirstPollInterval);  // it may yet be recorded; a child watcher would never fire
  else
    arm();
  Waiter waiter({"the exit of", WaitTopic::Subject::pid, static_cast<std::uintptr_t>(pid_)});
  WaiterLink link(waiter);
  done_.rawlink(link);
  const WaitResult result = waiter.wait_nothrow(timeout);
  // libev's default loop also recorded the status its child watcher reported (in the same
  // loop iteration, so by now): it is taken, and a later wait for the pid must not find it.
  if (status_) loop::take_reaped_status(pid_);
  return result;
}

void ChildWatch::bind_to_current_hub() {
  Hub& hub = Hub::current();
  if (hub_ == &hub) return;
  if (hub_)
    throw WrongThreadError(
        "gevent: a child process is waited for from a thread other than "
        "the one whose hub first waited for it");
  hub_ = &hub;
  hub.attach(*this);
}

void ChildWatch::arm() {
  const bool first_time = !child_watcher_ && !poll_timer_;
  if (first_time) {
    try {
      child_watcher_ = hub_->loop().child(pid_, [this] { finish(child_watcher_->rstatus()); });
    } catch (const std::logic_error&) {  // no child watchers here, or another loop has SIGCHLD
    }
  }
  if (child_watcher_) child_watcher_->start();
  if (!poll_timer_ || !poll_timer_->active())
    arm_polling(child_watcher_ ? kBackupPollInterval : kFirstPollInterval);
}

void ChildWatch::arm_polling(Duration first_interval) {
  if (!poll_timer_)
    poll_timer_ =
        hub_->loop().timer(Duration::zero(), Duration::zero(), [this] { on_poll_timer(); });
  poll_interval_ = first_interval;
  poll_timer_->set(poll_interval_, Duration::zero());
  poll_timer_->start();
}

void ChildWatch::disarm() {
  if (child_watcher_) child_watcher_->stop();
  if (poll_timer_) poll_timer_->stop();
}

void ChildWatch::on_poll_timer() {
  const Check check = check_now();
  if (check == Check::exited) return;
  if (check == Check::lost) {
    const auto now = Clock::now();
    if (!gone_since_) gone_since_ = now;
    if (now - *gone_since_ >= kGoneGrace) {
      lost_ = true;
      disarm();
      done_.set();
      return;
    }
  } else {
    gone_since_.reset();
  }
  if (poll_interval_ < kLongestPollInterval)
    poll_interval_ = std::min(poll_interval_ * 2, kLongestPollInterval);
  poll_timer_->set(poll_interval_, Duration::zero());
  poll_timer_->start();
}

void ChildWatch::finish(int status) {
  status_ = status;
  disarm();
  done_.set();
}

void ChildWatch::throw_lost() const {
  throw std::system_error(ECHILD, std::system_category(),
                          "gevent: child process " + std::to_string(pid_) +
                              " was reaped elsewhere (a waitpid() outside gevent, or SIGCHLD "
                              "ignored) and its exit status is lost");
}

}  // namespace gevent::detail
