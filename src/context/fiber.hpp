// The switch between fibers (switch_x86_64.hpp), plus what each switch must carry along: the
// C++ runtime's per-thread exception state and the sanitizers' notion of the current stack.
#pragma once

#include "gevent/detail/fiber.hpp"

namespace gevent::context {

using detail::Fiber;
using detail::Stack;

// Makes `fiber` a fresh context on `stack` that runs entry(&fiber) when first switched to.
void prepare(Fiber& fiber, Stack stack, void (*entry)(Fiber*));

// Makes `fiber` stand for the calling thread's own stack (the main greenlet).
void adopt_thread(Fiber& fiber);

// Saves the running fiber `from` and resumes `to`. Returns when some fiber switches back
// to `from`. Exceptions being handled in `from` (std::current_exception, rethrow) stay
// with `from`: the runtime's per-thread exception state is swapped on every switch.
void switch_to(Fiber& from, Fiber& to);

// Like switch_to, for a fiber that has finished and will never be resumed: its stack may be
// reused as soon as `to` runs.
[[noreturn]] void exit_to(Fiber& from, Fiber& to);

// Where a suspended fiber (one that switched away and has not been resumed) stopped: its
// resume address and stack and frame pointers, to walk its stack from (run info).
struct SuspendedAt {
  std::uint64_t ip = 0, sp = 0, bp = 0;
};
SuspendedAt suspended_at(const Fiber& fiber);

// Releases sanitizer bookkeeping for a finished fiber (TSan's fiber object).
void forget(Fiber& fiber);

}  // namespace gevent::context
