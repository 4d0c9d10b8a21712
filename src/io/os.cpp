#include "gevent/os.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "gevent/hub.hpp"
#include "gevent/loop.hpp"
#include "io/child_watch.hpp"
#include "sys/libc.hpp"

namespace gevent {

pid_t fork() {
  int error = 0;
  const pid_t pid = loop::spawn_child([&error] {
    const pid_t forked = sys::fork();
    error = errno;
    return forked;
  });
  if (pid < 0) throw std::system_error(error, std::system_category(), "gevent::fork");
  if (pid == 0) reinit();
  return pid;
}

void reinit() {
  if (Hub* hub = Hub::current_if_exists()) hub->reinit();
}

std::pair<pid_t, int> os::waitpid(pid_t pid, int options) {
  if (pid <= 0)
    throw std::invalid_argument("gevent::os::waitpid: waits for one child (pid > 0), got pid " +
                                std::to_string(pid));
  if ((options & ~WNOHANG) != 0)
    throw std::invalid_argument("gevent::os::waitpid: only WNOHANG is supported as an option");
  detail::ChildWatch child(pid);
  const auto status = (options & WNOHANG) != 0 ? child.poll() : child.wait({});
  if (!status) return {0, 0};
  return {pid, *status};
}

}  // namespace gevent
