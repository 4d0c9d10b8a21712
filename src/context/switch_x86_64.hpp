// The context switch for x86-64 (System V), as inline assembly.
//
// The asm declares every register the ABI lets a call clobber, and every callee-saved one,
// as clobbered, so the compiler saves only what is live around the switch, once, in the
// enclosing function. The asm itself saves just %rbp (it may be the frame pointer) and the
// resume address, swaps stack pointers and jumps (an indirect jmp rather than ret, so the
// return-stack predictor is not thrown off on every switch). It first steps over the
// 128-byte red zone, which the enclosing function may be using.
//
// Unlike Boost.Context's jump_fcontext it does not save and restore the MXCSR and x87 control
// words: that costs about 3.5 ns of the 5.7 ns fcontext takes here (docs/benchmarks.md). A
// greenlet that changes the floating-point rounding mode or exception masks must restore
// them before it waits (docs/pitfalls.md).
#pragma once

#include <cstdint>

#if !defined(__x86_64__)
#error "gevent-cpp's context switch is written for x86-64 only so far"
#endif

extern "C" {
// Where a fresh context starts: calls start(transfer, argument), both read from the stack.
void gevent_context_start();
}

asm(R"(
  .text
  .globl gevent_context_start
  .type gevent_context_start, @function
  .align 16
gevent_context_start:
  movq %rax, %rdi
  movq (%rsp), %rax
  movq 8(%rsp), %rsi
  andq $-16, %rsp
  callq *%rax
  ud2
  .size gevent_context_start, .-gevent_context_start
)");

namespace gevent::context {

// Saves the running context into *save_sp and resumes the one at to_sp, handing it
// `transfer`. Returns, when this context is resumed, the transfer its resumer handed over.
inline void* swap_context(void** save_sp, void* to_sp, void* transfer) {
  asm volatile(
      "leaq -128(%%rsp), %%rsp\n\t"
      "pushq %%rbp\n\t"
      "leaq 1f(%%rip), %%rcx\n\t"
      "pushq %%rcx\n\t"
      "movq %%rsp, (%%rdi)\n\t"
      "movq %%rsi, %%rsp\n\t"
      "popq %%rcx\n\t"
      "jmpq *%%rcx\n"
      "1:\n\t"
      "popq %%rbp\n\t"
      "leaq 128(%%rsp), %%rsp\n\t"
      : "+D"(save_sp), "+S"(to_sp), "+a"(transfer)
      :
      : "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
        "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
        "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7", "memory", "cc");
  return transfer;
}

// Where a context that swap_context saved will resume: the address after the asm, and the
// stack and frame pointers the enclosing function has there (its unwind tables describe the
// frame as if the asm had not moved %rsp). What a stack walk of a suspended fiber starts from.
struct SavedFrame {
  std::uint64_t ip, sp, bp;
};
inline SavedFrame saved_frame(const void* saved_sp) {
  const auto* slots = static_cast<const std::uint64_t*>(saved_sp);
  constexpr std::uint64_t kPushed = 2 * sizeof(std::uint64_t), kRedZone = 128;
  return {slots[0], reinterpret_cast<std::uint64_t>(saved_sp) + kPushed + kRedZone, slots[1]};
}

// Lays out a fresh context at the top of a stack: the first switch to it jumps to
// gevent_context_start, which calls start(transfer, argument) on a 16-byte aligned stack.
inline void* make_context(char* stack_top, void (*start)(void*, void*), void* argument) {
  auto top = reinterpret_cast<unsigned long>(stack_top) & ~15ul;
  void** sp = reinterpret_cast<void**>(top) - 4;
  sp[0] = reinterpret_cast<void*>(&gevent_context_start);
  sp[1] = reinterpret_cast<void*>(start);
  sp[2] = argument;
  sp[3] = nullptr;
  return sp;
}

}  // namespace gevent::context
