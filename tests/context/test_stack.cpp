// The stack pool: sizes, reuse, guard pages that fault, and the mapping budget.
#include <sys/mman.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "context/stack.hpp"
#include "support/harness.hpp"

namespace {

using gevent::context::GuardKind;
using gevent::context::StackPool;

int count_mappings() {
  std::ifstream maps("/proc/self/maps");
  int lines = 0;
  for (std::string line; std::getline(maps, line);) ++lines;
  return lines;
}

TEST(StackPool, RoundsUpToPagesAndReusesReleasedStacks) {
  StackPool pool;
  const auto page = StackPool::page_size();
  auto a = pool.acquire(1);
  EXPECT_EQ(a.size, page);
  auto b = pool.acquire(3 * page + 1);
  EXPECT_EQ(b.size, 4 * page);
  EXPECT_EQ(pool.stacks_in_use(), 2u);
  pool.release(a);
  auto c = pool.acquire(page);
  EXPECT_EQ(c.base, a.base) << "the warmest idle stack is reused first";
  pool.release(b);
  pool.release(c);
  EXPECT_EQ(pool.stacks_in_use(), 0u);
}

TEST(StackPool, StacksAreWritableAndDisjoint) {
  StackPool pool;
  std::vector<gevent::detail::Stack> stacks;
  for (int i = 0; i < 100; ++i) stacks.push_back(pool.acquire(64 * 1024));
  std::set<char*> bases;
  for (auto& s : stacks) {
    s.base[0] = 1;
    s.top()[-1] = 1;
    bases.insert(s.base);
  }
  EXPECT_EQ(bases.size(), stacks.size());
  for (auto& s : stacks) pool.release(s);
}

TEST(StackPool, HugeSizesAreRefusedClearly) {
  StackPool pool;
  EXPECT_THROW(pool.acquire(std::size_t{8} << 30), std::length_error);
}

TEST(StackPool, ManyGuardedStacksCostFewMappingsWithMadvise) {
  if (StackPool::best_guard_kind() != GuardKind::madvise) GTEST_SKIP() << "kernel before 6.13";
  const int before = count_mappings();
  StackPool pool;
  std::vector<gevent::detail::Stack> stacks;
  for (int i = 0; i < 40000; ++i) stacks.push_back(pool.acquire(16 * 1024));
  EXPECT_LT(count_mappings() - before, 100) << "40,000 guarded stacks must not need a mapping each";
  for (auto& s : stacks) pool.release(s);
}

TEST(StackPool, MprotectFallbackSwitchesToCanariesPastItsBudget) {
  StackPool pool(GuardKind::mprotect);
  std::vector<gevent::detail::Stack> stacks;
  bool saw_canary = false;
  for (int i = 0; i < 20000 && !saw_canary; ++i) {
    stacks.push_back(pool.acquire(4096));
    saw_canary = stacks.back().canary;
  }
  EXPECT_TRUE(saw_canary) << "mprotect guards must stop at the mapping budget";
  EXPECT_TRUE(StackPool::canary_intact(stacks.back()));
  stacks.back().base[-1] = 0x55;  // what an overflow would do
  EXPECT_FALSE(StackPool::canary_intact(stacks.back()));
  for (auto& s : stacks) pool.release(s);
}

using StackPoolDeathTest = ::testing::Test;

TEST_F(StackPoolDeathTest, TouchingTheGuardPageFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (GuardKind kind : {StackPool::best_guard_kind(), GuardKind::mprotect}) {
    StackPool pool(kind);
    auto s = pool.acquire(16 * 1024);
    EXPECT_TRUE(StackPool::in_guard_page(s, s.base - 1));
    EXPECT_FALSE(StackPool::in_guard_page(s, s.base));
    EXPECT_DEATH(*(volatile char*)(s.base - 1) = 1, "");
    pool.release(s);
  }
}

}  // namespace
