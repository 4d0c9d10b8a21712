#include "context/fiber.hpp"

#include <cxxabi.h>
#include <cstdlib>
#include <new>

#include "context/switch_x86_64.hpp"
#include "gevent/detail/sanitizers.hpp"

#if GEVENT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if GEVENT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace gevent::context {
namespace {

// What a switch hands to the fiber it resumes: who switched, so that fiber can record where
// the switcher stopped, and (for a fresh fiber) who it is itself.
struct Transfer {
  Fiber* from;
  Fiber* to;
};

// The C++ runtime keeps the exceptions being handled and the count of uncaught ones per
// thread (__cxa_eh_globals, the Itanium ABI). Fibers share the thread, so a greenlet that
// blocks inside a catch block would otherwise see, or end, another greenlet's exception.
// The layout is the ABI's: the caught-exceptions chain, then the uncaught count.
struct EhGlobals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

EhGlobals* eh_globals() {
  thread_local EhGlobals* globals = nullptr;
  if (!globals) globals = reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
  return globals;
}

// What the sanitizers need per fiber. A pooled stack keeps it in its top bytes and a thread's
// own fiber in a thread_local, so nothing is allocated (and nothing leaks when the process
// exits from inside a greenlet).
struct SanitizerState {
  const void* asan_bottom = nullptr;
  std::size_t asan_size = 0;
  void* tsan_fiber = nullptr;
};
constexpr std::size_t kSanitizerReserve =
    (GEVENT_ASAN || GEVENT_TSAN) ? (sizeof(SanitizerState) + 15) / 16 * 16 : 0;

[[maybe_unused]] SanitizerState& sanitizer_state(Fiber& fiber) {
  return *static_cast<SanitizerState*>(fiber.sanitizer);
}

#if GEVENT_ASAN
void asan_start(void** fake_stack, Fiber& to) {
  const SanitizerState& state = sanitizer_state(to);
  __sanitizer_start_switch_fiber(fake_stack, state.asan_bottom, state.asan_size);
}
void asan_finish(void* fake_stack, Fiber& from) {
  SanitizerState& state = sanitizer_state(from);
  __sanitizer_finish_switch_fiber(fake_stack, &state.asan_bottom, &state.asan_size);
}
#else
void asan_start(void**, Fiber&) {}
void asan_finish(void*, Fiber&) {}
#endif

#if GEVENT_TSAN
void tsan_switch(Fiber& to) { __tsan_switch_to_fiber(sanitizer_state(to).tsan_fiber, 0); }
#else
void tsan_switch(Fiber&) {}
#endif

void trampoline(void* data, void* entry) {
  const Transfer& transfer = *static_cast<Transfer*>(data);
  Fiber* self = transfer.to;
  asan_finish(nullptr, *transfer.from);
  *eh_globals() = EhGlobals{nullptr, 0};
  reinterpret_cast<void (*)(Fiber*)>(entry)(self);
  std::abort();  // entry must switch away for good instead of returning
}

}  // namespace

void prepare(Fiber& fiber, Stack stack, void (*entry)(Fiber*)) {
#if GEVENT_ASAN
  // A finished fiber never unwinds its outermost frames, so a reused stack still carries
  // their redzones in ASan's shadow memory.
  __asan_unpoison_memory_region(stack.base, stack.size);
#endif
  fiber.stack = stack;
  char* top = stack.top() - kSanitizerReserve;
  if (kSanitizerReserve != 0) fiber.sanitizer = new (top) SanitizerState;
  fiber.context = make_context(top, trampoline, reinterpret_cast<void*>(entry));
#if GEVENT_ASAN
  sanitizer_state(fiber).asan_bottom = stack.base;
  sanitizer_state(fiber).asan_size = stack.size;
#endif
#if GEVENT_TSAN
  sanitizer_state(fiber).tsan_fiber = __tsan_create_fiber(0);
#endif
}

void adopt_thread([[maybe_unused]] Fiber& fiber) {
#if GEVENT_ASAN || GEVENT_TSAN
  thread_local SanitizerState thread_state;
  thread_state = SanitizerState{};
  fiber.sanitizer = &thread_state;
#endif
#if GEVENT_TSAN
  sanitizer_state(fiber).tsan_fiber = __tsan_get_current_fiber();
#endif
}

void switch_to(Fiber& from, Fiber& to) {
  EhGlobals* globals = eh_globals();
  const EhGlobals saved = *globals;
  Transfer transfer{&from, &to};
  void* fake_stack = nullptr;
  asan_start(&fake_stack, to);
  tsan_switch(to);
  void* back = swap_context(&from.context, to.context, &transfer);
  asan_finish(fake_stack, *static_cast<Transfer*>(back)->from);
  *globals = saved;
}

void exit_to(Fiber& from, Fiber& to) {
  Transfer transfer{&from, &to};
  asan_start(nullptr, to);
  tsan_switch(to);
  swap_context(&from.context, to.context, &transfer);
  std::abort();  // a finished fiber is never resumed
}

SuspendedAt suspended_at(const Fiber& fiber) {
  if (!fiber.context) return {};
  const SavedFrame frame = saved_frame(fiber.context);
  return {frame.ip, frame.sp, frame.bp};
}

void forget([[maybe_unused]] Fiber& fiber) {
#if GEVENT_TSAN
  auto* state = static_cast<SanitizerState*>(fiber.sanitizer);
  if (state && state->tsan_fiber && fiber.stack) __tsan_destroy_fiber(state->tsan_fiber);
#endif
  fiber.sanitizer = nullptr;
}

}  // namespace gevent::context
