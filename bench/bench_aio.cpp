// gevent::aio beside its peers, in one run. Prints "name value unit" lines, each the best of
// several repetitions (the machine is shared and noisy), then the ratios issue 16 asks for.
//
//   await_set_event_ns        a task's co_await on an Event that is set (no suspension)
//   asio_channel_receive_ns   standalone Asio (libasio-dev): an awaitable's co_await
//                             async_receive on a pre-filled experimental::channel
//   task_pingpong_ns          two tasks ping-pong through two Events; per set -> wake
//   greenlet_pingpong_ns      two greenlets doing the same (bench_core's event_set_wait_ns)
//   asio_pingpong_ns          two asio::awaitables ping-pong through two channels; per hop
//   greenlet_task_roundtrip_ns  a greenlet sets an Event a task awaits; the task sets one the
//                             greenlet waits on; per round trip
//   greenlet_waits_task_ns    per round: a greenlet spawns a task and waits for it; the task
//                             awaits an Event that another greenlet sets (the Python peer:
//                             bench/peers/gevent_asyncio_bridge.py, in bench/vs_gevent.sh)
//   task_spawn_wait_ns        aio::wait(a task that returns at once), from a greenlet
#include "best_of.hpp"

#include <gevent/aio.hpp>
#include <gevent/event.hpp>
#include <gevent/gevent.hpp>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <functional>

namespace {

namespace aio = gevent::aio;

using bench::best_ns_per_op;
using bench::print;

// --- gevent::aio ---

double await_set_event_ns(long ops) {
  gevent::Event event;
  event.set();
  auto loop = [&]() -> aio::Task<long> {
    long n = 0;
    for (long i = 0; i < ops; ++i) {
      co_await event;
      ++n;
    }
    co_return n;
  };
  return best_ns_per_op(ops, [&] { aio::wait(loop()); });
}

aio::Task<> task_player(gevent::Event& mine, gevent::Event& theirs, long rounds, bool serve) {
  if (serve) theirs.set();
  for (long i = 0; i < rounds; ++i) {
    co_await mine;
    mine.clear();
    if (!serve || i + 1 < rounds) theirs.set();
  }
}

double task_pingpong_ns(long hops) {
  return best_ns_per_op(hops, [&] {
    gevent::Event a, b;
    auto x = aio::spawn(task_player(a, b, hops / 2, false));
    auto y = aio::spawn(task_player(b, a, hops / 2, true));
    x.join();
    y.join();
  });
}

double greenlet_pingpong_ns(long hops) {
  return best_ns_per_op(hops, [&] {
    gevent::Event a, b;
    auto player = [&](gevent::Event& mine, gevent::Event& theirs, bool serve) {
      if (serve) theirs.set();
      for (long i = 0; i < hops / 2; ++i) {
        mine.wait();
        mine.clear();
        if (!serve || i + 1 < hops / 2) theirs.set();
      }
    };
    auto x = gevent::spawn(player, std::ref(a), std::ref(b), false);
    auto y = gevent::spawn(player, std::ref(b), std::ref(a), true);
    x.join();
    y.join();
  });
}

double greenlet_task_roundtrip_ns(long rounds) {
  return best_ns_per_op(rounds, [&] {
    gevent::Event to_task, to_greenlet;
    auto task = [&]() -> aio::Task<> {
      for (long i = 0; i < rounds; ++i) {
        co_await to_task;
        to_task.clear();
        to_greenlet.set();
      }
    };
    auto future = aio::spawn(task());
    for (long i = 0; i < rounds; ++i) {
      to_task.set();
      to_greenlet.wait();
      to_greenlet.clear();
    }
    future.join();
  });
}

double greenlet_waits_task_ns(long rounds) {
  gevent::Event event;
  auto body = [&]() -> aio::Task<int> {
    co_await event;
    co_return 1;
  };
  return best_ns_per_op(rounds, [&] {
    for (long i = 0; i < rounds; ++i) {
      event.clear();
      auto future = aio::spawn(body());
      gevent::spawn([&] { event.set(); });
      if (future.get() != 1) std::abort();
    }
  });
}

double task_spawn_wait_ns(long ops) {
  auto trivial = []() -> aio::Task<int> { co_return 1; };
  return best_ns_per_op(ops, [&] {
    long sum = 0;
    for (long i = 0; i < ops; ++i) sum += aio::wait(trivial());
    if (sum != ops) std::abort();
  });
}

// --- standalone Asio ---

using Channel = asio::experimental::channel<void(asio::error_code, long)>;

double asio_channel_receive_ns(long ops) {
  return best_ns_per_op(ops, [&] {
    asio::io_context io;
    Channel channel(io, static_cast<std::size_t>(ops));
    for (long i = 0; i < ops; ++i) channel.try_send(asio::error_code{}, i);
    auto drain = [&]() -> asio::awaitable<void> {
      for (long i = 0; i < ops; ++i) co_await channel.async_receive(asio::use_awaitable);
    };
    asio::co_spawn(io, drain(), asio::detached);
    io.run();
  });
}

asio::awaitable<void> asio_player(Channel& in, Channel& out, long rounds, bool serve) {
  if (serve) co_await out.async_send(asio::error_code{}, 0, asio::use_awaitable);
  for (long i = 0; i < rounds; ++i) {
    const long v = co_await in.async_receive(asio::use_awaitable);
    if (!serve || i + 1 < rounds)
      co_await out.async_send(asio::error_code{}, v + 1, asio::use_awaitable);
  }
}

double asio_pingpong_ns(long hops) {
  return best_ns_per_op(hops, [&] {
    asio::io_context io;
    Channel a(io, 1), b(io, 1);
    asio::co_spawn(io, asio_player(a, b, hops / 2, false), asio::detached);
    asio::co_spawn(io, asio_player(b, a, hops / 2, true), asio::detached);
    io.run();
  });
}

}  // namespace

int main() {
  const double await_event = await_set_event_ns(2'000'000);
  const double asio_receive = asio_channel_receive_ns(200'000);
  const double task_pp = task_pingpong_ns(1'000'000);
  const double greenlet_pp = greenlet_pingpong_ns(1'000'000);
  const double asio_pp = asio_pingpong_ns(200'000);
  print("await_set_event_ns", await_event, "ns");
  print("asio_channel_receive_ns", asio_receive, "ns");
  print("task_pingpong_ns", task_pp, "ns");
  print("greenlet_pingpong_ns", greenlet_pp, "ns");
  print("asio_pingpong_ns", asio_pp, "ns");
  print("greenlet_task_roundtrip_ns", greenlet_task_roundtrip_ns(500'000), "ns");
  print("greenlet_waits_task_ns", greenlet_waits_task_ns(200'000), "ns");
  print("task_spawn_wait_ns", task_spawn_wait_ns(200'000), "ns");
  std::printf("ratio await_set_event/asio_channel_receive %.3f (target <= 0.10)\n",
              await_event / asio_receive);
  std::printf("ratio task_pingpong/greenlet_pingpong %.3f (target <= 1.0)\n",
              task_pp / greenlet_pp);
  std::printf("ratio task_pingpong/asio_pingpong %.3f (target <= 0.5)\n", task_pp / asio_pp);
  gevent::Hub::destroy_current();
}
