#include "core/overflow.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "context/stack.hpp"
#include "gevent/hub.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

constexpr std::size_t kAltStackSize = 64 * 1024;

struct sigaction previous_action;
thread_local void* alt_stack = nullptr;

// Appends text to buf (async-signal-safe; no allocation).
std::size_t append(char* buf, std::size_t at, std::size_t cap, const char* text) {
  while (*text && at + 1 < cap) buf[at++] = *text++;
  return at;
}

std::size_t append_number(char* buf, std::size_t at, std::size_t cap, unsigned long long n) {
  char digits[24];
  int len = 0;
  do digits[len++] = static_cast<char>('0' + n % 10);
  while ((n /= 10) != 0);
  while (len > 0 && at + 1 < cap) buf[at++] = digits[--len];
  return at;
}

}  // namespace

void die_of_overflow(const GreenletBase& greenlet) {
  char message[512];
  std::size_t n = append(message, 0, sizeof message, "gevent: stack overflow in greenlet '");
  if (const char* custom = greenlet.custom_name())
    n = append(message, n, sizeof message, custom);
  else
    n = append_number(message, append(message, n, sizeof message, "Greenlet-"), sizeof message,
                      greenlet.id());
  n = append(message, n, sizeof message, "' (stack of ");
  n = append_number(message, n, sizeof message, greenlet.stack.size);
  n = append(message, n, sizeof message,
             " bytes); give it a larger stack with SpawnOptions::stack_size or "
             "GEVENT_STACK_SIZE\n");
  [[maybe_unused]] ssize_t written = sys::write(STDERR_FILENO, message, n);
  std::abort();
}

namespace {

void on_segv(int signum, siginfo_t* info, void* ucontext) {
  if (Hub* hub = Hub::current_if_exists()) {
    const GreenletBase& greenlet = hub->current_greenlet();
    if (context::StackPool::in_guard_page(greenlet.stack, info->si_addr)) die_of_overflow(greenlet);
  }
  if (previous_action.sa_flags & SA_SIGINFO) {
    previous_action.sa_sigaction(signum, info, ucontext);
    return;
  }
  if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    previous_action.sa_handler(signum);
    return;
  }
  sys::signal(SIGSEGV, SIG_DFL);  // returning re-runs the faulting access under the default action
}

void install_handler_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sys::sigaction(SIGSEGV, &action, &previous_action);
  });
}

}  // namespace

void install_overflow_handler() {
  install_handler_once();
  stack_t current{};
  if (alt_stack || ::sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE))
    return;
  void* memory =
      ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return;
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = kAltStackSize;
  if (::sigaltstack(&stack, nullptr) == 0)
    alt_stack = memory;
  else
    ::munmap(memory, kAltStackSize);
}

void uninstall_overflow_stack() {
  if (!alt_stack) return;
  stack_t disable{};
  disable.ss_flags = SS_DISABLE;
  ::sigaltstack(&disable, nullptr);
  ::munmap(alt_stack, kAltStackSize);
  alt_stack = nullptr;
}

}  // namespace gevent::detail
