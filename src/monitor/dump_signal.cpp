#include "monitor/dump_signal.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>
#include <set>
#include <system_error>
#include <thread>

#include "gevent/util.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

// The handler writes one byte per signal to a pipe; a thread of its own reads it and prints
// run info, which asks each hub on its own thread (a hub's thread cannot be the one to wait).
// Never destroyed, and its thread detached: the handler may run, and hubs may be made, after
// static destruction.
struct Dumper {
  std::mutex mutex;
  std::set<int> armed;  // signals whose handler is installed
  int read_fd = -1;
  std::atomic<int> write_fd{-1};  // -1: no thread to tell
};

Dumper* dumper_instance = nullptr;

void on_signal(int) {
  const int saved_errno = errno;
  const char dump = 'd';
  // Non-blocking: with the pipe full, a dump is coming anyway.
  if (const int fd = dumper_instance->write_fd.load(std::memory_order_acquire); fd >= 0)
      [[maybe_unused]]
    auto written = sys::write(fd, &dump, 1);
  errno = saved_errno;
}

void print_on_each_byte(int read_fd) {
  for (;;) {
    char byte;
    const ssize_t n = sys::read(read_fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    print_run_info();
  }
}

// Only the forking thread lives on in the child: no dump thread there, and the pipe is the
// parent's. Signals are dropped until Hub::reinit() arms again (a new pipe and thread).
void forget_thread_in_child() {
  Dumper& d = *dumper_instance;
  new (&d.mutex) std::mutex;
  if (const int fd = d.write_fd.exchange(-1); fd >= 0) sys::close(fd);
  if (d.read_fd >= 0) sys::close(d.read_fd);
  d.read_fd = -1;
}

Dumper& dumper() {
  static Dumper* const instance = [] {
    dumper_instance = new Dumper;
    pthread_atfork(nullptr, nullptr, forget_thread_in_child);
    return dumper_instance;
  }();
  return *instance;
}

void start_thread(Dumper& d) {
  int fds[2];
  if (sys::pipe2(fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "gevent: the dump signal's pipe");
  sys::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  std::thread(print_on_each_byte, fds[0]).detach();
  d.read_fd = fds[0];
  d.write_fd.store(fds[1], std::memory_order_release);
}

}  // namespace

void arm_dump_signal(int signal) {
  Dumper& d = dumper();
  std::lock_guard lock(d.mutex);
  if (d.write_fd.load(std::memory_order_relaxed) < 0) start_thread(d);
  if (d.armed.contains(signal)) return;
  struct sigaction action {};
  action.sa_handler = &on_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sys::sigaction(signal, &action, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "gevent: cannot handle the dump signal " + std::to_string(signal));
  d.armed.insert(signal);
}

}  // namespace gevent::detail
