#include "context/stack.hpp"

#include "gevent/detail/sanitizers.hpp"
#if GEVENT_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace gevent::context {
namespace {

constexpr int kMadvGuardInstall = 102;  // Linux 6.13+, not yet in glibc 2.36's headers
constexpr std::uint64_t kCanary = 0x67657665'6e742121;  // "gevent!!"
constexpr std::size_t kIdleKeptWarm = 1024;
constexpr std::size_t kFirstSlabSlots = 16;
constexpr std::size_t kMaxSlabSlots = 4096;

std::size_t read_max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::size_t value = 65530;
  in >> value;
  return value;
}

std::uint64_t* canary_slot(const Stack& stack) {
  return reinterpret_cast<std::uint64_t*>(stack.base) - 1;
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

std::string_view to_string(GuardKind kind) {
  switch (kind) {
    case GuardKind::madvise:
      return "madvise";
    case GuardKind::mprotect:
      return "mprotect";
    case GuardKind::canary:
      return "canary";
  }
  return "?";
}

GuardKind guard_kind_named(std::string_view name) {
  if (name.empty()) return StackPool::best_guard_kind();
  for (GuardKind kind : {GuardKind::madvise, GuardKind::mprotect, GuardKind::canary}) {
    if (name != to_string(kind)) continue;
    if (kind == GuardKind::madvise && StackPool::best_guard_kind() != GuardKind::madvise)
      throw std::runtime_error(
          "gevent: stack guard madvise: this kernel has no MADV_GUARD_INSTALL (Linux 6.13+)");
    return kind;
  }
  throw std::invalid_argument("gevent: no stack guard kind named '" + std::string(name) + "'");
}

std::size_t StackPool::page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

GuardKind StackPool::best_guard_kind() {
  static const GuardKind kind = [] {
    const std::size_t page = page_size();
    void* probe = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe == MAP_FAILED) return GuardKind::mprotect;
    const bool ok = ::madvise(probe, page, kMadvGuardInstall) == 0;
    ::munmap(probe, 2 * page);
    return ok ? GuardKind::madvise : GuardKind::mprotect;
  }();
  return kind;
}

StackPool::StackPool(GuardKind guard)
    : guard_(guard),
      mprotect_budget_(guard == GuardKind::mprotect ? read_max_map_count() / 4 : 0) {}

StackPool::~StackPool() {
  for (const Slab& slab : slabs_) {
#if GEVENT_ASAN
    // Frames that never unwound (a finished fiber's outermost ones) left redzones in ASan's
    // shadow; a later mapping at these addresses would inherit them.
    __asan_unpoison_memory_region(slab.base, slab.bytes);
#endif
    ::munmap(slab.base, slab.bytes);
  }
}

Stack StackPool::acquire(std::size_t size) {
  const std::size_t page = page_size();
  const std::size_t rounded = std::max(page, (size + page - 1) / page * page);
  if (rounded > UINT32_MAX) throw std::length_error("gevent: stack size over 4 GiB");
  SizeClass& sc = size_class(static_cast<std::uint32_t>(rounded));
  Stack stack;
  if (!sc.idle.empty()) {
    stack = sc.idle.back();
    sc.idle.pop_back();
    --idle_total_;
  } else {
    const GuardKind kind = guard_for_next_stack();
    char* slot = carve(sc);
    install_guard(slot, kind);
    stack = Stack{slot + page, sc.size, kind == GuardKind::canary};
    if (stack.canary) *canary_slot(stack) = kCanary;
  }
  ++in_use_;
  return stack;
}

std::size_t StackPool::high_water(const Stack& stack) {
  if (!stack) return 0;
  const std::size_t page = page_size();
  std::vector<unsigned char> resident(stack.size / page);
  if (::mincore(stack.base, stack.size, resident.data()) != 0) return 0;
  const auto lowest =
      std::find_if(resident.begin(), resident.end(), [](unsigned char flags) { return flags & 1; });
  return static_cast<std::size_t>(resident.end() - lowest) * page;
}

void StackPool::release(Stack stack) {
  --in_use_;
  if (idle_total_ >= kIdleKeptWarm) ::madvise(stack.base, stack.size, MADV_DONTNEED);
  size_class(stack.size).idle.push_back(stack);
  ++idle_total_;
}

// The warm idle stacks lie at the bottom of each class: after a burst the first ones released
// stay warm, and those released past kIdleKeptWarm go back to the kernel at once.
void StackPool::trim(std::size_t keep_warm) {
  for (SizeClass& sc : classes_) {
    const std::size_t warm = std::min(sc.idle.size(), kIdleKeptWarm);
    const std::size_t kept = std::min(warm, keep_warm);
    for (std::size_t i = 0; i + kept < warm; ++i)
      ::madvise(sc.idle[i].base, sc.idle[i].size, MADV_DONTNEED);
    const auto bottom = sc.idle.begin();
    std::rotate(bottom, bottom + static_cast<std::ptrdiff_t>(warm), sc.idle.end());
  }
}

bool StackPool::in_guard_page(const Stack& stack, const void* address) {
  const char* a = static_cast<const char*>(address);
  return stack.base && a < stack.base && a >= stack.base - page_size();
}

bool StackPool::canary_intact(const Stack& stack) {
  return !stack.canary || *canary_slot(stack) == kCanary;
}

StackPool::SizeClass& StackPool::size_class(std::uint32_t size) {
  for (SizeClass& sc : classes_)
    if (sc.size == size) return sc;
  classes_.push_back(SizeClass{size, {}});
  return classes_.back();
}

// Each slot is a guard page followed by the usable stack.
char* StackPool::carve(SizeClass& sc) {
  if (sc.carve_next == sc.carve_end) grow(sc);
  char* slot = sc.carve_next;
  sc.carve_next += page_size() + sc.size;
  return slot;
}

void StackPool::grow(SizeClass& sc) {
  sc.slab_slots = std::clamp(sc.slab_slots * 2, kFirstSlabSlots, kMaxSlabSlots);
  const std::size_t bytes = sc.slab_slots * (page_size() + sc.size);
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) throw_errno("gevent: mmap of a stack slab failed");
  ::madvise(base, bytes, MADV_NOHUGEPAGE);  // a huge page would make one stack cost 2 MiB
  slabs_.push_back(Slab{static_cast<char*>(base), bytes});
  sc.carve_next = static_cast<char*>(base);
  sc.carve_end = sc.carve_next + bytes;
}

GuardKind StackPool::guard_for_next_stack() {
  if (guard_ != GuardKind::mprotect) return guard_;
  if (mprotect_budget_ == 0) return GuardKind::canary;
  --mprotect_budget_;
  return GuardKind::mprotect;
}

void StackPool::install_guard(char* guard_page, GuardKind kind) {
  if (kind == GuardKind::madvise && ::madvise(guard_page, page_size(), kMadvGuardInstall) != 0)
    throw_errno("gevent: madvise(MADV_GUARD_INSTALL) on a stack guard page failed");
  if (kind == GuardKind::mprotect && ::mprotect(guard_page, page_size(), PROT_NONE) != 0)
    throw_errno("gevent: mprotect of a stack guard page failed");
}

}  // namespace gevent::context
