// An execution context: the thread's own stack (the main greenlet) or a pooled stack.
// The switch itself lives in src/context; this is only the state a greenlet embeds.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gevent::detail {

struct Stack {
  char* base = nullptr;    // lowest usable address; the guard page lies just below
  std::uint32_t size = 0;  // usable bytes; zero for the thread's own stack
  bool canary = false;     // overflow caught by a canary below base instead of a guard page
  char* top() const { return base + size; }
  explicit operator bool() const { return base != nullptr; }
};

// The same layout in every build: a program built without sanitizers can use a library
// built with them, and the other way round.
struct Fiber {
  void* context = nullptr;  // saved machine context while suspended (fcontext_t)
  Stack stack;
  void* sanitizer = nullptr;  // what ASan and TSan builds keep per fiber (src/context)
};

}  // namespace gevent::detail
