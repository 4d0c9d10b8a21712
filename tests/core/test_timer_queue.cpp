// The hub's timer heap against a simple reference model, under random adds and cancels.
#include <gevent/detail/timer_queue.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "support/harness.hpp"

namespace {

using gevent::detail::Clock;
using gevent::detail::TimerNode;
using gevent::detail::TimerQueue;

TEST(TimerQueue, PopsInDeadlineOrderAndTiesInInsertionOrder) {
  const auto t0 = Clock::time_point{};
  TimerQueue queue;
  std::vector<TimerNode> nodes(4);
  queue.add(nodes[0], t0 + std::chrono::seconds(2));
  queue.add(nodes[1], t0 + std::chrono::seconds(1));
  queue.add(nodes[2], t0 + std::chrono::seconds(2));
  queue.add(nodes[3], t0 + std::chrono::seconds(1));
  EXPECT_EQ(queue.pop_expired(t0), nullptr);
  std::vector<TimerNode*> order;
  while (TimerNode* node = queue.pop_expired(t0 + std::chrono::seconds(5))) order.push_back(node);
  EXPECT_EQ(order, (std::vector<TimerNode*>{&nodes[1], &nodes[3], &nodes[0], &nodes[2]}));
  for (auto& node : nodes) EXPECT_FALSE(node.armed());
}

TEST(TimerQueue, RandomAddsCancelsAndRearmsMatchAReferenceModel) {
  std::mt19937 random(12345);
  const auto t0 = Clock::time_point{};
  std::vector<TimerNode> nodes(500);
  std::vector<long> deadline_of(nodes.size(), -1);  // the model: -1 = not armed
  TimerQueue queue;
  for (int step = 0; step < 20000; ++step) {
    const std::size_t i = random() % nodes.size();
    if (random() % 3 == 0) {
      queue.cancel(nodes[i]);
      deadline_of[i] = -1;
    } else {
      const long at = static_cast<long>(random() % 1000);
      queue.add(nodes[i], t0 + std::chrono::milliseconds(at));
      deadline_of[i] = at;
    }
    ASSERT_EQ(queue.size(),
              static_cast<std::size_t>(std::count_if(deadline_of.begin(), deadline_of.end(),
                                                     [](long d) { return d >= 0; })));
  }
  long last = -1;
  for (long now = 0; now < 1000; now += 7) {
    while (TimerNode* node = queue.pop_expired(t0 + std::chrono::milliseconds(now))) {
      const std::size_t i = static_cast<std::size_t>(node - nodes.data());
      ASSERT_GE(deadline_of[i], last);
      ASSERT_LE(deadline_of[i], now);
      last = deadline_of[i];
      deadline_of[i] = -1;
    }
  }
  while (TimerNode* node = queue.pop_expired(t0 + std::chrono::seconds(2)))
    deadline_of[static_cast<std::size_t>(node - nodes.data())] = -1;
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(std::all_of(deadline_of.begin(), deadline_of.end(), [](long d) { return d < 0; }));
}

}  // namespace
