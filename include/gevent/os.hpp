// gevent.os / gevent.fork / gevent.reinit: forking a process that runs a hub, and waiting
// for a child cooperatively.
//
//   pid_t pid = gevent::fork();
//   if (pid == 0) {                     // the child: its hub works as before
//     serve_one_job();
//     _exit(0);
//   }
//   auto [reaped, status] = gevent::os::waitpid(pid);   // waits only this greenlet
//
// fork() forks (every greenlet is copied, as in gevent; only the calling one runs on) and
// calls reinit() in the child. Use it rather than ::fork(), or call reinit() in the child
// yourself before it uses its hub.
//
// reinit() gives the child's hub loop kernel objects of its own (epoll, wake-up fds), which
// it would otherwise share with the parent, and resets the hub's cross-thread wake-up state.
// Threads do not survive a fork: the hub's thread pool is abandoned in the child (jobs still
// queued fail with std::runtime_error, running ones never finish, and the old pool's memory
// is leaked, because its threads can neither be joined nor its condition variable
// destroyed); threadpool() makes a new one on first use. A ThreadPool of your own made
// before the fork must not be used or destroyed in the child, for the same reason. Other
// threads' hubs are gone in the child. Only the calling thread's hub is reinitialised.
#pragma once

#include <sys/types.h>

#include <utility>

namespace gevent {

// Forks the process (gevent.fork). In the child, reinit() has run. Failure:
// std::system_error.
pid_t fork();

// Prepares this thread's hub, if it has one, for use in a forked child (gevent.reinit).
void reinit();

namespace os {

using gevent::fork;

// Waits for child `pid` (> 0) to exit and reaps it (gevent.os.waitpid): suspends only the
// calling greenlet, and works from any thread's hub. Returns {pid, status}, the status as
// waitpid(2) gives it (WIFEXITED, WEXITSTATUS, ...). With options WNOHANG, returns {0, 0} at
// once if the child still runs. Other options, and pid <= 0 (any child, a process group),
// throw std::invalid_argument. A pid that is no child of this process, or whose status
// someone else took, throws std::system_error(ECHILD).
std::pair<pid_t, int> waitpid(pid_t pid, int options = 0);

}  // namespace os
}  // namespace gevent
