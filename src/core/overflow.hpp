// Stack overflow in a greenlet: a clear message naming the greenlet, then abort; never silent
// corruption. Guard pages fault into a SIGSEGV handler that runs on an alternate signal stack;
// canary-protected stacks (old kernels past the mapping budget) are checked at every switch.
#pragma once

#include "gevent/detail/greenlet_base.hpp"

namespace gevent::detail {

// Installs the process-wide SIGSEGV handler (once) and this thread's alternate signal stack
// (unless the thread has one already).
void install_overflow_handler();
// Removes this thread's alternate signal stack if install_overflow_handler() made it.
void uninstall_overflow_stack();

// Aborts with the overflow message if `greenlet` has a canary and it was overwritten.
void check_canary(const GreenletBase& greenlet);

}  // namespace gevent::detail
