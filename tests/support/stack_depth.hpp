// How deep a call goes on the calling greenlet's stack: the free part of the stack below the
// caller is painted with a pattern first, and after the call the lowest byte it changed gives
// its depth, measured from the top of the stack (what the stack size must hold). Release
// builds only: the sanitizers watch stack memory that this writes behind their back.
#pragma once

#include <cstddef>
#include <cstring>

#include <gevent/hub.hpp>

namespace gevent::testing {

// Bytes from the top of the current greenlet's stack down to the deepest byte `call` wrote.
// A call that stays within 4 KiB below the caller reads as that much.
template <class F>
std::size_t stack_depth_of(F&& call) {
  constexpr unsigned char kPaint = 0xA5;
  constexpr std::size_t kMargin = 4096;  // left unpainted: memset's own frame and this one's
  const auto& fiber = gevent::get_hub().current_greenlet();
  char* const base = fiber.stack.base;
  char here = 0;
  char* const painted_end = &here - kMargin;
  std::memset(base, kPaint, static_cast<std::size_t>(painted_end - base));
  call();
  const char* lowest = base;
  while (lowest < painted_end && static_cast<unsigned char>(*lowest) == kPaint) ++lowest;
  return static_cast<std::size_t>(fiber.stack.top() - lowest);
}

}  // namespace gevent::testing
