// patch_signal(): signal() and sigaction() keep two actions per signal, the program's and the
// hub's (what libev and libuv install, told apart by the code that asks), and the kernel gets
// one trampoline that runs both. So the program's SIGCHLD handler no longer stops the hub's
// child watchers, nor does the hub's watcher stop the program's handler (libuv installs its
// own SIGCHLD handler over the program's). The trampoline counts the handlers running on the
// thread; a hooked call made in one is the original call, never a switch.
//
// Each party sees its own action: `old` is what that party installed last (SIG_DFL if
// nothing), never the other's handler, so code that chains to the handler it replaced does
// not run the other party's twice.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>

#include "gevent/monkey.hpp"
#include "loop/backend_code.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

enum Party { kProgram, kHub };

bool is_function(void* handler) {
  return handler != reinterpret_cast<void*>(SIG_DFL) && handler != reinterpret_cast<void*>(SIG_IGN);
}

void* handler_of(const struct sigaction& action) {
  return reinterpret_cast<void*>(action.sa_handler);  // sa_sigaction shares the storage
}

// One party's action for one signal. The trampoline reads `handler` (SIG_DFL, SIG_IGN or a
// function) and `flags` without a lock; `requested` is kept under the table's mutex.
struct PartyAction {
  struct sigaction requested {};  // zero: SIG_DFL
  std::atomic<void*> handler{reinterpret_cast<void*>(SIG_DFL)};
  std::atomic<int> flags{0};

  void set(const struct sigaction& action) {
    requested = action;
    flags.store(action.sa_flags, std::memory_order_relaxed);
    handler.store(handler_of(action), std::memory_order_release);
  }
  // What the party installed, as sigaction reports it (SA_RESETHAND may have reset it).
  struct sigaction current() const {
    struct sigaction action = requested;
    action.sa_handler = reinterpret_cast<sighandler_t>(handler.load(std::memory_order_acquire));
    return action;
  }
  bool calls() const { return is_function(handler.load(std::memory_order_acquire)); }
};

struct SignalActions {
  PartyAction party[2];
};

SignalActions actions[NSIG];
std::mutex table_mutex;

void run(PartyAction& action, int signum, siginfo_t* info, void* context) {
  void* handler = action.handler.load(std::memory_order_acquire);
  if (!is_function(handler)) return;
  const int flags = action.flags.load(std::memory_order_relaxed);
  // One-shot, as the kernel does before it calls: later signals find SIG_DFL (the kernel's
  // action is set to it the next time the table changes, or below when nobody else calls).
  if ((flags & SA_RESETHAND) &&
      !action.handler.compare_exchange_strong(handler, reinterpret_cast<void*>(SIG_DFL)))
    return;
  if (flags & SA_SIGINFO)
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(handler)(signum, info, context);
  else
    reinterpret_cast<void (*)(int)>(handler)(signum);
}

void trampoline(int signum, siginfo_t* info, void* context) {
  ++signal_handlers_running;
  SignalActions& both = actions[signum];
  run(both.party[kHub], signum, info, context);
  run(both.party[kProgram], signum, info, context);
  if (!both.party[kHub].calls() && !both.party[kProgram].calls()) {
    const int saved = errno;  // a reset one-shot handler: the default action from now on
    struct sigaction fallback {};
    sys::sigaction(signum, &fallback, nullptr);
    errno = saved;
  }
  --signal_handlers_running;
}

bool is_trampoline(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) && action.sa_sigaction == &trampoline;
}

// The kernel's action when it is not the trampoline (installed before patch_signal(), or by
// code that reached libc another way) becomes its owner's, and the other party has none.
void adopt_kernel_action(int signum) {
  struct sigaction current {};
  if (sys::sigaction(signum, nullptr, &current) != 0 || is_trampoline(current)) return;
  const bool hubs = is_function(handler_of(current)) &&
                    gevent::loop::detail::is_backend_code(handler_of(current));
  const struct sigaction none {};
  actions[signum].party[hubs ? kHub : kProgram].set(current);
  actions[signum].party[hubs ? kProgram : kHub].set(none);
}

// The flags of the trampoline: restart and alternate stack if any party asks; no stop
// reports and no deferral only if every party that calls asks; SA_NOCLDWAIT (no zombies) as
// the program asks.
int combined_flags(const PartyAction& program, const PartyAction& hub) {
  int any = 0, every = SA_NOCLDSTOP | SA_NODEFER;
  for (const PartyAction* party : {&program, &hub}) {
    if (!party->calls()) continue;
    any |= party->requested.sa_flags & (SA_RESTART | SA_ONSTACK);
    every &= party->requested.sa_flags;
  }
  return SA_SIGINFO | any | every | (program.requested.sa_flags & SA_NOCLDWAIT);
}

// Gives the kernel the trampoline while a party has a handler, else what the program asked
// for (SIG_DFL or SIG_IGN; the hub's, when the program asked for the default).
int install(int signum) {
  const PartyAction& program = actions[signum].party[kProgram];
  const PartyAction& hub = actions[signum].party[kHub];
  if (!program.calls() && !hub.calls()) {
    const bool program_default = handler_of(program.current()) == reinterpret_cast<void*>(SIG_DFL);
    struct sigaction plain = program_default ? hub.current() : program.current();
    return sys::sigaction(signum, &plain, nullptr);
  }
  struct sigaction kernel {};
  kernel.sa_sigaction = &trampoline;
  kernel.sa_flags = combined_flags(program, hub);
  sigemptyset(&kernel.sa_mask);
  for (const PartyAction* party : {&program, &hub})
    if (party->calls()) sigorset(&kernel.sa_mask, &kernel.sa_mask, &party->requested.sa_mask);
  return sys::sigaction(signum, &kernel, nullptr);
}

// While a thread holds the table, no handler runs on it (one could call signal() itself).
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

int change_action(int signum, Party party, const struct sigaction* act, struct sigaction* old) {
  SignalsBlocked blocked;
  std::lock_guard lock(table_mutex);
  adopt_kernel_action(signum);
  PartyAction& mine = actions[signum].party[party];
  const struct sigaction before = mine.current();
  if (!act) {
    if (old) *old = before;
    return 0;
  }
  mine.set(*act);
  if (install(signum) != 0) {
    const int error = errno;
    mine.set(before);
    errno = error;
    return -1;
  }
  if (old) *old = before;
  return 0;
}

// Signals the table keeps; for the others (invalid numbers, SIGKILL, SIGSTOP, glibc's own
// real-time signals) the original call answers, errors included.
bool keeps(int signum) {
  return signum > 0 && signum < NSIG && signum != SIGKILL && signum != SIGSTOP &&
         (signum < 32 || signum >= SIGRTMIN);
}

Party party_of(const void* caller) {
  return gevent::loop::detail::is_backend_code(caller) ? kHub : kProgram;
}

}  // namespace

namespace gevent::monkey {
void patch_signal() { detail::patch(detail::kSignal); }
}  // namespace gevent::monkey

extern "C" {

int sigaction(int signum, const struct sigaction* act, struct sigaction* old) noexcept {
  if (!patched(kSignal) || !keeps(signum)) return sys::sigaction(signum, act, old);
  return change_action(signum, party_of(__builtin_return_address(0)), act, old);
}

// As glibc's signal(): BSD semantics (SA_RESTART, the signal blocked in its own handler).
sighandler_t signal(int signum, sighandler_t handler) noexcept {
  if (!patched(kSignal) || !keeps(signum)) return sys::signal(signum, handler);
  struct sigaction act {};
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  sigaddset(&act.sa_mask, signum);
  struct sigaction old {};
  if (change_action(signum, party_of(__builtin_return_address(0)), &act, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}

}  // extern "C"
