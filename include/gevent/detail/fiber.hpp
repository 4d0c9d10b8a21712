// An execution context: the thread's own stack (the main greenlet) or a pooled stack.
// The switch itself lives in src/context; this is only the state a greenlet embeds.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gevent/detail/sanitizers.hpp"

namespace gevent::detail {

struct Stack {
  char* base = nullptr;    // lowest usable address; the guard page lies just below
  std::uint32_t size = 0;  // usable bytes; zero for the thread's own stack
  bool canary = false;     // overflow caught by a canary below base instead of a guard page
  char* top() const { return base + size; }
  explicit operator bool() const { return base != nullptr; }
};

struct Fiber {
  void* context = nullptr;  // saved machine context while suspended (fcontext_t)
  Stack stack;
#if GEVENT_ASAN
  const void* asan_bottom = nullptr;
  std::size_t asan_size = 0;
#endif
#if GEVENT_TSAN
  void* tsan_fiber = nullptr;
#endif
};

}  // namespace gevent::detail
