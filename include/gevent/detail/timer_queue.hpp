// The hub's timers: a binary min-heap of intrusive nodes ordered by (deadline, sequence).
// Adding and cancelling are O(log n) and allocate only when the heap's array grows.
#pragma once

#include <vector>

#include "gevent/detail/timer_node.hpp"

namespace gevent::detail {

class TimerQueue {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Clock::time_point earliest() const { return heap_.front()->deadline; }

  void add(TimerNode& node, Clock::time_point deadline);
  void cancel(TimerNode& node);
  // Removes and returns the earliest node if its deadline is at or before `now`, else null.
  TimerNode* pop_expired(Clock::time_point now);

 private:
  bool before(std::size_t a, std::size_t b) const;
  void place(std::size_t index, TimerNode* node);
  void sift_up(std::size_t index);
  void sift_down(std::size_t index);
  void remove_at(std::size_t index);

  std::vector<TimerNode*> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace gevent::detail
