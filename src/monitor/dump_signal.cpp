#include "monitor/dump_signal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <set>
#include <thread>

#include "gevent/util.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

// The handler writes one byte per signal to a pipe; a thread of its own reads it and prints
// run info, which asks each hub on its own thread (a hub's thread cannot be the one to wait).
class Dumper {
 public:
  static Dumper& instance() {
    static Dumper dumper;
    return dumper;
  }

  void arm(int signal) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) {
      int fds[2];
      if (sys::pipe2(fds, O_CLOEXEC) != 0) return;
      read_fd_ = fds[0];
      write_fd_.store(fds[1], std::memory_order_release);
      thread_ = std::thread([this] { run(); });
    }
    if (!armed_.insert(signal).second) return;
    struct sigaction action {};
    action.sa_handler = &on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sys::sigaction(signal, &action, nullptr);
  }

 private:
  static constexpr char kDump = 'd', kStop = 's';

  Dumper() = default;
  ~Dumper() {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    send(kStop);
    thread_.join();
    sys::close(read_fd_);
    sys::close(write_fd_.exchange(-1));
  }

  static void on_signal(int) {
    const int saved_errno = errno;
    instance().send(kDump);
    errno = saved_errno;
  }

  void send(char what) {
    const int fd = write_fd_.load(std::memory_order_acquire);
    if (fd >= 0) [[maybe_unused]]
      auto written = sys::write(fd, &what, 1);
  }

  void run() {
    char what = kDump;
    while (what != kStop) {
      const ssize_t n = sys::read(read_fd_, &what, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      if (what == kDump) print_run_info();
    }
  }

  std::mutex mutex_;
  std::set<int> armed_;
  int read_fd_ = -1;
  std::atomic<int> write_fd_{-1};
  std::thread thread_;
};

}  // namespace

void arm_dump_signal(int signal) { Dumper::instance().arm(signal); }

}  // namespace gevent::detail
