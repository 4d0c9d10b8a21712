// What the micro benchmarks share: each figure is the best of several repetitions (the machine
// is shared and noisy; the minimum is the run least disturbed), printed as "name value unit".
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

namespace bench {

inline constexpr int kRepetitions = 7;

// Best nanoseconds per operation over kRepetitions runs of `run`, which performs `ops` ops.
inline double best_ns_per_op(long ops, const std::function<void()>& run) {
  using Clock = std::chrono::steady_clock;
  double best = 1e300;
  for (int r = 0; r < kRepetitions; ++r) {
    const auto t0 = Clock::now();
    run();
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    best = std::min(best, ns / static_cast<double>(ops));
  }
  return best;
}

inline void print(const char* name, double value, const char* unit) {
  std::printf("%s %.2f %s\n", name, value, unit);
}

}  // namespace bench
