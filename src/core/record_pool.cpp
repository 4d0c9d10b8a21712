#include "core/record_pool.hpp"

#include <pthread.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "gevent/detail/sanitizers.hpp"

namespace gevent::detail {
namespace {

constexpr std::size_t kBlockAlign = 64;
constexpr std::size_t kClasses = kLargestPooledRecord / kBlockAlign;
constexpr std::size_t kSlabBytes = 64 * 1024;

struct FreeBlock {
  FreeBlock* next;
};
using FreeLists = std::array<FreeBlock*, kClasses>;

std::size_t class_of(std::size_t size) { return (size + kBlockAlign - 1) / kBlockAlign - 1; }
std::size_t class_bytes(std::size_t index) { return (index + 1) * kBlockAlign; }

// What outlives the threads: every slab (never freed, so blocks freed on any thread stay
// valid), and the free blocks of threads that have exited, for the next thread to reuse.
struct Shared {
  std::mutex mutex;
  std::vector<void*> slabs;
  FreeLists orphans{};
};
Shared* shared_instance = nullptr;  // never destroyed: records may die during exit

// A thread that held the mutex at a fork does not exist in the child: it starts unlocked.
void reset_mutex_in_child() { new (&shared_instance->mutex) std::mutex; }

Shared& shared() {
  static Shared* instance = [] {
    shared_instance = new Shared;
    pthread_atfork(nullptr, nullptr, reset_mutex_in_child);
    return shared_instance;
  }();
  return *instance;
}

void push(FreeBlock*& list, void* block) {
  auto* node = static_cast<FreeBlock*>(block);
  node->next = list;
  list = node;
}

// Trivially destructible, so that records freed by other thread_local destructors after
// the thread's exit hook ran still find it: from then on it goes through the shared lists.
class ThreadCache {
 public:
  void* allocate(std::size_t index) {
    if (FreeBlock* block = free_[index]) [[likely]] {
      free_[index] = block->next;
      return block;
    }
    return allocate_slow(index);
  }
  void free(void* block, std::size_t index) noexcept {
    if (!hooked_ || exited_) [[unlikely]]
      return free_slow(block, index);
    push(free_[index], block);
  }
  // At thread exit: the free blocks go to the next thread that needs them.
  void hand_over() noexcept {
    exited_ = true;
    for (std::size_t i = 0; i < kClasses; ++i)
      while (FreeBlock* block = free_[i]) {
        free_[i] = block->next;
        give_to_orphans(block, i);
      }
  }

 private:
  void* allocate_slow(std::size_t index);
  void free_slow(void* block, std::size_t index) noexcept;
  // Constructs the thread's exit hook once, so that the thread's exit hands its blocks over
  // (and never touches the hook again after that hook was destroyed).
  void hook_exit();
  bool adopt_orphans(std::size_t index);
  void new_slab();
  static void give_to_orphans(void* block, std::size_t index) noexcept {
    Shared& s = shared();
    std::lock_guard lock(s.mutex);
    push(s.orphans[index], block);
  }

  FreeLists free_{};
  char* slab_next_ = nullptr;
  char* slab_end_ = nullptr;
  bool hooked_ = false;
  bool exited_ = false;
};

constinit thread_local ThreadCache cache;

struct ExitHook {
  bool armed = false;
  ~ExitHook() { cache.hand_over(); }
};
thread_local ExitHook exit_hook;

void ThreadCache::hook_exit() {
  if (hooked_) return;
  hooked_ = true;
  exit_hook.armed = true;
}

void ThreadCache::free_slow(void* block, std::size_t index) noexcept {
  if (exited_) return give_to_orphans(block, index);
  hook_exit();
  push(free_[index], block);
}

void* ThreadCache::allocate_slow(std::size_t index) {
  hook_exit();
  if (!exited_ && adopt_orphans(index)) return allocate(index);
  const std::size_t bytes = class_bytes(index);
  if (static_cast<std::size_t>(slab_end_ - slab_next_) < bytes) new_slab();
  void* block = slab_next_;
  slab_next_ += bytes;
  return block;
}

bool ThreadCache::adopt_orphans(std::size_t index) {
  Shared& s = shared();
  std::lock_guard lock(s.mutex);
  free_[index] = std::exchange(s.orphans[index], nullptr);
  return free_[index] != nullptr;
}

void ThreadCache::new_slab() {
  void* slab = std::aligned_alloc(kBlockAlign, kSlabBytes);
  if (!slab) throw std::bad_alloc();
  Shared& s = shared();
  {
    std::lock_guard lock(s.mutex);
    s.slabs.push_back(slab);
  }
  slab_next_ = static_cast<char*>(slab);
  slab_end_ = slab_next_ + kSlabBytes;
}

}  // namespace

// The sanitizer builds give each record its own allocation, so that ASan sees a use after
// free and TSan the allocator's ordering.
void* allocate_record(std::size_t size) {
  if (GEVENT_ASAN || GEVENT_TSAN || size > kLargestPooledRecord)
    return ::operator new (size, std::align_val_t{kBlockAlign});
  return cache.allocate(class_of(size));
}

void free_record(void* block, std::size_t size) noexcept {
  if (GEVENT_ASAN || GEVENT_TSAN || size > kLargestPooledRecord)
    return ::operator delete (block, std::align_val_t{kBlockAlign});
  cache.free(block, class_of(size));
}

}  // namespace gevent::detail
