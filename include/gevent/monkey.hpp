// gevent.monkey: unmodified blocking C and C++ code (libcurl, libpq, hiredis, OpenSSL's socket
// BIOs, std::this_thread::sleep_for, Asio's synchronous calls) runs concurrently in greenlets.
//
//   int main() {
//     gevent::monkey::patch_all();     // first thing, as in gevent
//     auto a = gevent::spawn([] { curl_easy_perform(one); });
//     auto b = gevent::spawn([] { curl_easy_perform(two); });
//     gevent::joinall({a, b});          // takes as long as the slower, not the sum
//   }
//
// Link the gevent::monkey CMake target (or -lgevent_monkey, whole-archive): the program then
// defines recv, poll, nanosleep, getaddrinfo... itself, ahead of libc, so every library it
// loads calls them. A program that does not link it has no hooks at all. docs/monkey.md lists
// every hooked call, what it does, and what cannot be hooked.
//
// A hooked call waits cooperatively only when its part is patched, the caller runs on a
// greenlet of its thread's hub (the main greenlet counts; the hub itself and threads without
// a hub get the original call), and the fd is one the hooks handle (sockets, pipes, FIFOs,
// ttys, eventfds; regular files pass through). It keeps the libc contract: return values,
// errno, O_NONBLOCK as the program set it (EAGAIN), SO_RCVTIMEO/SO_SNDTIMEO (EAGAIN, or
// EINPROGRESS for connect), and never an invented EINTR.
//
// A kill or Timeout that arrives while a greenlet is inside a hooked call never unwinds
// through the C library's frames: the call fails at once with ECANCELED (sleeps return early
// with success), the library cleans up as for any error, and the exception is thrown at the
// greenlet's next switch point in C++ code (with_timeout throws it as the call returns).
#pragma once

#include <string_view>

namespace gevent::monkey {

// Every part below, as gevent's patch_all().
void patch_all();
// recv/send and friends, read/write/readv/writev on sockets, pipes, FIFOs, ttys and eventfds,
// connect, accept/accept4, close/dup2/dup3 (they wake greenlets waiting on the fd, EBADF).
void patch_socket();
// poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2.
void patch_select();
// sleep, usleep, nanosleep, clock_nanosleep (with TIMER_ABSTIME and its clock).
void patch_time();
// getaddrinfo, getnameinfo, gethostbyname[2][_r], gethostbyaddr[_r]: glibc's own call, run on
// the hub's resolver pool (GEVENT_RESOLVER=block: on the calling thread).
void patch_dns();
// fork (the child's hub is reinitialised, as gevent::fork) and waitpid/wait4/waitid for one
// child.
void patch_os();
// signal and sigaction: a handler the program installs no longer displaces the hub's own
// (libev's and libuv's, for SIGCHLD and for gevent::signal_handler): both are called. Hooked
// calls made inside a handler are the original calls, never a switch.
void patch_signal();

// Whether libc function `name` (e.g. "recv") is hooked and its part patched.
bool is_patched(std::string_view name);
// Whether part `module` ("socket", "select", "time", "dns", "os", "signal") is patched.
bool is_module_patched(std::string_view module);
// The original libc function `name` (gevent.monkey.get_original), as a plain function
// pointer, or null for a name the hooks and the library do not know.
void* get_original(std::string_view name);
template <class F>
F* get_original(std::string_view name) {
  return reinterpret_cast<F*>(get_original(name));
}

}  // namespace gevent::monkey
