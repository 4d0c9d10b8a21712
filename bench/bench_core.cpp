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
//   event_set_wait_ns   two greenlets ping-pong through two Events; per set -> wake
//   semaphore_acquire_release_ns   an uncontended acquire + release
//   queue_put_get_ns    two greenlets ping-pong through two Queues; per put -> get
//   pool_imap_unordered_ns         Pool(100).imap_unordered over 100k items; per item
//   threadpool_roundtrip_us        a no-op job on the hub's thread pool, spawn + get
#include "best_of.hpp"

#include <gevent/event.hpp>
#include <gevent/gevent.hpp>
#include <gevent/lock.hpp>
#include <gevent/pool.hpp>
#include <gevent/queue.hpp>
#include <gevent/threadpool.hpp>

#include <boost/context/detail/fcontext.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

namespace {

namespace fctx = boost::context::detail;

using bench::best_ns_per_op;
using bench::print;

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

// --- sync ---

double event_set_wait_ns(long handoffs) {
  return best_ns_per_op(handoffs, [&] {
    gevent::Event ping, pong;
    auto player = [](gevent::Event& in, gevent::Event& out, long rounds) {
      for (long i = 0; i < rounds; ++i) {
        in.wait();
        in.clear();
        out.set();
      }
    };
    auto b = gevent::spawn(player, std::ref(ping), std::ref(pong), handoffs / 2);
    for (long i = 0; i < handoffs / 2; ++i) {
      ping.set();
      pong.wait();
      pong.clear();
    }
    b.join();
  });
}

double semaphore_acquire_release_ns(long n) {
  gevent::Semaphore semaphore{1};
  return best_ns_per_op(n, [&] {
    for (long i = 0; i < n; ++i) {
      semaphore.acquire();
      semaphore.release();
    }
  });
}

double queue_put_get_ns(long handoffs) {
  return best_ns_per_op(handoffs, [&] {
    gevent::Queue<long> there, back;
    auto echo = gevent::spawn([&] {
      for (long i = 0; i < handoffs / 2; ++i) back.put(there.get());
    });
    for (long i = 0; i < handoffs / 2; ++i) {
      there.put(i);
      back.get();
    }
    echo.join();
  });
}

double pool_imap_unordered_ns(long n) {
  std::vector<long> inputs(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) inputs[static_cast<std::size_t>(i)] = i;
  return best_ns_per_op(n, [&] {
    gevent::Pool pool{100};
    long sum = 0;
    for (long r : pool.imap_unordered([](long x) { return x + 1; }, inputs)) sum += r;
    if (sum != n * (n + 1) / 2) std::abort();
  });
}

double threadpool_roundtrip_us(long n) {
  auto& pool = gevent::get_hub().threadpool();
  return best_ns_per_op(n,
                        [&] {
                          for (long i = 0; i < n; ++i) pool.spawn([] { return 1; }).get();
                        }) /
         1000.0;
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
  print("event_set_wait_ns", event_set_wait_ns(1'000'000), "ns");
  print("semaphore_acquire_release_ns", semaphore_acquire_release_ns(10'000'000), "ns");
  print("queue_put_get_ns", queue_put_get_ns(1'000'000), "ns");
  print("pool_imap_unordered_ns", pool_imap_unordered_ns(100'000), "ns");
  print("threadpool_roundtrip_us", threadpool_roundtrip_us(20'000), "us");
  std::printf("backend %s\n", std::string(gevent::get_hub().backend()).c_str());
}
