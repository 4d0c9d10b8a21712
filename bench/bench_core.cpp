// Core micro-benchmarks. Prints one "name value unit" line per figure; each figure is the
// best of several repetitions (the machine is shared and noisy; the minimum is the run least
// disturbed).
//
//   raw_switch_ns       one fcontext jump in a plain two-context ping-pong (Boost.Context)
//   switch_ns           one context switch when two greenlets ping-pong through the hub
//                       (each handoff is two switches: greenlet -> hub -> other greenlet)
//   handoff_ns          one such greenlet-to-greenlet handoff
//   switch_ratio        switch_ns / raw_switch_ns
//   sleep0_ns           gevent::sleep() (yield to the hub and back) with nothing else ready
//   spawn_join_ns       spawn one greenlet, join it; repeated
//   spawn_joinall_ns    spawn 100k greenlets, then joinall; per greenlet
#include <gevent/gevent.hpp>

#include <boost/context/detail/fcontext.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace fctx = boost::context::detail;

constexpr int kRepetitions = 7;

// Best nanoseconds per operation over kRepetitions runs of `run`, which performs `ops` ops.
double best_ns_per_op(long ops, const std::function<void()>& run) {
  double best = 1e300;
  for (int r = 0; r < kRepetitions; ++r) {
    const auto t0 = Clock::now();
    run();
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    best = std::min(best, ns / static_cast<double>(ops));
  }
  return best;
}

void print(const char* name, double value, const char* unit) {
  std::printf("%s %.2f %s\n", name, value, unit);
}

// --- raw fcontext ping-pong ---

void bounce(fctx::transfer_t t) {
  for (;;) t = fctx::jump_fcontext(t.fctx, nullptr);
}

double raw_switch_ns(long jumps) {
  const std::size_t size = 64 * 1024;
  auto stack = std::make_unique<char[]>(size);
  fctx::fcontext_t other = fctx::make_fcontext(stack.get() + size, size, bounce);
  return best_ns_per_op(jumps, [&] {
    for (long i = 0; i < jumps / 2; ++i) other = fctx::jump_fcontext(other, nullptr).fctx;
  });
}

// --- through the hub ---

double handoff_ns(long handoffs) {
  return best_ns_per_op(handoffs, [&] {
    auto yielder = [&] {
      for (long i = 0; i < handoffs / 2; ++i) gevent::sleep();
    };
    auto a = gevent::spawn(yielder);
    auto b = gevent::spawn(yielder);
    a.join();
    b.join();
  });
}

double sleep0_ns(long n) {
  return best_ns_per_op(n, [&] {
    for (long i = 0; i < n; ++i) gevent::sleep();
  });
}

double spawn_join_ns(long n) {
  return best_ns_per_op(n, [&] {
    for (long i = 0; i < n; ++i) gevent::spawn([] {}).join();
  });
}

double spawn_joinall_ns(long n) {
  std::vector<gevent::Greenlet<void>> all;
  all.reserve(static_cast<std::size_t>(n));
  return best_ns_per_op(n, [&] {
    all.clear();
    for (long i = 0; i < n; ++i) all.push_back(gevent::spawn([] {}));
    gevent::joinall(all);
  });
}

}  // namespace

int main() {
  const double raw = raw_switch_ns(10'000'000);
  const double handoff = handoff_ns(2'000'000);
  const double per_switch = handoff / 2;
  print("raw_switch_ns", raw, "ns");
  print("switch_ns", per_switch, "ns");
  print("handoff_ns", handoff, "ns");
  print("switch_ratio", per_switch / raw, "x");
  print("sleep0_ns", sleep0_ns(1'000'000), "ns");
  print("spawn_join_ns", spawn_join_ns(1'000'000), "ns");
  print("spawn_joinall_ns", spawn_joinall_ns(100'000), "ns");
  std::printf("backend %s\n", std::string(gevent::get_hub().backend()).c_str());
}
