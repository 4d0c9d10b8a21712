// Waiting for one child process to exit, for any number of greenlets of one hub.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>

#include "gevent/detail/hub_bound.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/duration.hpp"
#include "gevent/event.hpp"
#include "gevent/loop.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

// Reaps child `pid` and keeps its waitpid() status. While greenlets wait, it watches the
// child with the loop's child watcher if the loop has one for it (libev's default loop, or a
// libuv loop when no other loop holds SIGCHLD), else it polls waitpid(WNOHANG) on a loop
// timer, every 1 ms at first and up to every 50 ms, so that children can be waited for
// from any thread's hub; beside a child watcher it polls every second, in case SIGCHLD never
// comes. A child reaped elsewhere (libev's default loop reaps every child)
// is found through loop::take_reaped_status. One whose status is nowhere to be found is
// reported as std::system_error(ECHILD).
class ChildWatch final : public HubBound {
 public:
  explicit ChildWatch(pid_t pid) : pid_(pid) {}
  ~ChildWatch();

  pid_t pid() const { return pid_; }
  // The status, once the child has been reaped.
  std::optional<int> status() const { return status_; }
  // Reaps the child if it has exited, without waiting.
  std::optional<int> poll();
  // Waits up to `timeout` for the child to exit: its status, or nothing if it still runs.
  std::optional<int> wait(MaybeDuration timeout);
  // The same wait for callers that must not throw (the monkey hooks): woken once the status
  // is known or the child is lost (lost() says which), interrupted by a kill or Timeout due
  // (left pending). A failure of the watch itself still throws (std::system_error).
  WaitResult wait_nothrow(MaybeDuration timeout);
  bool lost() const { return lost_; }

 private:
  enum class Check { running, exited, lost };
  Check check_now();
  void bind_to_current_hub();
  void arm();
  void arm_polling(Duration first_interval);
  void disarm();
  void on_poll_timer();
  void finish(int status);
  [[noreturn]] void throw_lost() const;
  void hub_closing() override;

  pid_t pid_;
  Hub* hub_ = nullptr;
  std::optional<int> status_;
  bool lost_ = false;
  FlagLinkable done_;  // set once status_ (or lost_) is known
  int waiters_ = 0;
  std::unique_ptr<loop::ChildWatcher> child_watcher_;
  std::unique_ptr<loop::TimerWatcher> poll_timer_;
  Duration poll_interval_{};
  std::optional<Clock::time_point> gone_since_;  // ECHILD without a recorded status
};

// A waitpid() status as Python's returncode: the exit code, or -N after signal N.
int returncode_of(int status);

}  // namespace gevent::detail
