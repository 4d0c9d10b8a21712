// gevent.queue: Queue, LifoQueue, PriorityQueue, SimpleQueue, Channel.
#include <gevent/gevent.hpp>
#include <gevent/queue.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

using Clock = std::chrono::steady_clock;

class QueueTest : public HubTest {};
class ChannelTest : public HubTest {};

template <class F>
Clock::duration time_of(F&& f) {
  const auto start = Clock::now();
  f();
  return Clock::now() - start;
}

// Keeps the CPU (and so the hub) busy without switching.
void spin_for(Clock::duration how_long) {
  const auto until = Clock::now() + how_long;
  while (Clock::now() < until) {
  }
}

template <class Q>
std::vector<typename Q::value_type> drain(Q& queue) {
  std::vector<typename Q::value_type> items;
  while (!queue.empty()) items.push_back(queue.get_nowait());
  return items;
}

// Spawns a greenlet running `call`; its result tells whether `call` threw ShutDown.
template <class F>
gevent::Greenlet<bool> spawn_expecting_shut_down(F call) {
  return gevent::spawn([call] {
    try {
      call();
      return false;
    } catch (const gevent::ShutDown&) {
      return true;
    }
  });
}

// --- order ---

TEST_F(QueueTest, QueueGetsInFifoOrder) {
  gevent::Queue<int> queue;
  for (int item : {3, 1, 2}) queue.put(item);
  EXPECT_EQ(drain(queue), (std::vector<int>{3, 1, 2}));
}

TEST_F(QueueTest, LifoQueueGetsTheLastPutFirst) {
  gevent::LifoQueue<int> queue;
  for (int item : {3, 1, 2}) queue.put(item);
  EXPECT_EQ(drain(queue), (std::vector<int>{2, 1, 3}));
}

TEST_F(QueueTest, PriorityQueueGetsTheLeastFirst) {
  gevent::PriorityQueue<std::pair<int, std::string>> queue;
  queue.put({2, "b"});
  queue.put({3, "c"});
  queue.put({1, "a"});
  EXPECT_EQ(queue.peek().second, "a");
  EXPECT_EQ(queue.get().second, "a");
  EXPECT_EQ(queue.get().second, "b");
  EXPECT_EQ(queue.get().second, "c");
}

TEST_F(QueueTest, PriorityQueueFollowsItsCompare) {
  gevent::PriorityQueue<int, std::greater<int>> queue;
  for (int item : {3, 5, 1, 4}) queue.put(item);
  EXPECT_EQ(drain(queue), (std::vector<int>{5, 4, 3, 1}));
}

TEST_F(QueueTest, SimpleQueueIsUnboundedFifo) {
  gevent::SimpleQueue<int> queue;
  for (int item = 0; item < 1000; ++item) queue.put_nowait(item);
  EXPECT_EQ(queue.qsize(), 1000u);
  EXPECT_EQ(queue.peek(), 0);
  for (int item = 0; item < 1000; ++item) EXPECT_EQ(queue.get(), item);
  EXPECT_THROW(queue.get_nowait(), gevent::Empty);
}

TEST_F(QueueTest, SizeQueriesFollowPutsAndGets) {
  gevent::Queue<int> queue{2};
  EXPECT_EQ(queue.maxsize(), 2u);
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.full());
  queue.put(1);
  queue.put(2);
  EXPECT_EQ(queue.qsize(), 2u);
  EXPECT_TRUE(queue.full());
  queue.get();
  EXPECT_FALSE(queue.full());
  EXPECT_FALSE(gevent::Queue<int>{}.full());
}

// --- blocking ---

TEST_F(QueueTest, PutBlocksWhileFullUntilAGetterMakesRoom) {
  gevent::Queue<int> queue{2};
  queue.put(1);
  queue.put(2);
  bool put_returned = false;
  auto putter = gevent::spawn([&] {
    queue.put(3);
    put_returned = true;
  });
  gevent::sleep(10ms);
  EXPECT_FALSE(put_returned);
  EXPECT_EQ(queue.get(), 1);
  putter.join();
  EXPECT_TRUE(put_returned);
  EXPECT_EQ(drain(queue), (std::vector<int>{2, 3}));
}

TEST_F(QueueTest, GetBlocksUntilAPut) {
  gevent::Queue<std::string> queue;
  auto putter = gevent::spawn([&] {
    gevent::sleep(10ms);
    queue.put("late");
  });
  EXPECT_EQ(queue.get(), "late");
  putter.join();
}

TEST_F(QueueTest, GetTimesOutWithEmpty) {
  gevent::Queue<int> queue;
  const auto took = time_of([&] { EXPECT_THROW(queue.get(true, 50ms), gevent::Empty); });
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 500ms);
}

TEST_F(QueueTest, PutTimesOutWithFull) {
  gevent::Queue<int> queue{1};
  queue.put(1);
  const auto took = time_of([&] { EXPECT_THROW(queue.put(2, true, 50ms), gevent::Full); });
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 500ms);
  EXPECT_EQ(drain(queue), (std::vector<int>{1}));
}

TEST_F(QueueTest, NowaitCallsThrowAtOnceWithoutSwitching) {
  gevent::Queue<int> queue{1};
  bool other_ran = false;
  auto other = gevent::spawn([&] { other_ran = true; });
  EXPECT_THROW(queue.get_nowait(), gevent::Empty);
  EXPECT_THROW(queue.get(false), gevent::Empty);
  EXPECT_THROW(queue.peek_nowait(), gevent::Empty);
  queue.put_nowait(1);
  EXPECT_THROW(queue.put_nowait(2), gevent::Full);
  EXPECT_THROW(queue.put(2, false), gevent::Full);
  EXPECT_FALSE(other_ran);
  EXPECT_EQ(queue.get_nowait(), 1);
  other.join();
}

TEST_F(QueueTest, PeekWaitsForAnItemAndLeavesIt) {
  gevent::Queue<int> queue;
  auto putter = gevent::spawn([&] {
    gevent::sleep(5ms);
    queue.put(7);
  });
  EXPECT_EQ(queue.peek(), 7);
  EXPECT_EQ(queue.peek_nowait(), 7);
  EXPECT_EQ(queue.qsize(), 1u);
  EXPECT_EQ(queue.get(), 7);
  const auto took = time_of([&] { EXPECT_THROW(queue.peek(true, 20ms), gevent::Empty); });
  EXPECT_GE(took, 20ms);
  putter.join();
}

TEST_F(QueueTest, APeekerWokenFirstLeavesTheItemToTheGetterBehindIt) {
  gevent::Queue<int> queue;
  int peeked = 0;
  int got = 0;
  auto peeker = gevent::spawn([&] { peeked = queue.peek(); });
  auto getter = gevent::spawn([&] { got = queue.get(); });
  gevent::sleep();
  queue.put(4);
  ASSERT_TRUE(peeker.join(1s));
  ASSERT_TRUE(getter.join(1s));
  EXPECT_EQ(peeked, 4);
  EXPECT_EQ(got, 4);
  EXPECT_TRUE(queue.empty());
}

// --- FIFO service of waiters ---

TEST_F(QueueTest, BlockedGettersAreServedInTheOrderTheyCame) {
  gevent::Queue<int> queue;
  std::vector<std::pair<int, int>> got;  // (getter, item)
  std::vector<gevent::Greenlet<void>> getters;
  for (int getter = 0; getter < 3; ++getter)
    getters.push_back(gevent::spawn([&, getter] { got.emplace_back(getter, queue.get()); }));
  gevent::sleep();
  for (int item : {10, 20, 30}) queue.put(item);
  gevent::joinall(getters);
  EXPECT_EQ(got, (std::vector<std::pair<int, int>>{{0, 10}, {1, 20}, {2, 30}}));
}

TEST_F(QueueTest, BlockedPuttersAreServedInTheOrderTheyCame) {
  gevent::Queue<int> queue{1};
  queue.put(0);
  std::vector<gevent::Greenlet<void>> putters;
  for (int item : {1, 2, 3}) putters.push_back(gevent::spawn([&, item] { queue.put(item); }));
  gevent::sleep();
  std::vector<int> got;
  for (int i = 0; i < 4; ++i) got.push_back(queue.get());
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  gevent::joinall(putters);
}

TEST_F(QueueTest, AWokenGetterOwnsTheItemBeforeItRuns) {
  gevent::Queue<int> queue;
  auto getter = gevent::spawn([&] { return queue.get(); });
  gevent::sleep();
  queue.put(1);  // wakes `getter`, which has not run yet
  EXPECT_THROW(queue.get_nowait(), gevent::Empty);
  EXPECT_THROW(queue.get(true, 0ms), gevent::Empty);
  EXPECT_EQ(getter.get(1s), 1);
  queue.put(2);
  queue.put(3);
  EXPECT_EQ(queue.get_nowait(), 2) << "no one is in line: a non-blocking get takes an item";
}

TEST_F(QueueTest, AWokenGetterHoldsOneItemNotAll) {
  gevent::Queue<int> queue;
  auto getter = gevent::spawn([&] { return queue.get(); });
  gevent::sleep();
  queue.put(1);                      // for `getter`
  queue.put(2);                      // for anyone
  EXPECT_EQ(queue.get_nowait(), 1);  // items come out in order; one is left for `getter`
  EXPECT_EQ(getter.get(1s), 2);
}

TEST_F(QueueTest, AWokenPutterOwnsTheFreeSlotBeforeItRuns) {
  gevent::Queue<int> queue{1};
  queue.put(0);
  auto putter = gevent::spawn([&] { queue.put(1); });
  gevent::sleep();
  EXPECT_EQ(queue.get(), 0);  // wakes `putter`, which has not run yet
  EXPECT_THROW(queue.put_nowait(2), gevent::Full);
  ASSERT_TRUE(putter.join(1s));
  EXPECT_EQ(drain(queue), (std::vector<int>{1}));
}

// get_nowait would fail while the only item is held for a woken getter, so ready() is false
// and wait() does not return for it: a loop of wait() then get_nowait() cannot spin.
TEST_F(QueueTest, NotReadyWhileTheItemIsHeldForAWokenGetter) {
  gevent::Queue<int> queue;
  auto getter = gevent::spawn([&] { return queue.get(); });
  gevent::sleep();
  queue.put(1);
  EXPECT_FALSE(queue.ready());
  EXPECT_TRUE(gevent::wait({&queue}, 50ms).empty());
  EXPECT_EQ(getter.get(1s), 1);
  queue.put(2);
  EXPECT_TRUE(queue.ready());
  EXPECT_EQ(gevent::wait({&queue}, 1s).size(), 1u);
}

// A woken getter that dies before taking its item leaves it to nobody in line: the queue is
// ready again, and a greenlet in wait() hears so.
TEST_F(QueueTest, AWaiterHearsOfAnItemAWokenGetterLeftBehind) {
  gevent::Queue<int> queue;
  auto getter = gevent::spawn([&] { return queue.get(); });
  gevent::sleep();
  auto watcher = gevent::spawn([&] { return gevent::wait({&queue}, 1s).size(); });
  gevent::sleep();
  queue.put(1);  // held for `getter`, killed before it runs
  getter.kill();
  EXPECT_EQ(watcher.get(), 1u);
  EXPECT_EQ(queue.get_nowait(), 1);
}

TEST_F(ChannelTest, AWokenGetterOwnsTheOfferBeforeItRuns) {
  gevent::Channel<int> channel;
  auto getter = gevent::spawn([&] { return channel.get(); });
  gevent::sleep();
  channel.put_nowait(1);  // wakes `getter`, which has not run yet
  EXPECT_THROW(channel.get_nowait(), gevent::Empty);
  EXPECT_EQ(getter.get(1s), 1);
}

// --- leaving while waiting ---

TEST_F(QueueTest, AGetterKilledWhileWaitingLeavesNoTrace) {
  gevent::Queue<int> queue;
  auto leaver = gevent::spawn([&] { queue.get(); });
  gevent::sleep();
  leaver.kill();
  queue.put(1);
  EXPECT_EQ(queue.get_nowait(), 1);
}

TEST_F(QueueTest, AGetterKilledAfterBeingWokenPassesTheItemOn) {
  gevent::Queue<int> queue;
  std::vector<std::string> got;
  auto first = gevent::spawn([&] { got.push_back("first " + std::to_string(queue.get())); });
  auto second = gevent::spawn([&] { got.push_back("second " + std::to_string(queue.get())); });
  gevent::sleep();
  queue.put(1);  // wakes `first`, which is killed before it runs
  first.kill();
  ASSERT_TRUE(second.join(1s));
  EXPECT_EQ(got, (std::vector<std::string>{"second 1"}));
}

TEST_F(QueueTest, AGetterWhoseTimeoutFiresAfterItsWakeUpPassesTheItemOn) {
  gevent::Queue<int> queue;
  std::vector<std::string> got;
  bool put_while_timed_waited = false;
  // The putter's timer falls due just before the getter's Timeout; the main greenlet holds
  // the hub past both, so the hub wakes the getter and throws the Timeout into it together.
  auto putter = gevent::spawn([&] {
    gevent::sleep(20ms);
    put_while_timed_waited = got.empty();
    queue.put(1);
  });
  auto timed = gevent::spawn([&] {
    try {
      gevent::Timeout limit{21ms};
      got.push_back("timed " + std::to_string(queue.get()));
    } catch (const gevent::Timeout&) {
      got.push_back("timed out");
    }
  });
  auto patient = gevent::spawn([&] { got.push_back("patient " + std::to_string(queue.get())); });
  gevent::sleep();
  spin_for(40ms);
  ASSERT_TRUE(timed.join(1s));
  if (got == std::vector<std::string>{"timed 1"}) queue.put(2);  // no race happened: free `patient`
  ASSERT_TRUE(patient.join(1s));
  EXPECT_EQ(got, (std::vector<std::string>{"timed out", "patient 1"}));
  EXPECT_TRUE(put_while_timed_waited) << "the Timeout came before the item: no race tested";
  putter.join();
}

TEST_F(QueueTest, APutterKilledAfterBeingWokenPassesTheRoomOn) {
  gevent::Queue<int> queue{1};
  queue.put(0);
  auto first = gevent::spawn([&] { queue.put(1); });
  auto second = gevent::spawn([&] { queue.put(2); });
  gevent::sleep();
  EXPECT_EQ(queue.get(), 0);  // wakes `first`, which is killed before it runs
  first.kill();
  ASSERT_TRUE(second.join(1s));
  EXPECT_EQ(drain(queue), (std::vector<int>{2}));
}

// --- task tracking ---

TEST_F(QueueTest, JoinReturnsOnceEveryItemHadTaskDone) {
  gevent::Queue<int> queue;
  for (int item : {1, 2, 3}) queue.put(item);
  std::vector<int> done;
  auto worker = gevent::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      const int item = queue.get();
      gevent::sleep(1ms);
      done.push_back(item);
      queue.task_done();
    }
  });
  auto other_joiner = gevent::spawn([&] { return queue.join(); });
  EXPECT_EQ(queue.unfinished_tasks(), 3u);
  EXPECT_TRUE(queue.join(5s));
  EXPECT_EQ(done, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(queue.unfinished_tasks(), 0u);
  EXPECT_TRUE(other_joiner.get());
  worker.join();
}

TEST_F(QueueTest, JoinTimesOutWhileATaskIsUnfinished) {
  gevent::Queue<int> queue;
  EXPECT_TRUE(queue.join(0ms));
  queue.put(1);
  queue.get();
  const auto took = time_of([&] { EXPECT_FALSE(queue.join(30ms)); });
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 300ms);
  queue.task_done();
  EXPECT_TRUE(queue.join(0ms));
}

TEST_F(QueueTest, TaskDoneMoreOftenThanPutThrows) {
  gevent::Queue<int> queue;
  EXPECT_THROW(queue.task_done(), std::logic_error);
  queue.put(1);
  queue.get();
  queue.task_done();
  EXPECT_THROW(queue.task_done(), std::logic_error);
}

// --- shutdown ---

TEST_F(QueueTest, ShutdownWakesBlockedGettersWithShutDown) {
  gevent::Queue<int> queue;
  std::vector<gevent::Greenlet<bool>> getters;
  for (int i = 0; i < 3; ++i) getters.push_back(spawn_expecting_shut_down([&] { queue.get(); }));
  getters.push_back(spawn_expecting_shut_down([&] { queue.peek(); }));
  gevent::sleep();
  queue.shutdown();
  EXPECT_TRUE(queue.is_shutdown());
  for (auto& getter : getters) EXPECT_TRUE(getter.get(1s));
}

TEST_F(QueueTest, ShutdownWakesBlockedPuttersWithShutDown) {
  gevent::Queue<int> queue{1};
  queue.put(0);
  std::vector<gevent::Greenlet<bool>> putters;
  for (int item : {1, 2})
    putters.push_back(spawn_expecting_shut_down([&, item] { queue.put(item); }));
  gevent::sleep();
  queue.shutdown();
  for (auto& putter : putters) EXPECT_TRUE(putter.get(1s));
  EXPECT_EQ(queue.get(), 0);
}

TEST_F(QueueTest, AfterShutdownGetDrainsTheItemsThenThrows) {
  gevent::Queue<int> queue;
  queue.put(1);
  queue.put(2);
  queue.shutdown();
  EXPECT_THROW(queue.put(3), gevent::ShutDown);
  EXPECT_THROW(queue.put_nowait(3), gevent::ShutDown);
  EXPECT_EQ(queue.get(), 1);
  EXPECT_EQ(queue.get_nowait(), 2);
  EXPECT_THROW(queue.get(), gevent::ShutDown);
  EXPECT_THROW(queue.get_nowait(), gevent::ShutDown);
  EXPECT_THROW(queue.peek(), gevent::ShutDown);
}

TEST_F(QueueTest, ImmediateShutdownDiscardsTheItemsAsDone) {
  gevent::Queue<int> queue;
  for (int item : {1, 2, 3}) queue.put(item);
  queue.get();
  queue.task_done();
  auto joiner = gevent::spawn([&] { return queue.join(); });
  gevent::sleep();
  queue.shutdown(/*immediate=*/true);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.unfinished_tasks(), 0u);
  EXPECT_TRUE(joiner.get(1s));
  EXPECT_THROW(queue.get_nowait(), gevent::ShutDown);
}

// --- payloads, wait() ---

struct ByPointee {
  bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const {
    return *a < *b;
  }
};

TEST_F(QueueTest, MoveOnlyItemsPassThrough) {
  gevent::Queue<std::unique_ptr<int>> fifo{1};
  auto consumer = gevent::spawn([&] { return *fifo.get() + *fifo.get(); });
  fifo.put(std::make_unique<int>(1));
  fifo.put(std::make_unique<int>(2));  // blocks until the consumer took the first
  EXPECT_EQ(consumer.get(), 3);

  gevent::PriorityQueue<std::unique_ptr<int>, ByPointee> by_value;
  gevent::LifoQueue<std::unique_ptr<int>> lifo;
  for (int item : {2, 3, 1}) {
    by_value.put(std::make_unique<int>(item));
    lifo.put(std::make_unique<int>(item));
  }
  EXPECT_EQ(*by_value.peek(), 1);
  EXPECT_EQ(*by_value.get(), 1);
  EXPECT_EQ(*by_value.get(), 2);
  EXPECT_EQ(*lifo.get(), 1);
  EXPECT_EQ(*lifo.get(), 3);
}

TEST_F(QueueTest, WaitReturnsTheQueueThatGotAnItem) {
  std::array<gevent::Queue<int>, 2> queues;
  EXPECT_TRUE(gevent::wait(queues, 10ms, 1).empty());
  auto putter = gevent::spawn([&] {
    gevent::sleep(5ms);
    queues[1].put(7);
  });
  const auto ready = gevent::wait(queues, {}, 1);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0], &queues[1]);
  EXPECT_EQ(queues[1].get_nowait(), 7);
  queues[0].shutdown();  // get() would not block now either
  EXPECT_EQ(gevent::wait(queues, 0ms, 1).size(), 1u);
  putter.join();
}

// --- many greenlets ---

TEST_F(QueueTest, ManyGreenletsContendAndEveryItemArrivesOnce) {
  constexpr int kPairs = gevent::testing::kManyGreenlets / 2;  // producers, as many consumers
  constexpr int kItemsEach = 4;
  gevent::Queue<int> queue{16};
  std::vector<int> received(kPairs * kItemsEach, 0);
  std::vector<gevent::Greenlet<void>> all;
  all.reserve(2 * kPairs);
  for (int p = 0; p < kPairs; ++p) {
    all.push_back(gevent::spawn([&, p] {
      for (int i = 0; i < kItemsEach; ++i) queue.put(p * kItemsEach + i);
    }));
  }
  gevent::sleep();  // the producers fill the queue, and nearly all of them block
  EXPECT_TRUE(queue.full());
  for (int c = 0; c < kPairs; ++c) {
    all.push_back(gevent::spawn([&] {
      for (int i = 0; i < kItemsEach; ++i) {
        ++received.at(queue.get());
        queue.task_done();
      }
    }));
  }
  EXPECT_EQ(gevent::joinall(all, 20s).size(), all.size());
  EXPECT_TRUE(queue.join(0ms));
  EXPECT_TRUE(queue.empty());
  int not_once = 0;
  for (int count : received) not_once += count != 1;
  EXPECT_EQ(not_once, 0);
}

// --- Channel ---

TEST_F(ChannelTest, PutReturnsOnlyOnceAGetterTookTheItem) {
  gevent::Channel<int> channel;
  std::vector<std::string> log;
  auto putter = gevent::spawn([&] {
    channel.put(1);
    log.push_back("put returned");
  });
  gevent::sleep(10ms);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(channel.putters(), 1u);
  EXPECT_EQ(channel.balance(), 1);
  log.push_back("got " + std::to_string(channel.get()));
  putter.join();
  EXPECT_EQ(log, (std::vector<std::string>{"got 1", "put returned"}));
  EXPECT_EQ(channel.putters(), 0u);
}

TEST_F(ChannelTest, GetWaitsForAPutter) {
  gevent::Channel<std::string> channel;
  auto getter = gevent::spawn([&] { return channel.get(); });
  gevent::sleep();
  EXPECT_EQ(channel.getters(), 1u);
  EXPECT_EQ(channel.balance(), -1);
  channel.put("hello");
  EXPECT_EQ(getter.get(), "hello");
}

TEST_F(ChannelTest, ItemsArriveInTheOrderPuttersCame) {
  gevent::Channel<int> channel;
  std::vector<gevent::Greenlet<void>> putters;
  for (int item : {1, 2, 3}) putters.push_back(gevent::spawn([&, item] { channel.put(item); }));
  gevent::sleep();
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) got.push_back(channel.get());
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
  gevent::joinall(putters);
}

TEST_F(ChannelTest, TimeoutsThrowFullAndEmptyAndWithdrawTheOffer) {
  gevent::Channel<int> channel;
  auto took = time_of([&] { EXPECT_THROW(channel.put(1, true, 30ms), gevent::Full); });
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 300ms);
  EXPECT_EQ(channel.putters(), 0u);
  took = time_of([&] { EXPECT_THROW(channel.get(true, 30ms), gevent::Empty); });
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 300ms);
  EXPECT_EQ(channel.getters(), 0u);
}

TEST_F(ChannelTest, NowaitCallsNeedAWaitingCounterpart) {
  gevent::Channel<int> channel;
  EXPECT_THROW(channel.put_nowait(1), gevent::Full);
  EXPECT_THROW(channel.get_nowait(), gevent::Empty);

  auto getter = gevent::spawn([&] { return channel.get(); });
  gevent::sleep();
  channel.put_nowait(2);
  EXPECT_THROW(channel.put_nowait(3), gevent::Full);  // that getter is served already
  EXPECT_EQ(getter.get(), 2);

  auto putter = gevent::spawn([&] { channel.put(4); });
  gevent::sleep();
  EXPECT_TRUE(channel.ready());
  EXPECT_EQ(channel.get_nowait(), 4);
  putter.join();
}

TEST_F(ChannelTest, AKilledPutterWithdrawsItsOffer) {
  gevent::Channel<int> channel;
  auto putter = gevent::spawn([&] { channel.put(1); });
  gevent::sleep();
  putter.kill();
  EXPECT_EQ(channel.putters(), 0u);
  EXPECT_THROW(channel.get_nowait(), gevent::Empty);
}

TEST_F(ChannelTest, AGetterKilledAfterANowaitPutLeavesTheItemForTheNext) {
  gevent::Channel<int> channel;
  auto leaver = gevent::spawn([&] { return channel.get(); });
  gevent::sleep();
  channel.put_nowait(5);  // wakes `leaver`, which is killed before it runs
  leaver.kill();
  EXPECT_EQ(channel.get_nowait(), 5);
}

TEST_F(ChannelTest, MoveOnlyItemsPassThrough) {
  gevent::Channel<std::unique_ptr<int>> channel;
  auto putter = gevent::spawn([&] { channel.put(std::make_unique<int>(9)); });
  EXPECT_EQ(*channel.get(), 9);
  putter.join();
}

TEST_F(ChannelTest, WaitReturnsWhenAPutterOffers) {
  std::array<gevent::Channel<int>, 1> channels;
  EXPECT_TRUE(gevent::wait(channels, 10ms).empty());
  auto putter = gevent::spawn([&] { channels[0].put(3); });
  EXPECT_EQ(gevent::wait(channels, 1s).size(), 1u);
  EXPECT_EQ(channels[0].get(), 3);
  putter.join();
}

}  // namespace
