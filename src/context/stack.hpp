// Greenlet stacks: carved from large slabs, pooled for reuse, each with overflow detection.
//
// Linux caps a process at vm.max_map_count mappings (65530 by default). A stack mmap'd on its
// own with an mprotect'ed guard page costs two, so guarded stacks would top out near 32,700.
// Stacks here share slab mappings instead, and their guard pages are installed with
// madvise(MADV_GUARD_INSTALL) (Linux 6.13+), which marks page-table entries without splitting
// the mapping: a million guarded stacks cost a few hundred mappings. On older kernels the pool
// falls back to mprotect'ed guard pages while a quarter of max_map_count allows, then to a
// canary word below each stack that is checked at every switch (docs/stacks.md).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "gevent/detail/fiber.hpp"

namespace gevent::context {

using detail::Stack;

enum class GuardKind { madvise, mprotect, canary };

std::string_view to_string(GuardKind kind);
// "madvise", "mprotect" or "canary"; empty: the best the kernel supports. Throws
// std::invalid_argument for another name, std::runtime_error for madvise on a kernel without it.
GuardKind guard_kind_named(std::string_view name);

class StackPool {
 public:
  // `guard` forces a guard kind (tests); by default the best the kernel supports.
  explicit StackPool(GuardKind guard = best_guard_kind());
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // A stack with at least `size` usable bytes (rounded up to whole pages, at least one page).
  // Throws std::system_error when the memory cannot be mapped, std::length_error past 4 GiB.
  Stack acquire(std::size_t size);
  // Returns a stack for reuse. Past a number of idle stacks, their memory goes back to the
  // kernel (MADV_DONTNEED) while the address range stays reserved.
  void release(Stack stack);
  // Gives the memory of idle stacks back to the kernel, keeping at most `keep_warm` of the
  // warm ones (those released while few were idle), which go to the top of the pool to be
  // reused first.
  void trim(std::size_t keep_warm);

  std::size_t stacks_in_use() const { return in_use_; }
  GuardKind guard_kind() const { return guard_; }

  // True when `address` lies in the guard page just below `stack`: a stack overflow.
  static bool in_guard_page(const Stack& stack, const void* address);
  // False when a canary-protected stack's canary has been overwritten.
  static bool canary_intact(const Stack& stack);
  // How deep `stack` has been used, in bytes: from its top down to its lowest page in memory
  // (mincore). A page stays in memory once touched until the pool gives it back to the
  // kernel, so a stack reused warm also counts what the greenlets before on it used.
  static std::size_t high_water(const Stack& stack);

  static GuardKind best_guard_kind();
  static std::size_t page_size();

 private:
  struct Slab {
    char* base;
    std::size_t bytes;
  };
  struct SizeClass {
    std::uint32_t size;
    std::vector<Stack> idle;  // LIFO: the most recently used stack is the warmest
    char* carve_next = nullptr;
    char* carve_end = nullptr;
    std::size_t slab_slots = 0;
  };

  SizeClass& size_class(std::uint32_t size);
  char* carve(SizeClass& sc);
  void grow(SizeClass& sc);
  GuardKind guard_for_next_stack();
  void install_guard(char* guard_page, GuardKind kind);

  GuardKind guard_;
  std::size_t mprotect_budget_;  // guard pages mprotect may still add (two mappings each)
  std::size_t in_use_ = 0;
  std::size_t idle_total_ = 0;
  std::vector<Slab> slabs_;
  std::vector<SizeClass> classes_;
};

}  // namespace gevent::context
