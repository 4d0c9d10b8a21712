// Stack overflow in a greenlet: a clear message naming the greenlet, then abort; never silent
// corruption. Guard pages fault into a SIGSEGV handler that runs on an alternate signal stack;
// canary-protected stacks (old kernels past the mapping budget) are checked at every switch.
#pragma once

#include "context/stack.hpp"
#include "gevent/detail/greenlet_base.hpp"

namespace gevent::detail {

using context::StackPool;
inline bool canary_intact(const Stack& stack) { return StackPool::canary_intact(stack); }

// Installs the process-wide SIGSEGV handler (once) and this thread's alternate signal stack
// (unless the thread has one already).
void install_overflow_handler();
// Removes this thread's alternate signal stack if install_overflow_handler() made it.
void uninstall_overflow_stack();

[[noreturn]] void die_of_overflow(const GreenletBase& greenlet);

// Aborts with the overflow message if `greenlet` has a canary and it was overwritten.
inline void check_canary(const GreenletBase& greenlet) {
  if (greenlet.stack.canary && !canary_intact(greenlet.stack)) [[unlikely]]
    die_of_overflow(greenlet);
}

}  // namespace gevent::detail
