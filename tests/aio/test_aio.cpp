// gevent::aio: tasks beside greenlets, each waiting on the other, and one cancellation model.
#include <gevent/aio.hpp>
#include <gevent/gevent.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;
namespace aio = gevent::aio;

namespace {

class AioTest : public HubTest {};

// Sets a flag when the frame that holds it is destroyed.
struct FrameGuard {
  bool& gone;
  ~FrameGuard() { gone = true; }
};

aio::Task<int> answer_after(std::chrono::milliseconds delay) {
  co_await aio::sleep(delay);
  co_return 42;
}

TEST_F(AioTest, AGreenletWaitsForATaskBlockingOnlyItself) {
  int ticks = 0;
  gevent::Event ticked;
  auto ticker = gevent::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      gevent::sleep(1ms);
      ++ticks;
    }
    ticked.set();
  });
  auto task = [&]() -> aio::Task<int> {
    co_await ticked;  // set by a greenlet the hub runs while main waits
    co_return co_await answer_after(1ms);
  };
  EXPECT_EQ(aio::wait(task()), 42);
  EXPECT_EQ(ticks, 5);
  ticker.join();
}

TEST_F(AioTest, TasksRunInFifoOrderWithGreenlets) {
  std::vector<std::string> order;
  auto record = [&](std::string what) -> aio::Task<> {
    order.push_back(std::move(what));
    co_return;
  };
  auto a = gevent::spawn([&] { order.push_back("greenlet 1"); });
  auto t = aio::spawn(record("task"));
  auto b = gevent::spawn([&] { order.push_back("greenlet 2"); });
  EXPECT_TRUE(order.empty());  // spawned, not run: the current greenlet has not waited yet
  gevent::joinall({a, b});
  t.join();
  EXPECT_EQ(order, (std::vector<std::string>{"greenlet 1", "task", "greenlet 2"}));
}

TEST_F(AioTest, TasksAwaitEventsAndResultsThatGreenletsSet) {
  gevent::Event go;
  gevent::AsyncResult<std::string> word;
  auto task = [&]() -> aio::Task<std::string> {
    co_await go;
    std::string got = co_await word;
    co_return got + "!";
  };
  auto future = aio::spawn(task());
  gevent::sleep(2ms);
  EXPECT_FALSE(future.ready());
  go.set();
  gevent::sleep(2ms);
  EXPECT_FALSE(future.ready());
  word.set("hello");
  EXPECT_EQ(future.get(), "hello!");
  EXPECT_TRUE(future.successful());
}

TEST_F(AioTest, AnAsyncResultsExceptionIsRethrownInTheTask) {
  gevent::AsyncResult<int> result;
  result.set_exception(std::runtime_error("no value"));
  auto task = [&]() -> aio::Task<int> { co_return co_await result; };
  EXPECT_THROW(aio::wait(task()), std::runtime_error);
}

TEST_F(AioTest, ATaskAwaitsAGreenletsValueOrItsException) {
  auto fine = gevent::spawn([] {
    gevent::sleep(2ms);
    return 7;
  });
  auto failing = gevent::spawn([]() -> int {
    gevent::sleep(1ms);
    throw std::invalid_argument("bad");
  });
  auto task = [&]() -> aio::Task<int> {
    int value = co_await fine;
    try {
      co_await aio::join(failing);
    } catch (const std::invalid_argument&) {
      value += 100;
    }
    co_return value;
  };
  EXPECT_EQ(aio::wait(task()), 107);
}

TEST_F(AioTest, AwaitingAResultLeavesTheValueToItsOtherHandles) {
  auto greenlet = gevent::spawn([] { return std::string("from a greenlet"); });
  gevent::AsyncResult<std::string> result;
  result.set("from a result");
  auto task = [&]() -> aio::Task<std::string> {
    std::string a = co_await greenlet;
    std::string b = co_await result;
    co_return a + ", " + b;
  };
  EXPECT_EQ(aio::wait(task()), "from a greenlet, from a result");
  EXPECT_EQ(greenlet.get(), "from a greenlet");
  EXPECT_EQ(result.get(), "from a result");
}

TEST_F(AioTest, TasksAwaitTasksInlineAndExceptionsCross) {
  auto leaf = [](int n) -> aio::Task<int> {
    if (n < 0) throw std::out_of_range("negative");
    co_await aio::sleep(0ms);
    co_return n * 2;
  };
  auto parent = [&]() -> aio::Task<int> {
    int sum = co_await leaf(1) + co_await leaf(2);
    try {
      co_await leaf(-1);
    } catch (const std::out_of_range&) {
      sum += 1000;
    }
    co_return sum;
  };
  EXPECT_EQ(aio::wait(parent()), 1006);
}

TEST_F(AioTest, ATaskAwaitsAnotherSpawnedTasksFuture) {
  auto producer = aio::spawn(answer_after(5ms));
  auto consumer = [&]() -> aio::Task<int> { co_return co_await producer + 1; };
  EXPECT_EQ(aio::wait(consumer()), 43);
}

TEST_F(AioTest, WaitJoinallAndIwaitAcceptFutures) {
  std::vector<aio::Future<int>> futures;
  for (int ms : {9, 1, 5})
    futures.push_back(aio::spawn(answer_after(std::chrono::milliseconds(ms))));
  auto first = gevent::wait(futures, {}, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]->minimal_ident(), futures[1].minimal_ident());
  auto all = gevent::joinall(futures, 1s, true);
  EXPECT_EQ(all.size(), 3u);
  for (auto& f : futures) EXPECT_EQ(f.get(), 42);
}

// The point of the bridge: a blocking gevent call inside a task blocks that task alone.
TEST_F(AioTest, ABlockingGeventCallInATaskBlocksOnlyThatTask) {
  std::vector<std::string> order;
  auto blocking = [&]() -> aio::Task<> {
    gevent::sleep(30ms);  // not co_await: a plain blocking gevent call
    order.push_back("blocking task");
    co_return;
  };
  auto quick = [&]() -> aio::Task<> {
    co_await aio::sleep(1ms);
    order.push_back("quick task");
  };
  auto slow = aio::spawn(blocking());
  auto fast = aio::spawn(quick());
  auto greenlet = gevent::spawn([&] {
    gevent::sleep(5ms);
    order.push_back("greenlet");
  });
  slow.join();
  fast.join();
  greenlet.join();
  EXPECT_EQ(order, (std::vector<std::string>{"quick task", "greenlet", "blocking task"}));
}

TEST_F(AioTest, ATaskMayWaitForAnotherTaskTheBlockingWay) {
  auto outer = [&]() -> aio::Task<int> {
    int inner = aio::wait(answer_after(2ms));  // blocks this task only
    co_return inner + 1;
  };
  auto other = aio::spawn(answer_after(1ms));
  EXPECT_EQ(aio::wait(outer()), 43);
  EXPECT_EQ(other.get(), 42);
}

TEST_F(AioTest, ATimeoutStartedInATaskIsThrownWhereTheTaskAwaits) {
  gevent::Event never;
  auto task = [&]() -> aio::Task<std::string> {
    gevent::Timeout limit(5ms);
    try {
      co_await never;
    } catch (const std::exception&) {
      co_return "caught as std::exception";  // must not happen
    } catch (const gevent::Timeout& t) {
      co_return t.is(limit) ? "own timeout" : "other timeout";
    }
    co_return "woken";
  };
  EXPECT_EQ(aio::wait(task()), "own timeout");
}

TEST_F(AioTest, ATimeoutStartedInATaskInterruptsItsBlockingCall) {
  auto task = [&]() -> aio::Task<bool> {
    gevent::Timeout limit(5ms);
    try {
      gevent::sleep(10s);  // blocking, on the task's runner
    } catch (const gevent::Timeout& t) {
      co_return t.is(limit);
    }
    co_return false;
  };
  EXPECT_TRUE(aio::wait(task()));
}

// `limited` starts a Timeout on a runner and suspends; `blocking` then runs on that same runner
// and blocks in it. The expiry is limited's: it must not land in blocking's call.
TEST_F(AioTest, ATimeoutInOneTaskDoesNotHitAnotherOnTheSameRunner) {
  gevent::Event never;
  gevent::Event limited_waits;
  auto limited = [&]() -> aio::Task<bool> {
    gevent::Timeout limit(5ms);
    limited_waits.set();
    try {
      co_await never;
    } catch (const gevent::Timeout& t) {
      co_return t.is(limit);
    }
    co_return false;
  };
  auto blocking = [&]() -> aio::Task<std::string> {
    co_await limited_waits;  // resumed by the runner `limited` just left
    try {
      gevent::sleep(30ms);  // blocks that runner past limited's expiry
    } catch (const gevent::Timeout&) {
      co_return "hit by another task's Timeout";
    }
    co_return "slept";
  };
  auto a = aio::spawn(limited());
  auto b = aio::spawn(blocking());
  EXPECT_TRUE(a.get());
  EXPECT_EQ(b.get(), "slept");
}

// Two Timeouts expire while the task is inside one blocking call: the first is thrown there,
// the second, left on the runner, where the task awaits next.
TEST_F(AioTest, ASecondExpiryDuringABlockingCallIsThrownAtTheNextAwait) {
  gevent::Event never;
  auto task = [&]() -> aio::Task<std::string> {
    gevent::Timeout first(1ms);
    gevent::Timeout second(1ms);
    std::string seen;
    try {
      gevent::sleep(10s);
    } catch (const gevent::Timeout& t) {
      seen = t.is(first) ? "first" : "second";
    }
    try {
      co_await never;
    } catch (const gevent::Timeout& t) {
      seen += t.is(second) ? ", second" : ", first again";
    }
    co_return seen;
  };
  auto future = aio::spawn(task());
  gevent::sleep();  // the task starts its timeouts and blocks
  const auto until = std::chrono::steady_clock::now() + 3ms;
  while (std::chrono::steady_clock::now() < until) {
  }  // the hub sees both expired in one pass
  EXPECT_EQ(future.get(), "first, second");
}

TEST_F(AioTest, AKillReachesATaskInALongChainOfReadyAwaits) {
  auto ready_child = []() -> aio::Task<int> { co_return 1; };
  auto forever = [&]() -> aio::Task<> {
    for (;;) co_await ready_child();  // never suspends on anything: only transfers
  };
  auto future = aio::spawn(forever());
  gevent::sleep(2ms);
  future.kill();
  EXPECT_TRUE(future.ready());
}

TEST_F(AioTest, AioWaitOnATaskThatIgnoresCancellationEndsWithLoopExit) {
  gevent::Event never;
  bool frame_gone = false;
  auto stubborn = [&]() -> aio::Task<> {
    FrameGuard guard{frame_gone};
    for (;;) {
      try {
        co_await never;
      } catch (const gevent::GreenletExit&) {
      }
    }
  };
  EXPECT_THROW(aio::wait(stubborn()), gevent::LoopExit);
  EXPECT_TRUE(frame_gone);  // nothing could ever resume it: its frames went with the wait
}

TEST_F(AioTest, EachTaskHasItsOwnGreenletLocalsWhicheverRunnerResumesIt) {
  gevent::local<int> mine;
  gevent::Event a_set, b_done;
  auto a = [&]() -> aio::Task<int> {
    *mine = 1;
    a_set.set();
    co_await b_done;  // b runs meanwhile, on the runner that ran a
    co_return *mine;
  };
  auto b = [&]() -> aio::Task<int> {
    co_await a_set;
    const int seen = *mine;  // a fresh value, not a's
    *mine = 2;
    b_done.set();
    co_return seen;
  };
  *mine = 7;  // the main greenlet's own
  auto fa = aio::spawn(a());
  auto fb = aio::spawn(b());
  EXPECT_EQ(fa.get(), 1);
  EXPECT_EQ(fb.get(), 0);
  EXPECT_EQ(*mine, 7);
  gevent::sleep(1ms);          // the tasks' values go in the hub once they have ended
  EXPECT_EQ(mine.size(), 1u);  // only main's is left
}

TEST_F(AioTest, ATaskHoldsAnRLockAsItsOwnUnit) {
  gevent::RLock lock;
  gevent::Event held, checked;
  auto holder = [&]() -> aio::Task<> {
    lock.acquire();
    EXPECT_TRUE(lock.acquire());  // reentrant for the same task
    held.set();
    co_await checked;  // resumed on the same runner as `other`, perhaps
    lock.release();
    lock.release();
  };
  auto other = [&]() -> aio::Task<std::string> {
    co_await held;
    std::string seen = lock.is_owned() ? "owned" : "not owned";
    seen += lock.try_lock() ? ", acquired" : ", busy";
    try {
      lock.release();
      seen += ", released";
    } catch (const std::logic_error&) {
      seen += ", release refused";
    }
    checked.set();
    co_return seen;
  };
  auto h = aio::spawn(holder());
  auto o = aio::spawn(other());
  EXPECT_EQ(o.get(), "not owned, busy, release refused");
  h.get();
  EXPECT_FALSE(lock.locked());
}

TEST_F(AioTest, KillingATaskCancelsItWhereItAwaitsAndRunsItsCleanup) {
  gevent::Event never;
  bool frame_gone = false;
  bool caught_exit = false;
  auto task = [&]() -> aio::Task<> {
    FrameGuard guard{frame_gone};
    try {
      co_await never;
    } catch (const gevent::GreenletExit&) {
      caught_exit = true;
      throw;
    }
  };
  auto future = aio::spawn(task());
  gevent::sleep(1ms);
  future.kill();  // blocks until it has ended
  EXPECT_TRUE(future.ready());
  EXPECT_TRUE(caught_exit);
  EXPECT_TRUE(frame_gone);
  EXPECT_TRUE(future.successful());  // GreenletExit is a normal end
  EXPECT_THROW(future.get(), gevent::GreenletExit);
}

TEST_F(AioTest, ATaskKilledBeforeItRunsNeverRuns) {
  bool ran = false;
  auto task = [&]() -> aio::Task<> {
    ran = true;
    co_return;
  };
  auto future = aio::spawn(task());
  future.kill();
  EXPECT_TRUE(future.ready());
  gevent::sleep(1ms);
  EXPECT_FALSE(ran);
}

TEST_F(AioTest, KillingAGreenletInAioWaitCancelsTheTaskAndWaitsForItsFrames) {
  gevent::Event never;
  bool frame_gone = false;
  bool frame_gone_when_greenlet_died = false;
  auto waiter = gevent::spawn([&] {
    int on_my_stack = 5;
    auto task = [&](int& ref) -> aio::Task<> {
      FrameGuard guard{frame_gone};
      co_await never;
      ref = 6;
    };
    try {
      aio::wait(task(on_my_stack));
    } catch (const gevent::GreenletExit&) {
      frame_gone_when_greenlet_died = frame_gone;
      throw;
    }
  });
  gevent::sleep(2ms);
  waiter.kill();
  EXPECT_TRUE(frame_gone_when_greenlet_died);
}

TEST_F(AioTest, ACancelledTaskLeavesAGreenletItJoinedRunning) {
  gevent::Event release;
  auto worker = gevent::spawn([&] {
    release.wait();
    return 1;
  });
  auto task = [&]() -> aio::Task<int> { co_return co_await worker; };
  auto future = aio::spawn(task());
  gevent::sleep(1ms);
  future.kill();
  EXPECT_FALSE(worker.ready());
  release.set();
  EXPECT_EQ(worker.get(), 1);
}

TEST_F(AioTest, ACancelledTaskKillsAGreenletItStartedAndWaitsForIt) {
  bool greenlet_unwound = false;
  auto task = [&]() -> aio::Task<int> {
    co_return co_await aio::run_in_greenlet([&] {
      FrameGuard guard{greenlet_unwound};
      gevent::sleep(10s);
      return 1;
    });
  };
  auto future = aio::spawn(task());
  gevent::sleep(2ms);
  future.kill();
  EXPECT_TRUE(greenlet_unwound);
  EXPECT_EQ(gevent::get_hub().live_greenlets(), 0u);
}

TEST_F(AioTest, RunInGreenletAndToThreadGiveTheirResults) {
  auto task = []() -> aio::Task<int> {
    int a = co_await aio::run_in_greenlet([](int x) { return x + 1; }, 1);
    int b = co_await aio::to_thread([](int x) { return x * 10; }, a);
    co_return b;
  };
  EXPECT_EQ(aio::wait(task()), 20);
}

TEST_F(AioTest, ATaskRunsAsAGreenlet) {
  auto g = aio::as_greenlet(answer_after(1ms));
  EXPECT_EQ(g.get(), 42);
}

TEST_F(AioTest, AioWaitFromTheHubIsABlockingSwitchOutError) {
  gevent::AsyncResult<std::string> what;
  gevent::get_hub().run_callback([&] {
    try {
      aio::wait(answer_after(1ms));
      what.set("no error");
    } catch (const gevent::BlockingSwitchOutError&) {
      what.set("BlockingSwitchOutError");
    }
  });
  EXPECT_EQ(what.get(), "BlockingSwitchOutError");
}

TEST_F(AioTest, TheMainGreenletWaitingOnATaskNothingCanWakeGetsLoopExit) {
  gevent::Event never;
  bool frame_gone = false;
  auto task = [&]() -> aio::Task<> {
    FrameGuard guard{frame_gone};
    co_await never;
  };
  EXPECT_THROW(aio::wait(task()), gevent::LoopExit);
  EXPECT_TRUE(frame_gone);  // aio::wait cancelled it on the way out
}

TEST(AioHubTest, DestroyingTheHubCancelsSuspendedTasksAndDestroysTheirFrames) {
  std::atomic<int> gone{0};
  std::thread([&] {
    gevent::Event never;
    auto task = [&]() -> aio::Task<> {
      struct Count {
        std::atomic<int>& gone;
        ~Count() { ++gone; }
      } count{gone};
      co_await never;
    };
    auto a = aio::spawn(task());
    auto b = aio::spawn(task());
    gevent::sleep(1ms);
    gevent::Hub::destroy_current();
  }).join();
  EXPECT_EQ(gone.load(), 2);
}

TEST(AioHubTest, ATaskThatOutlivesItsCancellationHasItsFramesDestroyedWithTheHub) {
  std::atomic<int> gone{0};
  std::atomic<int> cancellations{0};
  std::thread([&] {
    gevent::Event never;
    auto stubborn = [&]() -> aio::Task<> {
      struct Count {
        std::atomic<int>& gone;
        ~Count() { ++gone; }
      } count{gone};
      for (;;) {
        try {
          co_await never;
        } catch (const gevent::GreenletExit&) {
          ++cancellations;  // and awaits again: it never ends
        }
      }
    };
    auto future = aio::spawn(stubborn());
    gevent::sleep(1ms);
    gevent::Hub::destroy_current();
  }).join();
  EXPECT_EQ(cancellations.load(), 1);
  EXPECT_EQ(gone.load(), 1);
}

TEST(AioHubTest, AtShutdownATaskAwaitingAnUnfinishedTaskIsDestroyedToo) {
  std::atomic<int> gone{0};
  std::thread([&] {
    gevent::Event never;
    struct Count {
      std::atomic<int>& gone;
      ~Count() { ++gone; }
    };
    auto stubborn = [&]() -> aio::Task<> {
      Count count{gone};
      for (;;) {
        try {
          co_await never;
        } catch (const gevent::GreenletExit&) {
        }
      }
    };
    auto first = aio::spawn(stubborn());
    auto follower = [&]() -> aio::Task<> {
      Count count{gone};
      for (;;) {
        try {
          co_await first;  // woken when `first` is destroyed, after the hub stopped running
        } catch (const gevent::GreenletExit&) {
        }
      }
    };
    auto second = aio::spawn(follower());
    gevent::sleep(1ms);
    gevent::Hub::destroy_current();
  }).join();
  EXPECT_EQ(gone.load(), 2);
}

TEST_F(AioTest, TwoTasksPingPongThroughEvents) {
  gevent::Event ping;
  gevent::Event pong;
  constexpr int kRounds = 1000;
  auto player = [&](gevent::Event& mine, gevent::Event& theirs, bool serve) -> aio::Task<int> {
    int rounds = 0;
    if (serve) theirs.set();
    for (;;) {
      co_await mine;
      mine.clear();
      if (++rounds == kRounds) break;
      theirs.set();
    }
    if (!serve) theirs.set();
    co_return rounds;
  };
  auto a = aio::spawn(player(ping, pong, false));
  auto b = aio::spawn(player(pong, ping, true));
  EXPECT_EQ(a.get(), kRounds);
  EXPECT_EQ(b.get(), kRounds);
}

TEST_F(AioTest, AGreenletAndATaskPingPong) {
  gevent::Event to_task;
  gevent::Event to_greenlet;
  constexpr int kRounds = 1000;
  auto task = [&]() -> aio::Task<int> {
    int rounds = 0;
    for (int i = 0; i < kRounds; ++i) {
      co_await to_task;
      to_task.clear();
      ++rounds;
      to_greenlet.set();
    }
    co_return rounds;
  };
  auto future = aio::spawn(task());
  for (int i = 0; i < kRounds; ++i) {
    to_task.set();
    to_greenlet.wait();
    to_greenlet.clear();
  }
  EXPECT_EQ(future.get(), kRounds);
}

// A chain of awaits that complete at once is a chain of symmetric transfers; at -O0 and under
// ASan each would be a stack frame without the transfer budget. The hub's timers keep firing.
TEST_F(AioTest, AMillionReadyAwaitsNeitherOverflowTheStackNorStarveTimers) {
  int ticks = 0;
  bool done = false;
  auto ticker = gevent::spawn([&] {
    while (!done) {
      gevent::sleep(1ms);
      ++ticks;
    }
  });
  auto ready_child = [](int i) -> aio::Task<int> { co_return i & 1; };
  auto loop = [&]() -> aio::Task<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) sum += co_await ready_child(i);
    co_return sum;
  };
  EXPECT_EQ(aio::wait(loop()), 500'000);
  const int ticks_during_loop = ticks;
  done = true;
  ticker.join();
  // The loop takes 15 ms or more: the ticker's 1 ms timer fired during it, more than once.
  EXPECT_GE(ticks_during_loop, 2);
}

}  // namespace
