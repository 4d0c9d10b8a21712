// patch_os(): fork reinitialises the child's hub (gevent::fork), and waitpid/wait4/waitid for
// one child wait only the calling greenlet: the call with WNOHANG, then, for a wait for exits
// only while patch_signal() keeps the program's SIGCHLD handler beside the loop's, the loop's
// child watcher (gevent::os::waitpid's ChildWatch). Otherwise (stops and continues asked for,
// wait4's rusage, or a program whose SIGCHLD handler the watcher would take over) a hub timer
// tries again every millisecond at first and up to every 50 ms.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <system_error>

#include "gevent/detail/waiter.hpp"
#include "gevent/loop.hpp"
#include "gevent/monkey.hpp"
#include "gevent/os.hpp"
#include "io/child_watch.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Hub;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

// Waits for running child `child` to exit on the loop's child watcher; its status then.
pid_t wait_for_exit(pid_t child, int* status) {
  try {
    gevent::detail::ChildWatch watch(child);
    if (watch.wait_nothrow({}) == gevent::detail::WaitResult::interrupted) {
      errno = kInterrupted;
      return -1;
    }
    if (watch.lost()) {
      errno = ECHILD;
      return -1;
    }
    if (status) *status = *watch.status();
    return child;
  } catch (const std::system_error& e) {
    errno = e.code().value();
    return -1;
  }
}

// Calls `reap` (the call with WNOHANG added) until it reports the child or fails. A child
// that the loop reaped first (libev's default loop reaps every child) is found where the
// loop keeps its status.
template <class Reap>
pid_t wait_for_child(pid_t child, int* status, bool exits_only, Reap reap) {
  auto interval = std::chrono::milliseconds(1);
  for (;;) {
    const pid_t pid = reap();
    if (pid < 0 && errno == ECHILD)
      if (const std::optional<int> reaped = gevent::loop::take_reaped_status(child)) {
        if (status) *status = *reaped;
        return child;
      }
    if (pid != 0) return pid;
    if (exits_only && patched(kSignal)) return wait_for_exit(child, status);
    gevent::detail::Waiter timer({"waitpid (polling) for", gevent::detail::WaitTopic::Subject::pid,
                                  static_cast<std::uintptr_t>(child)});
    if (timer.wait_nothrow(interval) == gevent::detail::WaitResult::interrupted) {
      errno = kInterrupted;
      return -1;
    }
    interval = std::min(interval * 2, std::chrono::milliseconds(50));
  }
}

// One child, options the cooperative wait keeps (WUNTRACED, WCONTINUED), and no WNOHANG.
bool waits_for_one_child(pid_t pid, int options) {
  return pid > 0 && !(options & WNOHANG) && !(options & ~(WUNTRACED | WCONTINUED));
}

// waitid's options the cooperative wait keeps: WEXITED, with WSTOPPED or WCONTINUED; not
// WNOHANG, and not WNOWAIT (a child the loop reaped cannot be left waitable).
bool waitid_waits_for_one_child(idtype_t idtype, int options) {
  return idtype == P_PID && (options & WEXITED) && !(options & ~(WEXITED | WSTOPPED | WCONTINUED));
}

// What waitid reports for a child whose waitpid() status is `status` (reaped by the loop).
void fill_child_info(siginfo_t* info, pid_t child, int status) {
  *info = siginfo_t{};
  info->si_signo = SIGCHLD;
  info->si_pid = child;
  info->si_uid = getuid();
  if (WIFEXITED(status)) {
    info->si_code = CLD_EXITED;
    info->si_status = WEXITSTATUS(status);
  } else {
    info->si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
    info->si_status = WTERMSIG(status);
  }
}

}  // namespace

namespace gevent::monkey {
void patch_os() { detail::patch(detail::kOs); }
}  // namespace gevent::monkey

extern "C" {

pid_t fork() {
  if (!patched(kOs) || !Hub::current_if_exists()) return sys::fork();
  try {
    return gevent::fork();
  } catch (const std::system_error& e) {
    errno = e.code().value();
    return -1;
  }
}

pid_t waitpid(pid_t pid, int* status, int options) {
  Hub* hub = cooperative_hub(kOs);
  if (!hub || !waits_for_one_child(pid, options)) return sys::waitpid(pid, status, options);
  return wait_for_child(pid, status, options == 0,
                        [&] { return sys::waitpid(pid, status, options | WNOHANG); });
}

pid_t wait4(pid_t pid, int* status, int options, rusage* usage) noexcept {
  Hub* hub = cooperative_hub(kOs);
  if (!hub || !waits_for_one_child(pid, options)) return sys::wait4(pid, status, options, usage);
  if (usage) *usage = rusage{};  // unknown for a child the loop reaped
  return wait_for_child(pid, status, false,
                        [&] { return sys::wait4(pid, status, options | WNOHANG, usage); });
}

int waitid(idtype_t idtype, id_t id, siginfo_t* info, int options) {
  Hub* hub = cooperative_hub(kOs);
  if (!hub || !info || !waitid_waits_for_one_child(idtype, options))
    return sys::waitid(idtype, id, info, options);
  const auto child = static_cast<pid_t>(id);
  int status = 0;
  *info = siginfo_t{};
  const pid_t found = wait_for_child(child, &status, options == WEXITED, [&]() -> pid_t {
    if (sys::waitid(P_PID, id, info, options | WNOHANG) != 0) return -1;
    return info->si_pid;  // 0 while the child has not changed state
  });
  if (found < 0) return -1;
  if (info->si_pid == 0) fill_child_info(info, child, status);
  return 0;
}

}  // extern "C"
